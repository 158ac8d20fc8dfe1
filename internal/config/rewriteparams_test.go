package config

import "testing"

func TestRewriteParamChecks(t *testing.T) {
	for _, c := range []struct {
		check func(*Config, string) error
		value string
		ok    bool
	}{
		{checkAddressClasses, "envelope_sender, header_recipient", true},
		{checkAddressClasses, "", true},
		{checkAddressClasses, "envelope_sender, headers", false},
		{checkPropagate, "canonical, virtual", true},
		{checkPropagate, "canonical virtual alias", false}, // the local agent does not propagate
		{checkPropagate, "bogus", false},
		{checkHeaderClients, "permit_inet_interfaces, permit_mynetworks permit_sasl_authenticated", true},
		{checkHeaderClients, "static:all", true},
		{checkHeaderClients, "check_address_map hash:/etc/x", false},
	} {
		if err := c.check(nil, c.value); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.value, err, c.ok)
		}
	}
}

package mastercf

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// A service's settings are main.cf overridden by its -o options, expanded
// as Postfix's daemons expand them: $name refers to main.cf (user-defined
// parameters such as the stock $mua_client_restrictions too; an undefined
// one is empty), to another -o, and to service_name; the last -o of a
// name wins; "-o { name = value }" keeps its blanks. main.cf's own view
// is unchanged.
func TestSettings(t *testing.T) {
	main := config.New("/etc/postern", config.ParseMain("main.cf",
		"myhostname = mx.example.test\nmua_client_restrictions = permit_sasl_authenticated, reject\n"+
			"smtpd_helo_restrictions = reject_invalid_helo_hostname\n"))
	f, diags := Parse("master.cf", "submission inet n - n - - smtpd\n"+
		"  -o syslog_name=postfix/$service_name\n"+
		"  -o smtpd_client_restrictions=$mua_client_restrictions\n"+
		"  -o smtpd_helo_restrictions=$mua_helo_restrictions\n"+
		"  -o { smtpd_banner = $myhostname ESMTP for $service_name }\n"+
		"  -o smtpd_sender_restrictions=$smtpd_client_restrictions\n"+
		"  -o smtpd_timeout=10s -o smtpd_timeout=20s\n")
	if len(diags) != 1 { // the repeated smtpd_timeout
		t.Fatalf("diags: %v", diags)
	}
	s := f.Find("submission", Inet)
	cfg := s.Settings(main)
	for _, tc := range []struct{ name, want string }{
		{"syslog_name", "postfix/submission"},
		{"smtpd_client_restrictions", "permit_sasl_authenticated, reject"},
		{"smtpd_helo_restrictions", ""},
		{"smtpd_banner", "mx.example.test ESMTP for submission"},
		{"smtpd_sender_restrictions", "permit_sasl_authenticated, reject"},
		{"smtpd_timeout", "20s"},
		{"service_name", "submission"},
		{"myhostname", "mx.example.test"},
	} {
		if got, err := cfg.Get(tc.name); err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for name, want := range map[string]string{"smtpd_client_restrictions": "", "smtpd_helo_restrictions": "reject_invalid_helo_hostname", "syslog_name": "postern"} {
		if got, _ := main.Get(name); got != want {
			t.Errorf("main.cf's %s = %q, want %q (unchanged)", name, got, want)
		}
	}
}

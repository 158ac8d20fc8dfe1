package policy

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// The client certificate restrictions: permit_tls_clientcerts matches a
// certificate or public key fingerprint in relay_clientcerts (trusted or
// not), permit_tls_all_clientcerts a trusted certificate (or a listed
// one), check_ccert_access an access(5) result for either fingerprint;
// none applies without TLS or without a certificate.
func TestClientCertRestrictions(t *testing.T) {
	listed := &ClientCert{Fingerprint: "AA:01", PublicKeyFingerprint: "BB:01", CN: "client.example", Issuer: "ca"}
	byKey := &ClientCert{Fingerprint: "AA:02", PublicKeyFingerprint: "BB:02", CN: "key.example"}
	trusted := &ClientCert{Fingerprint: "AA:03", PublicKeyFingerprint: "BB:03", CN: "trusted.example", Trusted: true}
	unknown := &ClientCert{Fingerprint: "AA:04", PublicKeyFingerprint: "BB:04", CN: "other.example"}
	tables := map[string]mapTable{
		"test:relay":  {"AA:01": "client.example", "BB:02": "key.example"},
		"test:access": {"AA:01": "OK", "BB:02": "REJECT no thanks", "AA:04": "DUNNO", "BB:04": "550 5.7.0 go away", "AA:03": "permit_tls_all_clientcerts"},
	}
	cf := "relay_clientcerts = test:relay\nsmtpd_tls_ask_ccert = yes\nsmtpd_restriction_classes = all, listed, ccert\n" +
		"all = permit_tls_all_clientcerts, reject\nlisted = permit_tls_clientcerts, reject\nccert = check_ccert_access test:access, reject\n"
	p := newPolicy(t, cf, tables)
	for _, tc := range []struct {
		class string
		tls   bool
		cert  *ClientCert
		want  string // "permit" or the reply
	}{
		{"listed", true, listed, "permit"},
		{"listed", true, byKey, "permit"},
		{"listed", true, trusted, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"listed", true, nil, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"listed", false, listed, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"all", true, trusted, "permit"},
		{"all", true, listed, "permit"},
		{"all", true, unknown, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"all", false, trusted, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"ccert", true, listed, "permit"},
		{"ccert", true, byKey, "554 5.7.1 <key.example>: Client certificate rejected: no thanks"},
		{"ccert", true, unknown, "550 5.7.0 <other.example>: Client certificate rejected: go away"},
		{"ccert", true, trusted, "permit"},
		{"ccert", true, nil, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"ccert", false, listed, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
	} {
		p.lists["smtpd_client_restrictions"] = []string{tc.class}
		req := &Request{ClientAddr: netip.MustParseAddr("192.0.2.1"), ClientName: "unknown", TLS: tc.tls, CCert: tc.cert}
		v := p.Check(context.Background(), "smtpd_client_restrictions", Client, req)
		got := v.Reply
		if v.Kind == Permit {
			got = "permit"
		}
		if got != tc.want {
			t.Errorf("%s, tls %v, cert %+v: got %q, want %q", tc.class, tc.tls, tc.cert, got, tc.want)
		}
	}
}

// Without smtpd_tls_ask_ccert the restrictions can never match, and
// say so as Postfix does.
func TestClientCertRestrictionsWarnWithoutAsk(t *testing.T) {
	p := newPolicy(t, "smtpd_client_restrictions = permit_tls_clientcerts, permit_tls_all_clientcerts, check_ccert_access test:access\n", nil)
	var warned []string
	p.Warn = func(m string) { warned = append(warned, m) }
	p.Check(context.Background(), "smtpd_client_restrictions", Client, &Request{ClientAddr: netip.MustParseAddr("192.0.2.1"), TLS: true})
	want := `permit_tls_clientcerts is requested, but "smtpd_tls_ask_ccert = no"|permit_tls_all_clientcerts is requested, but "smtpd_tls_ask_ccert = no"|check_ccert_access is requested, but "smtpd_tls_ask_ccert = no"`
	if got := strings.Join(warned, "|"); got != want {
		t.Errorf("warnings %q", got)
	}
}

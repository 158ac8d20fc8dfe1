package policy

import (
	"context"
	"strings"
	"testing"
)

// The four sender login restrictions, each against authenticated and
// unauthenticated senders of owned and unowned addresses, with Postfix's
// replies (measured with 3.7.11: "553 5.7.1 <a>: Sender address
// rejected: not owned by user alice" / "not logged in").
func TestSenderLoginMismatch(t *testing.T) {
	tables := map[string]mapTable{
		"hash:/etc/postern/senders": {
			"alice@example.test":  "alice",
			"shared@example.test": "bob, Alice carol",
			"@team.test":          "bob",
			"root":                "admin", // local part: only for local domains and $myorigin
			"fixed@example.test":  "bob",
		},
	}
	p := newPolicy(t, "mydestination = mx.example.test\nrecipient_delimiter = +\n"+
		"smtpd_sasl_auth_enable = yes\nsmtpd_sender_login_maps = hash:/etc/postern/senders\n", tables)
	const (
		notOwned    = "553 5.7.1 <%s>: Sender address rejected: not owned by user %s"
		notLoggedIn = "553 5.7.1 <%s>: Sender address rejected: not logged in"
	)
	tests := []struct {
		restriction, user, sender string
		want                      string // "" no decision, else the reply format
	}{
		{"reject_sender_login_mismatch", "alice", "alice@example.test", ""},
		{"reject_sender_login_mismatch", "ALICE", "alice@example.test", ""},          // logins compare without case
		{"reject_sender_login_mismatch", "alice", "alice+list@example.test", ""},     // the extension is stripped
		{"reject_sender_login_mismatch", "alice", "shared@example.test", ""},         // one of several owners
		{"reject_sender_login_mismatch", "alice", "bob@team.test", notOwned},         // @domain
		{"reject_sender_login_mismatch", "alice", "stranger@nowhere.test", notOwned}, // unknown: forbidden
		{"reject_sender_login_mismatch", "", "alice@example.test", notLoggedIn},
		{"reject_sender_login_mismatch", "", "x@team.test", notLoggedIn},
		{"reject_sender_login_mismatch", "", "stranger@nowhere.test", ""},
		{"reject_sender_login_mismatch", "", "root@mx.example.test", notLoggedIn}, // local domain: "root" is looked up
		{"reject_sender_login_mismatch", "", "root", notLoggedIn},                 // root@$myorigin
		{"reject_sender_login_mismatch", "", "root@elsewhere.test", ""},
		{"reject_sender_login_mismatch", "alice", "", ""}, // the null sender

		{"reject_authenticated_sender_login_mismatch", "alice", "fixed@example.test", notOwned},
		{"reject_authenticated_sender_login_mismatch", "alice", "stranger@nowhere.test", notOwned},
		{"reject_authenticated_sender_login_mismatch", "", "alice@example.test", ""},

		{"reject_known_sender_login_mismatch", "alice", "fixed@example.test", notOwned},
		{"reject_known_sender_login_mismatch", "alice", "stranger@nowhere.test", ""}, // unknown: allowed
		{"reject_known_sender_login_mismatch", "", "alice@example.test", notLoggedIn},

		{"reject_unauthenticated_sender_login_mismatch", "", "alice@example.test", notLoggedIn},
		{"reject_unauthenticated_sender_login_mismatch", "", "stranger@nowhere.test", ""},
		{"reject_unauthenticated_sender_login_mismatch", "alice", "fixed@example.test", ""},
	}
	for _, tc := range tests {
		p.lists["smtpd_sender_restrictions"] = []string{tc.restriction}
		req := &Request{Sender: tc.sender, SASLUser: tc.user}
		if tc.user != "" {
			req.SASLMethod = "PLAIN"
		}
		v := p.Check(context.Background(), "smtpd_sender_restrictions", Sender, req)
		want := ""
		if tc.want != "" {
			want = strings.Replace(strings.Replace(tc.want, "%s", tc.sender, 1), "%s", tc.user, 1)
		}
		if v.Reply != want || (want == "") != (v.Kind != Reject) {
			t.Errorf("%s, user %q, sender %q: %v %q, want %q", tc.restriction, tc.user, tc.sender, v.Kind, v.Reply, want)
		}
	}
}

// Without smtpd_sasl_auth_enable the sender login restrictions decide
// nothing and say so, as Postfix's "restriction `…' ignored: no SASL
// support"; a table that cannot answer is a temporary failure.
func TestSenderLoginDisabledAndBroken(t *testing.T) {
	var warned []string
	p := newPolicy(t, "smtpd_sender_login_maps = hash:/etc/postern/senders\n", map[string]mapTable{
		"hash:/etc/postern/senders": {"alice@example.test": "alice"},
	})
	p.Warn = func(m string) { warned = append(warned, m) }
	p.lists["smtpd_sender_restrictions"] = []string{"reject_sender_login_mismatch"}
	v := p.Check(context.Background(), "smtpd_sender_restrictions", Sender, &Request{Sender: "alice@example.test"})
	if v.Kind == Reject || len(warned) != 1 || warned[0] != "restriction `reject_sender_login_mismatch' ignored: no SASL support" {
		t.Errorf("disabled: %v %q, warnings %q", v.Kind, v.Reply, warned)
	}
	p = newPolicy(t, "smtpd_sasl_auth_enable = yes\nsmtpd_sender_login_maps = hash:/missing\n", nil)
	p.lists["smtpd_sender_restrictions"] = []string{"reject_sender_login_mismatch"}
	v = p.Check(context.Background(), "smtpd_sender_restrictions", Sender, &Request{Sender: "alice@example.test"})
	if v.Reply != "451 4.3.0 <alice@example.test>: Temporary lookup failure" {
		t.Errorf("broken table: %q", v.Reply)
	}
}

// permit_sasl_authenticated permits a login, but not an ANONYMOUS one,
// as Postfix's permit_sasl_auth.
func TestPermitSASLAuthenticated(t *testing.T) {
	p := newPolicy(t, "", nil)
	p.lists["smtpd_relay_restrictions"] = []string{"permit_sasl_authenticated", "reject"}
	for _, tc := range []struct {
		user, method string
		permit       bool
	}{{"alice", "PLAIN", true}, {"", "", false}, {"anonymous", "ANONYMOUS", false}} {
		v := p.Check(context.Background(), "smtpd_relay_restrictions", Recipient, &Request{SASLUser: tc.user, SASLMethod: tc.method, Recipient: "x@remote.test"})
		if (v.Kind == Permit) != tc.permit {
			t.Errorf("%q %q: %v %q", tc.user, tc.method, v.Kind, v.Reply)
		}
	}
}

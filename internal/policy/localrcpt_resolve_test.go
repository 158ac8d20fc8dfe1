package policy

import (
	"context"
	"strings"
	"testing"
)

// TestUnlistedResolved: reject_unlisted_recipient decides on the
// recipient as trivial-rewrite resolves it, exempts what Postfix's
// check_rcpt_maps exempts, and names a table that cannot answer.
func TestUnlistedResolved(t *testing.T) {
	tables := map[string]mapTable{"hash:/etc/postern/users": {"known": "x"}}
	const users = "local_recipient_maps = hash:/etc/postern/users\nrecipient_delimiter = +\n"
	for _, c := range []struct {
		mainCf, rcpt, want string // want: "" accepted, else the reply
	}{
		{users, "known", ""},
		{users, "Known+tag", ""},
		{users, "nosuch", "550 5.1.1 <nosuch>: Recipient address rejected: User unknown in local recipient table"},
		{users, `"a b"`, `550 5.1.1 <"a b">: Recipient address rejected: User unknown in local recipient table`},
		// smtpd_reject_unlisted_recipient = no (the stock submission
		// services' -o): the implicit check is off.
		{users + "smtpd_reject_unlisted_recipient = no\n", "nosuch", ""},
		{users, "nosuch@mx.example.test.", "550 5.1.1 <nosuch@mx.example.test.>: Recipient address rejected: User unknown in local recipient table"},
		{users, "postmaster@mx.example.test", ""},
		{users, "PostMaster@localhost", ""},
		{users, "mailer-daemon@mx.example.test", ""},
		{users, "double-bounce@mx.example.test", ""},
		{users + "double_bounce_sender = bounces\n", "double-bounce@mx.example.test",
			"550 5.1.1 <double-bounce@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		{users, "postmaster+x@mx.example.test", "550 5.1.1 <postmaster+x@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		// Not the local class once resolved: the relay decision's business.
		{users, "nosuch@remote.example", ""},
		{users, `"nosuch@remote.example"`, ""},
		{users, "nosuch%remote.example@mx.example.test", ""},
		{users + "myorigin = example.net\n", "nosuch", ""},
		{users + "append_at_myorigin = no\n", "nosuch", "550 5.1.1 <nosuch>: Recipient address rejected: User unknown in local recipient table"},
		// The table cannot be opened.
		{"local_recipient_maps = hash:/etc/postern/missing\n", "known", "451 4.3.0 <known>: Temporary lookup failure"},
		{"local_recipient_maps = hash:/etc/postern/missing\n", "postmaster@mx.example.test", ""},
	} {
		p := newPolicy(t, c.mainCf, tables)
		var warnings []string
		p.Warn = func(m string) { warnings = append(warnings, m) }
		req := &Request{ClientName: "unknown", Recipient: c.rcpt, RcptAddr: parseRecipient(c.rcpt)}
		got := ""
		if v := p.Unlisted(context.Background(), req); v.Kind == Reject {
			got = v.Reply
		}
		if got != c.want {
			t.Errorf("%q with %q: got %q, want %q", c.rcpt, c.mainCf, got, c.want)
		}
		if strings.Contains(c.want, "451") {
			want := "hash:/etc/postern/missing is unavailable. no such table hash:/etc/postern/missing|" +
				`hash:/etc/postern/missing lookup error for "known@mx.example.test"`
			if strings.Join(warnings, "|") != want {
				t.Errorf("%q: warnings %q, want %q", c.rcpt, warnings, want)
			}
		}
	}
}

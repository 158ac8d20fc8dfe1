package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

// mapTable is an in-memory lookup table; "fail:" specs cannot be opened.
type mapTable map[string]string

func (m mapTable) Lookup(k string) (string, bool, error) { v, ok := m[k]; return v, ok, nil }
func (m mapTable) Name() string                          { return "test:map" }

func opener(tables map[string]mapTable) TableOpener {
	return func(spec string) (Table, error) {
		if t, ok := tables[spec]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("no such table %s", spec)
	}
}

func newPolicy(t *testing.T, mainCf string, tables map[string]mapTable) *Policy {
	t.Helper()
	cfg := config.New("/etc/postern", config.ParseMain("main.cf", "myhostname = mx.example.test\n"+mainCf))
	cfg.Sys = inetaddrtest.Standard()
	p, err := New(context.Background(), cfg, opener(tables))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecipientRestrictions(t *testing.T) {
	tables := map[string]mapTable{
		"hash:/etc/postern/access": {
			"spammer@bad.test":      "REJECT",
			"bad2@bad.test":         "554 5.7.1 custom sender text",
			"busy@mx.example.test":  "450 4.2.0 mailbox busy",
			"later@mx.example.test": "DEFER",
			"bad.test":              "REJECT go away",
			"ok@remote.example":     "OK",
			"dunno@bad.test":        "DUNNO",
			"named@remote.example":  "permit_mynetworks, reject",
			"class@remote.example":  "strict",
			"coded@remote.example":  "450 come back later",
		},
	}
	p := newPolicy(t, "mynetworks = 192.0.2.0/24\nsmtpd_restriction_classes = strict\nstrict = reject\n", tables)
	outside := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		list, rcpt string
		client     netip.Addr
		want       string // "" permit, else the reply
	}{
		{"check_recipient_access hash:/etc/postern/access", "spammer@bad.test", outside, "554 5.7.1 <spammer@bad.test>: Recipient address rejected: Access denied"},
		{"check_recipient_access hash:/etc/postern/access", "bad2@bad.test", outside, "554 5.7.1 <bad2@bad.test>: Recipient address rejected: custom sender text"},
		{"check_recipient_access hash:/etc/postern/access", "busy@mx.example.test", outside, "450 4.2.0 <busy@mx.example.test>: Recipient address rejected: mailbox busy"},
		{"check_recipient_access hash:/etc/postern/access", "later@mx.example.test", outside, "450 4.7.1 <later@mx.example.test>: Recipient address rejected: Access denied"},
		{"check_recipient_access hash:/etc/postern/access", "other@sub.bad.test", outside, "554 5.7.1 <other@sub.bad.test>: Recipient address rejected: go away"},
		{"check_recipient_access hash:/etc/postern/access, reject_unauth_destination", "ok@remote.example", outside, ""},
		{"check_recipient_access hash:/etc/postern/access, reject", "dunno@bad.test", outside, "554 5.7.1 <dunno@bad.test>: Recipient address rejected: Access denied"},
		{"check_recipient_access hash:/etc/postern/access", "named@remote.example", netip.MustParseAddr("192.0.2.1"), ""},
		{"check_recipient_access hash:/etc/postern/access", "named@remote.example", outside, "554 5.7.1 <named@remote.example>: Recipient address rejected: Access denied"},
		{"check_recipient_access hash:/etc/postern/access", "class@remote.example", outside, "554 5.7.1 <class@remote.example>: Recipient address rejected: Access denied"},
		{"check_recipient_access hash:/etc/postern/access", "coded@remote.example", outside, "450 4.7.1 <coded@remote.example>: Recipient address rejected: come back later"},
		{"check_recipient_access hash:/etc/postern/missing", "a@b.test", outside, "451 4.3.5 <a@b.test>: Recipient address rejected: Server configuration error"}, // Postfix 3.7.11, measured
		{"reject_bogus_restriction", "a@mx.example.test", outside, "451 4.3.5 Server configuration error"},
		{"defer", "a@mx.example.test", outside, "450 4.3.2 <a@mx.example.test>: Recipient address rejected: Try again later"},
		{"defer_if_permit, permit", "a@mx.example.test", outside, "450 4.7.0 <a@mx.example.test>: Recipient address rejected: defer_if_permit requested"},
		{"defer_if_reject, reject", "a@mx.example.test", outside, "450 4.7.1 <a@mx.example.test>: Recipient address rejected: Access denied"},
		{"warn_if_reject, reject, permit", "a@mx.example.test", outside, ""},
		{"permit_mynetworks, reject_unauth_destination", "x@remote.example", outside, "554 5.7.1 <x@remote.example>: Relay access denied"},
		{"permit_mynetworks, defer_unauth_destination", "x@remote.example", outside, "454 4.7.1 <x@remote.example>: Relay access denied"},
		{"permit_mynetworks, reject_unauth_destination", "x@remote.example", netip.MustParseAddr("192.0.2.99"), ""},
		{"reject_non_fqdn_recipient", "u@localhost", outside, "504 5.5.2 <u@localhost>: Recipient address rejected: need fully-qualified address"},
	}
	for _, tt := range tests {
		p.lists["test"] = config.Fields(tt.list)
		req := &Request{ClientAddr: tt.client, ClientName: "unknown", Recipient: tt.rcpt}
		v := p.Check(context.Background(), "test", Recipient, req)
		got := ""
		if v.Kind == Reject {
			got = v.Reply
		}
		if got != tt.want {
			t.Errorf("%s / %s: got %q, want %q", tt.list, tt.rcpt, got, tt.want)
		}
	}
}

// A malformed mynetworks entry does not stop the server: clients that
// reach it get a temporary failure, clients matched earlier relay.
func TestMalformedMynetworks(t *testing.T) {
	p := newPolicy(t, "mynetworks = 127.0.0.0/8, 10.1.2.3/8\n", nil)
	p.lists["test"] = []string{"permit_mynetworks", "reject_unauth_destination"}
	check := func(client string) string {
		req := &Request{ClientAddr: netip.MustParseAddr(client), Recipient: "x@remote.example.net"}
		return p.Check(context.Background(), "test", Recipient, req).Reply
	}
	if got := check("127.0.0.1"); got != "" {
		t.Errorf("loopback: %q", got)
	}
	if got := check("192.0.2.66"); got != "451 4.3.0 <x@remote.example.net>: Temporary lookup failure" {
		t.Errorf("stranger: %q", got)
	}
}

func TestClientAndHeloReplies(t *testing.T) {
	p := newPolicy(t, "", map[string]mapTable{"cidr:/c": {"192.0.2.77": "450 4.7.1 come back later", "192.0.2": "REJECT"}})
	p.lists["test"] = []string{"check_client_access", "cidr:/c"}
	req := &Request{ClientAddr: netip.MustParseAddr("192.0.2.77"), ClientName: "host77.example.net"}
	if got := p.Check(context.Background(), "test", Client, req).Reply; got != "450 4.7.1 <host77.example.net[192.0.2.77]>: Client host rejected: come back later" {
		t.Errorf("got %q", got)
	}
	req.ClientAddr = netip.MustParseAddr("192.0.2.8")
	if got := p.Check(context.Background(), "test", Client, req).Reply; !strings.HasPrefix(got, "554 5.7.1 <host77.example.net[192.0.2.8]>: Client host rejected: Access denied") {
		t.Errorf("got %q", got)
	}
}

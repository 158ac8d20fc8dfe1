package policy

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// The address classes' recipient tables, as reject_unlisted_recipient and
// reject_unlisted_sender consult them, with Postfix's reply texts.
func TestUnlistedClasses(t *testing.T) {
	tables := map[string]mapTable{
		"hash:/v/local":     {"known": "x"},
		"hash:/v/aliases":   {"info@valias.example": "bob@mx.example.test", "alias.example.net": "x", "@catchall.example": "x", "root@mx.example.test": "x"},
		"hash:/v/mailboxes": {"vmail.example": "x", "alice@vmail.example": "vmail.example/alice/", "@vcatch.example": "x", "vcatch.example": "x"},
		"hash:/v/relayrcpt": {"carol@relayed.example": "x", "@open.example": "x"},
		"hash:/v/rcanon":    {"info@mx.example.test": "known@mx.example.test"},
		"hash:/v/canon":     {"other@mx.example.test": "known@mx.example.test", "@vmail.example": "x@y"},
	}
	const base = "local_recipient_maps = hash:/v/local\nrecipient_delimiter = +\nrelay_domains = relayed.example, open.example, $mydestination\n" +
		"virtual_alias_domains = valias.example\nvirtual_mailbox_domains = hash:/v/mailboxes\nvirtual_mailbox_maps = hash:/v/mailboxes\n"
	const aliases = "virtual_alias_maps = hash:/v/aliases\n"
	const relayRcpt = "relay_recipient_maps = hash:/v/relayrcpt\n"
	for _, c := range []struct {
		mainCf, rcpt, want string // want: "" accepted, else the reply
	}{
		// virtual alias class: only virtual_alias_maps knows recipients.
		{base, "info@valias.example", "550 5.1.1 <info@valias.example>: Recipient address rejected: User unknown in virtual alias table"},
		{base + aliases, "info@valias.example", ""},
		{base + aliases, "INFO+tag@VALIAS.example", ""},
		{base + aliases, "other@valias.example", "550 5.1.1 <other@valias.example>: Recipient address rejected: User unknown in virtual alias table"},
		{base + aliases + "unknown_virtual_alias_reject_code = 450\n", "other@valias.example",
			"450 4.1.1 <other@valias.example>: Recipient address rejected: User unknown in virtual alias table"},
		{base + aliases + "show_user_unknown_table_name = no\n", "other@valias.example",
			"550 5.1.1 <other@valias.example>: Recipient address rejected: User unknown"},
		// virtual_alias_domains defaults to $virtual_alias_maps: its
		// keys that are domains make the class.
		{"local_recipient_maps =\n" + aliases, "x@alias.example.net", "550 5.1.1 <x@alias.example.net>: Recipient address rejected: User unknown in virtual alias table"},
		// virtual mailbox class.
		{base, "alice@vmail.example", ""},
		{base, "alice+box@vmail.example", ""},
		{base, "Alice@Vmail.Example.", ""},
		{base, "bob@vmail.example", "550 5.1.1 <bob@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table"},
		{base, "anyone@vcatch.example", ""},
		{base + "unknown_virtual_mailbox_reject_code = 450\n", "bob@vmail.example",
			"450 4.1.1 <bob@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table"},
		// Without a recipient_delimiter, user+ext is another user.
		{strings.Replace(base, "recipient_delimiter = +", "recipient_delimiter =", 1), "alice+box@vmail.example",
			"550 5.1.1 <alice+box@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table"},
		// Empty virtual_mailbox_maps: every recipient of the class passes.
		{"virtual_mailbox_domains = vmail.example\n", "bob@vmail.example", ""},
		// virtual_alias_maps knows recipients of every class.
		{base + aliases, "root@mx.example.test", ""},
		{base, "root@mx.example.test", "550 5.1.1 <root@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		// So do recipient_canonical_maps and canonical_maps, whose
		// results cleanup queues (measured with Postfix 3.7).
		{base + "recipient_canonical_maps = hash:/v/rcanon\n", "info@mx.example.test", ""},
		{base + "canonical_maps = hash:/v/canon\n", "other@mx.example.test", ""},
		{base + "canonical_maps = hash:/v/canon\n", "bob@vmail.example", ""},
		{base + "canonical_maps = hash:/v/canon\n", "nobody@mx.example.test",
			"550 5.1.1 <nobody@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		{base + "recipient_canonical_maps = hash:/v/missing\n", "x@elsewhere.example", "451 4.3.0 <x@elsewhere.example>: Temporary lookup failure"},
		// relay class.
		{base, "dave@relayed.example", ""},
		{base + relayRcpt, "carol@relayed.example", ""},
		{base + relayRcpt, "dave@relayed.example", "550 5.1.1 <dave@relayed.example>: Recipient address rejected: User unknown in relay recipient table"},
		{base + relayRcpt, "anyone@open.example", ""},
		{base + relayRcpt + "unknown_relay_recipient_reject_code = 554\n", "dave@relayed.example",
			"554 5.1.1 <dave@relayed.example>: Recipient address rejected: User unknown in relay recipient table"},
		// The local class still comes first, and mydestination is in
		// relay_domains here.
		{base + relayRcpt, "known@mx.example.test", ""},
		{base + relayRcpt, "nosuch@mx.example.test", "550 5.1.1 <nosuch@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		// default class: nothing to check.
		{base + relayRcpt, "x@elsewhere.example", ""},
		// A table that cannot answer: 451 4.3.0, never accept or reject.
		{base + "virtual_mailbox_maps = hash:/v/missing\n", "alice@vmail.example", "451 4.3.0 <alice@vmail.example>: Temporary lookup failure"},
		{base + "virtual_mailbox_domains = hash:/v/missing\n", "alice@vmail.example", "451 4.3.0 <alice@vmail.example>: Temporary lookup failure"},
		{base + "virtual_alias_maps = hash:/v/missing\n", "x@elsewhere.example", "451 4.3.0 <x@elsewhere.example>: Temporary lookup failure"},
		{base + "relay_recipient_maps = hash:/v/missing\n", "carol@relayed.example", "451 4.3.0 <carol@relayed.example>: Temporary lookup failure"},
	} {
		p := newPolicy(t, c.mainCf, tables)
		req := &Request{ClientName: "unknown", Recipient: c.rcpt, RcptAddr: parseRecipient(c.rcpt)}
		got := ""
		if v := p.Unlisted(context.Background(), req); v.Kind == Reject {
			got = v.Reply
		}
		if got != c.want {
			t.Errorf("%q with %q: got %q, want %q", c.rcpt, c.mainCf, got, c.want)
		}
		// The explicit restriction says the same.
		p.lists["test"] = []string{"reject_unlisted_recipient"}
		if v := p.Check(context.Background(), "test", Recipient, req); v.Reply != c.want {
			t.Errorf("reject_unlisted_recipient: %q with %q: got %q, want %q", c.rcpt, c.mainCf, v.Reply, c.want)
		}
	}
}

// reject_unlisted_sender and smtpd_reject_unlisted_sender: the same
// tables, "Sender address rejected" and DSN 5.1.0 (5.1.7 in the virtual
// alias class, as Postfix 3.7.11 answers).
func TestUnlistedSender(t *testing.T) {
	tables := map[string]mapTable{
		"hash:/v/local":     {"known": "x"},
		"hash:/v/mailboxes": {"vmail.example": "x", "alice@vmail.example": "x"},
	}
	const base = "local_recipient_maps = hash:/v/local\nvirtual_mailbox_domains = hash:/v/mailboxes\nvirtual_mailbox_maps = hash:/v/mailboxes\n" +
		"virtual_alias_domains = valias.example\nsmtpd_reject_unlisted_sender = yes\n"
	for _, c := range []struct {
		mainCf, sender, want string
	}{
		{base, "alice@vmail.example", ""},
		{base, "bob@vmail.example", "550 5.1.0 <bob@vmail.example>: Sender address rejected: User unknown in virtual mailbox table"},
		{base, "nosuch", "550 5.1.0 <nosuch>: Sender address rejected: User unknown in local recipient table"},
		{base, "known", ""},
		{base, "x@valias.example", "550 5.1.7 <x@valias.example>: Sender address rejected: User unknown in virtual alias table"},
		{base, "", ""},
		{base, "someone@remote.example", ""},
		{strings.Replace(base, "= yes", "= no", 1), "bob@vmail.example", ""},
	} {
		p := newPolicy(t, c.mainCf, tables)
		req := &Request{ClientName: "unknown", Sender: c.sender}
		got := ""
		if v := p.UnlistedSender(context.Background(), req); v.Kind == Reject {
			got = v.Reply
		}
		if got != c.want {
			t.Errorf("%q with %q: got %q, want %q", c.sender, c.mainCf, got, c.want)
		}
	}
	// The explicit restriction, whatever smtpd_reject_unlisted_sender says.
	p := newPolicy(t, strings.Replace(base, "= yes", "= no", 1), tables)
	p.lists["test"] = []string{"reject_unlisted_sender"}
	req := &Request{ClientName: "unknown", Sender: "bob@vmail.example"}
	if v := p.Check(context.Background(), "test", Sender, req); v.Reply != "550 5.1.0 <bob@vmail.example>: Sender address rejected: User unknown in virtual mailbox table" {
		t.Errorf("reject_unlisted_sender: %q", v.Reply)
	}
}

// Virtual alias and virtual mailbox domains are this server's
// destinations for relay control, as mydestination and relay_domains are.
func TestAuthDestinationClasses(t *testing.T) {
	p := newPolicy(t, "virtual_alias_domains = valias.example\nvirtual_mailbox_domains = vmail.example\nrelay_domains = relayed.example\n", nil)
	p.lists["test"] = []string{"reject_unauth_destination"}
	outside := netip.MustParseAddr("198.51.100.7")
	for rcpt, want := range map[string]string{
		"a@valias.example":                  "",
		"a@vmail.example":                   "",
		"a@VMAIL.example.":                  "",
		"a@relayed.example":                 "",
		"a@mx.example.test":                 "",
		"a@elsewhere.example":               "554 5.7.1 <a@elsewhere.example>: Relay access denied",
		"a@sub.vmail.example":               "554 5.7.1 <a@sub.vmail.example>: Relay access denied",
		"a%elsewhere.example@vmail.example": "554 5.7.1 <a%elsewhere.example@vmail.example>: Relay access denied",
	} {
		req := &Request{ClientAddr: outside, ClientName: "unknown", Recipient: rcpt}
		if got := p.Check(context.Background(), "test", Recipient, req).Reply; got != want {
			t.Errorf("%s: got %q, want %q", rcpt, got, want)
		}
	}
}

func TestAddrKeys(t *testing.T) {
	for _, c := range []struct {
		addr, delim string
		local       bool
		want        []string
	}{
		{"User+Ext@VMail.example", "+", false, []string{"user+ext@vmail.example", "user@vmail.example", "@vmail.example"}},
		{"user-ext@d", "+-", false, []string{"user-ext@d", "user@d", "@d"}},
		{"user+ext@d", "", false, []string{"user+ext@d", "@d"}},
		{"owner-list@d", "-", false, []string{"owner-list@d", "@d"}},
		{"owner-list+tag@d", "+", false, []string{"owner-list+tag@d", "owner-list@d", "@d"}},
		{"list-request+tag@d", "+", false, []string{"list-request+tag@d", "list-request@d", "@d"}},
		{"list-request@d", "+-", false, []string{"list-request@d", "@d"}},
		{"user+ext@mx", "+", true, []string{"user+ext@mx", "user@mx", "user+ext", "user", "@mx"}},
	} {
		if got := addrKeys(c.addr, c.delim, c.local); !reflect.DeepEqual(got, c.want) {
			t.Errorf("addrKeys(%q, %q, %v) = %q, want %q", c.addr, c.delim, c.local, got, c.want)
		}
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/postern-mta/postern/internal/testperm"
)

// The address classes against a private Postfix 3.7 with the same
// main.cf: every RCPT to a virtual alias, virtual mailbox, relay and
// local domain, known or not, and every unlisted sender, gets the same
// reply word for word.
func TestAddressClassesLikePostfix(t *testing.T) {
	needPostfix(t)
	tables := t.TempDir()
	testperm.OpenDirs(tables)
	for name, text := range map[string]string{
		"local":     "known x\n",
		"vmailbox":  "alice@vmail.example vmail.example/alice/\n@vcatch.example vcatch.example/all/\n",
		"relayrcpt": "carol@relayed.example x\n",
	} {
		if err := os.WriteFile(filepath.Join(tables, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	common := fmt.Sprintf("myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test, localhost\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nalias_maps =\nrecipient_delimiter = +\n"+
		"local_recipient_maps = texthash:%[1]s/local\nrelay_domains = relayed.example\n"+
		"virtual_alias_domains = valias.example\nvirtual_mailbox_domains = vmail.example, vcatch.example\n"+
		"virtual_mailbox_maps = texthash:%[1]s/vmailbox\nrelay_recipient_maps = texthash:%[1]s/relayrcpt\n"+
		"virtual_mailbox_base = %[1]s\nvirtual_uid_maps = static:5000\nvirtual_gid_maps = static:5000\n"+
		"smtpd_reject_unlisted_sender = yes\nunknown_relay_recipient_reject_code = 554\n"+
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n", tables)
	rcpts := []string{"MAIL FROM:<alice@vmail.example>",
		"RCPT TO:<alice@vmail.example>", "RCPT TO:<alice+box@vmail.example>", "RCPT TO:<ALICE@VMAIL.EXAMPLE>",
		"RCPT TO:<bob@vmail.example>", "RCPT TO:<anyone@vcatch.example>", "RCPT TO:<info@valias.example>",
		"RCPT TO:<carol@relayed.example>", "RCPT TO:<dave@relayed.example>", "RCPT TO:<known@mx.example.test>",
		"RCPT TO:<nosuch@mx.example.test>", "RCPT TO:<x@elsewhere.example>", "RCPT TO:<x@sub.vmail.example>",
		"RSET"}
	senders := []string{
		"MAIL FROM:<bob@vmail.example>", "RCPT TO:<alice@vmail.example>", "RCPT TO:<alice@vmail.example>", "RSET",
		"MAIL FROM:<info@valias.example>", "RCPT TO:<alice@vmail.example>", "RSET",
		"MAIL FROM:<dave@relayed.example>", "RCPT TO:<alice@vmail.example>", "RSET",
		"MAIL FROM:<nosuch@mx.example.test>", "RCPT TO:<alice@vmail.example>", "RSET",
		"MAIL FROM:<>", "RCPT TO:<alice@vmail.example>", "RSET",
	}
	early := []string{"MAIL FROM:<bob@vmail.example>", "MAIL FROM:<info@valias.example>", "MAIL FROM:<alice@vmail.example>",
		"RCPT TO:<bob@vmail.example>", "RSET"}
	// The sessions must reach every reply of the classes.
	var all []string
	t.Run("delay_reject", func(t *testing.T) { all = append(all, compareClasses(t, common, rcpts, senders)...) })
	t.Run("no_delay_reject", func(t *testing.T) { all = append(all, compareClasses(t, common+"smtpd_delay_reject = no\n", early)...) })
	for _, want := range []string{
		"550 5.1.1 <bob@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table",
		"550 5.1.1 <info@valias.example>: Recipient address rejected: User unknown in virtual alias table",
		"554 5.1.1 <dave@relayed.example>: Recipient address rejected: User unknown in relay recipient table",
		"550 5.1.1 <nosuch@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
		"550 5.1.0 <bob@vmail.example>: Sender address rejected: User unknown in virtual mailbox table",
		"550 5.1.7 <info@valias.example>: Sender address rejected: User unknown in virtual alias table",
		"554 5.7.1 <x@sub.vmail.example>: Relay access denied",
	} {
		if !slices.Contains(all, want) {
			t.Errorf("no session got %q", want)
		}
	}
}

// compareClasses runs each session (from a stranger, 127.0.0.2, and
// from mynetworks for the first) against Postfix and postern.
func compareClasses(t *testing.T, mainCf string, stranger []string, more ...[]string) (replies []string) {
	pf := startPostfix(t, mainCf)
	pt, _ := mailInstance(t, mainCf)
	sessions := []struct {
		from  string
		lines []string
	}{{"127.0.0.2", stranger}, {"127.0.0.1", stranger}}
	for _, m := range more {
		sessions = append(sessions, struct {
			from  string
			lines []string
		}{"127.0.0.2", m})
	}
	for _, s := range sessions {
		want := smtpSession(t, s.from, pf.port, s.lines)
		got := smtpSession(t, s.from, pt.port, s.lines)
		for i := range s.lines {
			if got[i] != want[i] {
				t.Errorf("%s from %s: postern %q, Postfix %q", s.lines[i], s.from, got[i], want[i])
			}
		}
		replies = append(replies, want...)
	}
	return replies
}

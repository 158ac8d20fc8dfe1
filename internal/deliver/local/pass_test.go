package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
)

// mailbox_transport: the mailbox deliveries left after alias expansion
// are listed in Result.Pass (the recipient itself, or the qualified
// local addresses of an alias) and nothing is written here; files and
// other destinations are still delivered; a direct delivery declines.
func TestMailboxTransportPasses(t *testing.T) {
	e := newEnv(t)
	files := filepath.Join(e.dir, "files")
	os.Mkdir(files, 0o777)
	os.Chmod(files, 0o777)
	out := filepath.Join(files, "copy")
	e.aliases("team: alice, bob\narchive: alice, " + out + "\n")
	e.cfg.MailboxTransport = true
	e.cfg.AllowMailToFiles = []string{"alias"}
	e.cfg.MyOrigin = "example.test"
	a := e.agent()
	res := a.Deliver(context.Background(), request(testBody, "alice@example.test", "team@example.test", "archive@example.test", "nosuch@example.test"))
	for i, want := range []struct {
		pass, reason string
	}{
		{"alice@example.test", ""},
		{"alice@example.test\nbob@example.test", ""},
		{"alice@example.test", "delivered to file: " + out},
		{"nosuch@example.test", ""}, // the mailbox transport decides (Postfix passes before the user lookup)
	} {
		if r := res[i]; r.Kind != deliver.Sent || r.Pass != want.pass || r.Reason != want.reason {
			t.Errorf("result %d: %v %q pass %q; want pass %q reason %q", i, r.Kind, r.Reason, r.Pass, want.pass, want.reason)
		}
	}
	if _, err := os.Stat(filepath.Join(e.spool, "alice")); !os.IsNotExist(err) {
		t.Errorf("alice's mailbox was written (%v)", err)
	}
	req := request(testBody, "alice@example.test")
	req.DirectOnly = true
	if r := a.Deliver(context.Background(), req); r[0].Kind != deliver.Declined || r[0].Pass != "" {
		t.Errorf("direct delivery: %+v", r[0])
	}
}

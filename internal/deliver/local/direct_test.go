package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
)

// A direct delivery (Request.DirectOnly) stores a copy only in the
// recipient's own mailbox; an alias, whatever it expands to, is declined
// untouched, for the queue to deliver.
func TestDirectOnly(t *testing.T) {
	e := newEnv(t)
	e.aliases("team: alice, bob\nrenamed: alice\npipe: |/bin/true\n")
	a := e.agent()
	for _, tc := range []struct {
		rcpt string
		want deliver.Kind
	}{
		{"alice@example.test", deliver.Sent},
		{"team@example.test", deliver.Declined},
		{"renamed@example.test", deliver.Declined},
		{"pipe@example.test", deliver.Declined},
		{"nosuchuser@example.test", deliver.Bounced},
	} {
		req := request(testBody, tc.rcpt)
		req.DirectOnly = true
		if r := a.Deliver(context.Background(), req)[0]; r.Kind != tc.want {
			t.Errorf("%s: %v %s %q, want kind %v", tc.rcpt, r.Kind, r.DSN, r.Reason, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(e.spool, "bob")); err == nil {
		t.Error("a declined alias delivered to bob")
	}
	if got := readFile(t, filepath.Join(e.spool, "alice")); len(got) == 0 {
		t.Error("alice's direct copy is missing")
	}
}

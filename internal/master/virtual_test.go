package master

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/virtual"
)

// The virtual transport's agent from main.cf: unusable without
// virtual_mailbox_base (its mail waits with the reason), the agent
// otherwise; its limits are virtual_destination_*, else the defaults.
func TestVirtualAgentFromMainCf(t *testing.T) {
	for _, tc := range []struct {
		main       string
		unusable   string // the reason, when the agent is unusable
		conc, rcpt int
	}{
		{"", "virtual delivery is not configured: virtual_mailbox_base is empty", 20, 50},
		{"virtual_mailbox_base = /var/vmail\nvirtual_destination_recipient_limit = 7\nvirtual_destination_concurrency_limit = 3\n", "", 3, 7},
		{"virtual_mailbox_base = /var/vmail\nmessage_size_limit = 60000000\n", "virtual_mailbox_limit is smaller than message_size_limit", 20, 50},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.test\n"+tc.main), 0o644)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newVirtualAgent(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		switch a := a.(type) {
		case deliver.Unavailable:
			if tc.unusable == "" || !strings.Contains(a.Reason, tc.unusable) {
				t.Errorf("%q: unusable: %s", tc.main, a.Reason)
			}
		case *virtual.Agent:
			if tc.unusable != "" {
				t.Errorf("%q: usable, want %q", tc.main, tc.unusable)
			}
		}
		if conc, rcpt := limits(cfg)("virtual"); conc != tc.conc || rcpt != tc.rcpt {
			t.Errorf("%q: limits %d %d, want %d %d", tc.main, conc, rcpt, tc.conc, tc.rcpt)
		}
	}
}

// A lock method Postfix does not know is a configuration error.
func TestVirtualMailboxLockChecked(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.test\nvirtual_mailbox_lock = lockf\n"), 0o644)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVirtualAgent(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "lockf") {
		t.Errorf("virtual_mailbox_lock = lockf: %v", err)
	}
}

package pickup

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/sendlimit"
)

type limitTable map[string]string

func (m limitTable) Lookup(k string) (string, bool, error) { v, ok := m[k]; return v, ok, nil }

// sender_rate_limit_maps for local submissions: past the submitter's
// uid limit (2 messages per hour), a message is queued on hold, not
// refused, and the hold is logged.
func TestScanSendLimitHolds(t *testing.T) {
	cfg := newMaildrop(t)
	l := &sendlimit.Limiter{Spec: "test", Counter: &sendlimit.Counter{},
		Tables: []sendlimit.Table{limitTable{sendlimit.UIDKey(os.Getuid()): "2/1h"}}}
	stage := &sendlimit.Stage{L: l}
	cfg.Stages = []cleanup.Stage{stage}
	for i := 0; i < 3; i++ {
		drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: limited\n\nbody\n")
	}
	mem := &queue.Memory{}
	log, lines := newLog()
	stage.SetLog(log)
	p := New(cfg, mem, log)
	if _, err := p.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range mem.Messages() {
		count[m.Queue]++
	}
	if count[queue.Incoming] != 2 || count[queue.Hold] != 1 || len(count) != 2 {
		t.Fatalf("queued %v, want 2 incoming and 1 on hold", count)
	}
	if left := maildropFiles(t, cfg); len(left) != 0 {
		t.Errorf("maildrop holds %v", left)
	}
	for _, want := range []string{"message rate limit exceeded for " + sendlimit.UIDKey(os.Getuid()) + ": 2/1h: held",
		"sendlimit-hold: END-OF-MESSAGE from localhost[127.0.0.1]: sendlimit triggers HOLD action; from=<root@example.test> to=<bob@example.test>"} {
		if !hasLine(lines(), want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines(), "\n"))
		}
	}
}

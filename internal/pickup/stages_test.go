package pickup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/qmgr"
	"github.com/postern-mta/postern/internal/queue"
)

// enqueueOnly hides Memory's EnqueueBounced: a queue that cannot bounce.
type enqueueOnly struct{ m *queue.Memory }

func (q enqueueOnly) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	return q.m.Enqueue(ctx, env, body)
}

// Content stages see a local submission with its origin (Local, the
// submitter's UID, service pickup) and decide what is queued: edits go
// to the queue, Hold into the hold queue, Discard nothing; a permanent
// refusal is returned to the sender (every recipient bounced), or kept
// on hold by a queue that cannot bounce; a temporary one keeps the
// maildrop file for the next scan.
func TestScanStages(t *testing.T) {
	tests := []struct {
		name      string
		verdict   cleanup.Verdict
		noBounce  bool
		queued    string // the queue the message is in; "": none
		bounced   bool
		keepsFile bool
		log       string
	}{
		{name: "continue", queued: queue.Incoming},
		{name: "hold", verdict: cleanup.Verdict{Action: cleanup.Hold}, queued: queue.Hold, log: "milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD action; from=<root@example.test> to=<bob@example.test>"},
		{name: "discard", verdict: cleanup.Verdict{Action: cleanup.Discard}, log: "milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers DISCARD action"},
		{name: "reject", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.0 spam\r\n"}, queued: queue.Incoming, bounced: true,
			log: "milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 5.7.0 spam; from=<root@example.test> to=<bob@example.test>"},
		{name: "reject, no bouncer", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 no"}, noBounce: true, queued: queue.Hold,
			log: "kept on hold"},
		{name: "tempfail", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "451 4.7.1 later", Source: "dkim"}, keepsFile: true,
			log: "dkim-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.1 later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newMaildrop(t)
			var seen []cleanup.Origin
			cfg.Stages = []cleanup.Stage{cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
				seen = append(seen, m.Origin)
				m.Header.Prepend("X-Stage", "seen")
				return tt.verdict
			})}
			drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: staged\n\nbody\n")
			mem := &queue.Memory{}
			var q queue.Queue = mem
			if tt.noBounce {
				q = enqueueOnly{mem}
			}
			log, lines := newLog()
			p := New(cfg, q, log)
			if _, err := p.Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 1 || !seen[0].Local || seen[0].UID != os.Getuid() || seen[0].Service != "pickup" || !seen[0].Trusted() {
				t.Errorf("origins %+v", seen)
			}
			msgs := mem.Messages()
			if tt.queued == "" {
				if len(msgs) != 0 {
					t.Errorf("%d messages queued", len(msgs))
				}
			} else {
				if len(msgs) != 1 {
					t.Fatalf("%d messages queued", len(msgs))
				}
				if msgs[0].Queue != tt.queued {
					t.Errorf("queued in %q, want %q", msgs[0].Queue, tt.queued)
				}
				if body := string(msgs[0].Body); !strings.HasPrefix(body, "X-Stage: seen\r\nReceived: by mx.example.test") || !strings.HasSuffix(body, "\r\n\r\nbody\r\n") {
					t.Errorf("queued %q", body)
				}
				bounced := len(msgs[0].Status) == 1 && msgs[0].Status[0].State == queue.Bounced
				if bounced != tt.bounced {
					t.Errorf("status %+v, bounced %v", msgs[0].Status, tt.bounced)
				}
				if bounced && (msgs[0].Status[0].DSN != "5.7.0" || msgs[0].Status[0].Reason != "spam") {
					t.Errorf("status %+v", msgs[0].Status[0])
				}
			}
			if left := maildropFiles(t, cfg); (len(left) == 1) != tt.keepsFile {
				t.Errorf("maildrop holds %v", left)
			}
			if tt.log != "" && !hasLine(lines(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, strings.Join(lines(), "\n"))
			}
		})
	}
}

// A content stage (a non_smtpd milter) that deletes every recipient:
// the message is dropped with a log line, as Postfix drops it, and its
// maildrop file removed; it never stalls the scan. With the real store
// and queue manager, which refuse a message without recipients: a second
// scan does not run the stage again on the same file, and the file
// dropped after it is queued.
func TestScanStagesDeleteEveryRecipient(t *testing.T) {
	cfg := newMaildrop(t)
	var mu sync.Mutex
	calls := map[string]int{}
	cfg.Stages = []cleanup.Stage{cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
		subject, _ := m.Header.Get("Subject")
		subject = strings.TrimSpace(subject)
		mu.Lock()
		calls[subject]++
		mu.Unlock()
		if subject == "drop" {
			m.Env.Recipients = nil
		}
		return cleanup.Verdict{}
	})}
	now := time.Now()
	for i, subject := range []string{"drop", "keep"} {
		name := drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: "+subject+"\n\nbody\n")
		at := now.Add(time.Duration(i-2) * time.Second) // oldest first: drop, then keep
		if err := os.Chtimes(filepath.Join(cfg.QueueDir, queue.Maildrop, name), at, at); err != nil {
			t.Fatal(err)
		}
	}
	log, lines := newLog()
	store, err := queue.Open(cfg.QueueDir, queue.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mgr := qmgr.New(store, qmgr.Config{Hostname: "mx.example.test", Log: log})
	p := New(cfg, mgr.Queue(), log)
	for scan := 1; scan <= 2; scan++ {
		if _, err := p.Scan(context.Background()); err != nil {
			t.Errorf("scan %d: %v", scan, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["drop"] != 1 || calls["keep"] != 1 {
		t.Errorf("stage runs per message %v, want one each", calls)
	}
	if left := maildropFiles(t, cfg); len(left) != 0 {
		t.Errorf("maildrop holds %v", left)
	}
	var queued []string
	for _, q := range []string{queue.Incoming, queue.Hold, queue.Active, queue.Deferred} {
		ids, err := store.List(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			queued = append(queued, q+"/"+id)
		}
	}
	if len(queued) != 1 || !strings.HasPrefix(queued[0], queue.Incoming+"/") {
		t.Errorf("queued %v, want the kept message in incoming", queued)
	}
	for _, want := range []string{": from=<root@example.test>, nrcpt=0: every recipient was deleted by a content stage (milter); not queued", ": removed"} {
		re := regexp.MustCompile(`^postern/cleanup: [0-9A-Za-z]+` + regexp.QuoteMeta(want) + `$`)
		if !slices.ContainsFunc(lines(), re.MatchString) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines(), "\n"))
		}
	}
	if hasLine(lines(), "warning:") {
		t.Errorf("warnings logged:\n%s", strings.Join(lines(), "\n"))
	}
}

// refuseOne is a queue that refuses the message with one subject for
// good, as a store refuses an envelope it cannot hold.
type refuseOne struct {
	m       *queue.Memory
	subject string
}

func (q refuseOne) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	if strings.Contains(string(data), "Subject: "+q.subject+"\r\n") {
		return "", errors.New("queue: envelope field longer than 1 MiB")
	}
	return q.m.Enqueue(ctx, env, strings.NewReader(string(data)))
}

// A queue that refuses one message (not the queue failing as a whole)
// keeps that file and goes on with the next ones, with and without
// content stages; a full queue still ends the scan.
func TestScanQueueRefusesOneMessage(t *testing.T) {
	for _, staged := range []bool{false, true} {
		cfg := newMaildrop(t)
		if staged {
			cfg.Stages = []cleanup.Stage{cleanup.StageFunc(func(context.Context, *cleanup.Message) cleanup.Verdict { return cleanup.Verdict{} })}
		}
		now := time.Now()
		for i, subject := range []string{"refused", "fine"} {
			name := drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: "+subject+"\n\nbody\n")
			at := now.Add(time.Duration(i-2) * time.Second)
			if err := os.Chtimes(filepath.Join(cfg.QueueDir, queue.Maildrop, name), at, at); err != nil {
				t.Fatal(err)
			}
		}
		mem := &queue.Memory{}
		log, lines := newLog()
		p := New(cfg, refuseOne{mem, "refused"}, log)
		if n, err := p.Scan(context.Background()); n != 1 || err != nil {
			t.Errorf("staged %v: Scan: %d, %v; log:\n%s", staged, n, err, strings.Join(lines(), "\n"))
		}
		if len(mem.Messages()) != 1 || len(maildropFiles(t, cfg)) != 1 {
			t.Errorf("staged %v: queued %d, maildrop holds %v", staged, len(mem.Messages()), maildropFiles(t, cfg))
		}
		if !hasLine(lines(), "warning: maildrop/") || !hasLine(lines(), "envelope field longer than 1 MiB") {
			t.Errorf("staged %v: log:\n%s", staged, strings.Join(lines(), "\n"))
		}
	}
}

// queueError: the queue failing as a whole ends the scan, a refusal of
// one message does not.
func TestQueueError(t *testing.T) {
	tests := []struct {
		err   error
		whole bool
	}{
		{&queue.SpaceError{Err: errors.New("full")}, true},
		{fmt.Errorf("queue: %w", &fs.PathError{Op: "open", Path: "x", Err: syscall.EIO}), true},
		{fmt.Errorf("queue: %w", &os.LinkError{Op: "link", Old: "a", New: "b", Err: syscall.EROFS}), true},
		{queue.ErrUnavailable, true},
		{context.Canceled, true},
		{errors.New("queue: no recipients"), false},
		{fmt.Errorf("queue: %w: X", queue.ErrExists), false},
		{errors.New("queue: envelope field longer than 1 MiB"), false},
		{fmt.Errorf("queue: read message content: %w", ErrMalformed), false},
	}
	for _, tt := range tests {
		err := queueError(tt.err)
		var qe errQueue
		if errors.As(err, &qe) != tt.whole || !errors.Is(err, tt.err) {
			t.Errorf("queueError(%v) = %#v, want whole-queue %v", tt.err, err, tt.whole)
		}
	}
}

// A stage deletes every recipient, a later one refuses the message: the
// sender is told about the recipients they addressed.
func TestScanStagesRejectAfterDelete(t *testing.T) {
	cfg := newMaildrop(t)
	cfg.Stages = []cleanup.Stage{
		cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
			m.Env.Recipients = nil
			return cleanup.Verdict{}
		}),
		cleanup.StageFunc(func(context.Context, *cleanup.Message) cleanup.Verdict {
			return cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 no"}
		}),
	}
	drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: x\n\nbody\n")
	mem := &queue.Memory{}
	log, lines := newLog()
	if n, err := New(cfg, mem, log).Scan(context.Background()); n != 1 || err != nil {
		t.Fatalf("Scan: %d, %v; log:\n%s", n, err, strings.Join(lines(), "\n"))
	}
	msgs := mem.Messages()
	if len(msgs) != 1 || len(msgs[0].Envelope.Recipients) != 1 || msgs[0].Envelope.Recipients[0].Addr != "bob@example.test" ||
		len(msgs[0].Status) != 1 || msgs[0].Status[0].State != queue.Bounced {
		t.Errorf("queued %+v", msgs)
	}
}

// A header just under header_size_limit, with LF line ends: what pickup
// queues (CRLF, its Received:, Message-Id:, Date: and From:) must still
// fit in what the content stages parse, or they would see the From:
// pickup added as body (and DKIM would not sign).
func TestScanStagesSeeAddedFieldsOfLongHeader(t *testing.T) {
	cfg := newMaildrop(t)
	var from string
	var found bool
	cfg.Stages = []cleanup.Stage{cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
		from, found = m.Header.Get("From")
		return cleanup.Verdict{}
	})}
	if err := os.Mkdir(filepath.Join(cfg.QueueDir, "tmp"), 0o700); err != nil { // the store's; the spool spills there
		t.Fatal(err)
	}
	pad := strings.Repeat("X-Pad: "+strings.Repeat("y", 42)+"\n", 2005) // 100,250 bytes, 102,255 with CRLF
	drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, pad+"\nbody\n")
	mem := &queue.Memory{}
	log, lines := newLog()
	if n, err := New(cfg, mem, log).Scan(context.Background()); n != 1 || err != nil {
		t.Fatalf("Scan: %d, %v; log:\n%s", n, err, strings.Join(lines(), "\n"))
	}
	if !found || from != "root@example.test" {
		t.Errorf("stage saw From %q, %v", from, found)
	}
	body := string(mem.Messages()[0].Body)
	// The header lines beyond the bound become body: the stages insert
	// the empty line there (cleanup.NewMessage), after pickup's fields.
	if !strings.Contains(body, "\r\nFrom: root@example.test\r\n\r\nX-Pad: ") || !strings.HasSuffix(body, "\r\n\r\nbody\r\n") {
		t.Errorf("queued %q…%q", body[:200], body[len(body)-200:])
	}
}

package pickup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// logRecorder keeps "program: [warning: ]message" lines.
type logRecorder struct {
	mu      *sync.Mutex
	lines   *[]string
	program string
}

func newLog() (*slog.Logger, func() []string) {
	r := logRecorder{mu: &sync.Mutex{}, lines: new([]string)}
	return slog.New(r), func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Clone(*r.lines)
	}
}

func (r logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r logRecorder) Handle(_ context.Context, rec slog.Record) error {
	prefix := ""
	if rec.Level >= slog.LevelWarn {
		prefix = "warning: "
	}
	r.mu.Lock()
	*r.lines = append(*r.lines, r.program+": "+prefix+rec.Message)
	r.mu.Unlock()
	return nil
}
func (r logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		if a.Key == "program" {
			r.program = a.Value.String()
		}
	}
	return r
}
func (r logRecorder) WithGroup(string) slog.Handler { return r }

func hasLine(lines []string, want string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) })
}

// newMaildrop prepares a queue directory for the test's own user.
func newMaildrop(t *testing.T) Config {
	t.Helper()
	cfg := testCfg
	cfg.QueueDir = t.TempDir()
	if err := Prepare(cfg.QueueDir, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func drop(t *testing.T, cfg Config, s *Submission, content string) string {
	t.Helper()
	d, err := Create(filepath.Join(cfg.QueueDir, queue.Maildrop), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	name, err := d.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func maildropFiles(t *testing.T, cfg Config) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.QueueDir, queue.Maildrop))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPrepareModes(t *testing.T) {
	cfg := newMaildrop(t)
	for dir, want := range map[string]os.FileMode{
		queue.Maildrop: os.ModeDir | os.ModeSetgid | os.ModeSticky | 0o733, publicDir: os.ModeDir | 0o755,
	} {
		st, err := os.Stat(filepath.Join(cfg.QueueDir, dir))
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", dir, st.Mode(), err, want)
		}
	}
	if err := Prepare(cfg.QueueDir, os.Getuid(), os.Getgid()); err != nil {
		t.Errorf("second Prepare: %v", err)
	}
	// A maildrop that Prepare has not set up is refused before anything is written.
	bare := t.TempDir()
	os.Mkdir(filepath.Join(bare, queue.Maildrop), 0o777)
	if _, err := Create(filepath.Join(bare, queue.Maildrop), &Submission{Recipients: []string{"a"}}); err == nil {
		t.Error("Create used a maildrop without the set-gid and sticky bits")
	}
}

func TestScanQueuesAndRemoves(t *testing.T) {
	cfg := newMaildrop(t)
	drop(t, cfg, &Submission{Sender: "root", FullName: "Charlie Root",
		Recipients: []string{"bob", `"b c"@example.test`, "bob@example.test"}, Notify: "NEVER", Ret: "HDRS"},
		"Subject: hello\n\nbody\n")
	drop(t, cfg, &Submission{Sender: "", Recipients: []string{"jürgen@example.test"}}, "Subject: two\n\nx\n")
	q := &queue.Memory{}
	log, lines := newLog()
	p := New(cfg, q, log)
	if n, err := p.Scan(context.Background()); n != 2 || err != nil {
		t.Fatalf("Scan: %d, %v; log %q", n, err, lines())
	}
	msgs := q.Messages()
	slices.SortFunc(msgs, func(a, b queue.Message) int { return strings.Compare(string(a.Body), string(b.Body)) })
	first, second := msgs[0], msgs[1]
	if !strings.Contains(string(first.Body), "Subject: hello") {
		first, second = second, first
	}
	env := first.Envelope
	wantRcpt := []queue.Recipient{{Addr: "bob@example.test", Notify: "NEVER", Orig: "bob"}, {Addr: `"b c"@example.test`, Notify: "NEVER"}}
	if env.Sender != "root@example.test" || !reflect.DeepEqual(env.Recipients, wantRcpt) || env.Ret != "HDRS" || env.SMTPUTF8 {
		t.Errorf("envelope %+v", env)
	}
	body := string(first.Body)
	uid := os.Getuid()
	if !strings.HasPrefix(body, fmt.Sprintf("Received: by mx.example.test (postern, from userid %d)\r\n\tid %s; ", uid, env.ID)) ||
		!strings.Contains(body, "From: Charlie Root <root@example.test>\r\n") || !strings.HasSuffix(body, "\r\n\r\nbody\r\n") {
		t.Errorf("body:\n%s", body)
	}
	if e := second.Envelope; e.Sender != "" || !e.SMTPUTF8 || !strings.Contains(string(second.Body), "From: MAILER-DAEMON\r\n") {
		t.Errorf("second message: %+v\n%s", e, second.Body)
	}
	for _, want := range []string{
		fmt.Sprintf("postern/pickup: %s: uid=%d from=<root>", env.ID, uid),
		fmt.Sprintf("postern/cleanup: %s: message-id=<", env.ID),
		fmt.Sprintf("postern/pickup: %s: uid=%d from=<>", second.ID, uid),
	} {
		if !hasLine(lines(), want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines(), "\n"))
		}
	}
	if left := maildropFiles(t, cfg); len(left) != 0 {
		t.Errorf("maildrop still holds %v", left)
	}
}

// Files sendmail never makes are removed with a warning, without
// touching what they point to; a file being written is left alone.
func TestScanRefusesTricks(t *testing.T) {
	cfg := newMaildrop(t)
	md := filepath.Join(cfg.QueueDir, queue.Maildrop)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("not for you\n"), 0o600)
	name := func(c byte) string { return finalPrefix + strings.Repeat(string(c), 32) }
	if err := os.Symlink(secret, filepath.Join(md, name('1'))); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(md, name('2')), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(md, name('4')), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	sock.SetUnlinkOnClose(false)
	sock.Close()
	linked := drop(t, cfg, &Submission{Recipients: []string{"a"}}, "x\n")
	if err := os.Link(filepath.Join(md, linked), filepath.Join(t.TempDir(), "second-link")); err != nil {
		t.Fatal(err)
	}
	open := drop(t, cfg, &Submission{Recipients: []string{"a"}}, "x\n")
	os.Chmod(filepath.Join(md, open), 0o646)
	os.WriteFile(filepath.Join(md, name('3')), []byte("From: junk\n\nnot a maildrop file\n"), 0o640)
	os.WriteFile(filepath.Join(md, "some-name"), []byte("x"), 0o640)
	os.WriteFile(filepath.Join(md, tmpPrefix+"fresh"), []byte("being written"), 0o640)
	stale := filepath.Join(md, tmpPrefix+"stale")
	os.WriteFile(stale, []byte("left by a killed sendmail"), 0o640)
	old := time.Now().Add(-25 * time.Hour)
	os.Chtimes(stale, old, old)
	good := drop(t, cfg, &Submission{Recipients: []string{"a"}}, "x\n")
	badAddr := drop(t, cfg, &Submission{Recipients: []string{"a@b@c"}}, "x\n")

	q := &queue.Memory{}
	log, lines := newLog()
	n, err := New(cfg, q, log).Scan(context.Background())
	if n != 1 || err != nil {
		t.Fatalf("Scan: %d, %v; log:\n%s", n, err, strings.Join(lines(), "\n"))
	}
	if left := maildropFiles(t, cfg); !slices.Equal(left, []string{tmpPrefix + "fresh"}) {
		t.Errorf("maildrop holds %v, want only the fresh temporary file", left)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "not for you\n" {
		t.Errorf("the symbolic link's target was touched: %q %v", b, err)
	}
	for _, want := range []string{
		name('1') + ": symbolic link: removed", name('2') + ": uid=", "not a regular file: removed",
		linked + ": uid=", "more than one link: removed", open + ": uid=", "writable by other users: removed",
		name('3') + ": uid=", "malformed maildrop file: not a maildrop file: removed",
		"some-name: uid=", "not a sendmail file name: removed", "t.stale: unfinished since",
		badAddr + ": uid=", `bad address syntax: "a@b@c": removed`,
		name('4') + ": cannot open: no such device or address: removed",
	} {
		if !hasLine(lines(), want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines(), "\n"))
		}
	}
	if msgs := q.Messages(); len(msgs) != 1 || hasLine(lines(), good+":") {
		t.Errorf("queued %d messages; log:\n%s", len(msgs), strings.Join(lines(), "\n"))
	}
}

// A queue that cannot take mail (full disk) leaves the file for later.
func TestScanQueueFailureKeepsFile(t *testing.T) {
	cfg := newMaildrop(t)
	drop(t, cfg, &Submission{Recipients: []string{"a"}}, "x\n")
	q := &queue.Memory{}
	full := errors.New("not enough free space in mail queue: 1 bytes < 2")
	q.SetFail(&queue.SpaceError{Err: full, First: true})
	log, lines := newLog()
	p := New(cfg, q, log)
	if n, err := p.Scan(context.Background()); n != 0 || err == nil {
		t.Fatalf("Scan with a full queue: %d, %v", n, err)
	}
	if len(maildropFiles(t, cfg)) != 1 || !hasLine(lines(), "not enough free space in mail queue: 1 bytes < 2; will try again") {
		t.Fatalf("file not kept; log:\n%s", strings.Join(lines(), "\n"))
	}
	// The same shortage at the next scan: no second warning.
	q.SetFail(&queue.SpaceError{Err: full})
	warnings := func() int { return strings.Count(strings.Join(lines(), "\n"), "warning:") }
	before := warnings()
	if n, err := p.Scan(context.Background()); n != 0 || err == nil || warnings() != before {
		t.Fatalf("second Scan with a full queue: %d, %v; log:\n%s", n, err, strings.Join(lines(), "\n"))
	}
	q.SetFail(nil)
	if n, err := p.Scan(context.Background()); n != 1 || err != nil || len(maildropFiles(t, cfg)) != 0 {
		t.Errorf("second Scan: %d, %v", n, err)
	}
}

// Too big, or damaged after sendmail finished: removed, nothing queued.
func TestScanDropsBadContent(t *testing.T) {
	cfg := newMaildrop(t)
	cfg.MessageSizeLimit = 100
	drop(t, cfg, &Submission{Recipients: []string{"a"}}, "Subject: big\n\n"+strings.Repeat("x", 200)+"\n")
	cut := drop(t, cfg, &Submission{Recipients: []string{"a"}}, "Subject: cut\n\nbody\n")
	path := filepath.Join(cfg.QueueDir, queue.Maildrop, cut)
	st, _ := os.Stat(path)
	os.Truncate(path, st.Size()-3)
	q := &queue.Memory{}
	log, lines := newLog()
	if n, _ := New(cfg, q, log).Scan(context.Background()); n != 0 || len(q.Messages()) != 0 {
		t.Fatalf("queued %d", n)
	}
	for _, want := range []string{"message file too big: removed", "malformed maildrop file: cut short: removed"} {
		if !hasLine(lines(), want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines(), "\n"))
		}
	}
	if left := maildropFiles(t, cfg); len(left) != 0 {
		t.Errorf("maildrop holds %v", left)
	}
}

// Run queues what was dropped while it was not running, and is woken by
// sendmail at once (the poll interval here is an hour).
func TestRunWakesOnDrop(t *testing.T) {
	cfg := newMaildrop(t)
	cfg.PollInterval = time.Hour
	drop(t, cfg, &Submission{Recipients: []string{"early"}}, "x\n")
	q := &queue.Memory{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- New(cfg, q, nil).Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return len(q.Messages()) == 1 }, "the message dropped before Run")
	waitFor(t, func() bool {
		_, err := os.Stat(filepath.Join(cfg.QueueDir, publicDir, triggerName))
		return err == nil
	}, "the wake-up socket")
	drop(t, cfg, &Submission{Recipients: []string{"late"}}, "x\n")
	waitFor(t, func() bool { return len(q.Messages()) == 2 }, "the message dropped while Run runs")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// cleanup_replace_stray_cr_lf: a <CR> that ends no line, in a header or
// in the body, is queued as a space, so a smuggling attempt in locally
// submitted mail stays text; with the parameter off it passes unchanged.
func TestScanReplacesStrayCR(t *testing.T) {
	const content = "Subject: a\rb\n\nx\r\r\nz\r.\rMAIL FROM:<evil@example.test>\nend\r"
	for _, replace := range []bool{true, false} {
		cfg := newMaildrop(t)
		cfg.ReplaceStrayCRLF = replace
		drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob@example.test"}}, content)
		q := &queue.Memory{}
		log, _ := newLog()
		if n, err := New(cfg, q, log).Scan(context.Background()); n != 1 || err != nil {
			t.Fatalf("Scan: %d, %v", n, err)
		}
		body := string(q.Messages()[0].Body)
		want := []string{"Subject: a b\r\n", "\r\n\r\nx \r\nz . MAIL FROM:<evil@example.test>\r\nend \r\n"}
		if !replace {
			want = []string{"Subject: a\rb\r\n", "\r\n\r\nx\r\r\nz\r.\rMAIL FROM:<evil@example.test>\r\nend\r\r\n"}
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("replace %v: queued body lacks %q:\n%q", replace, w, body)
			}
		}
	}
}

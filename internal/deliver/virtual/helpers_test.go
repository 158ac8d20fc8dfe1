package virtual

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

// Fake ids that exist nowhere else, so that ownership is unambiguous.
const (
	vmailUID = 54321
	vmailGID = 54320
	otherUID = 54331
)

func isRoot() bool { return os.Geteuid() == 0 }

var testTime = time.Date(2026, time.March, 7, 9, 5, 3, 0, time.UTC)

const testBody = "Subject: test\r\nFrom: sender@remote.test\r\n\r\nFrom the start\r\nline\r\n"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a test setup: virtual_mailbox_base owned by the vmail ids (as
// the mail administrator sets it up), and tables.
type env struct {
	t    testing.TB
	dir  string // holds base; reachable by every uid
	base string
	cfg  Config
	log  *syncBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "postern-virtual-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	e := &env{t: t, dir: dir, base: filepath.Join(dir, "vmail"), log: &syncBuffer{}}
	os.Mkdir(e.base, 0o755)
	e.chownVmail(e.base)
	cfg := Defaults()
	cfg.MailboxBase = e.base
	cfg.MyHostname = "mx.example.test"
	cfg.Now = func() time.Time { return testTime }
	cfg.Locks.Attempts, cfg.Locks.Delay = 3, 10*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	cfg.UIDMaps = []maps.Table{e.table("static:54321")}
	cfg.GIDMaps = []maps.Table{e.table("static:54320")}
	cfg.MailboxMaps = []maps.Table{e.table("inline:{ alice@v.test=v.test/alice/, carol@v.test=v.test/carol }")}
	e.cfg = cfg
	return e
}

// chownVmail gives path to the vmail ids (as root).
func (e *env) chownVmail(path string) {
	if isRoot() {
		if err := os.Chown(path, vmailUID, vmailGID); err != nil {
			e.t.Fatal(err)
		}
	}
}

// mkdir makes a directory below base for vmail.
func (e *env) mkdir(rel string) string {
	p := filepath.Join(e.base, rel)
	if err := os.MkdirAll(p, 0o700); err != nil {
		e.t.Fatal(err)
	}
	for d := p; d != e.base; d = filepath.Dir(d) {
		e.chownVmail(d)
	}
	return p
}

func (e *env) table(spec string) maps.Table {
	e.t.Helper()
	t, err := maps.Open(spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) agent() *Agent {
	e.t.Helper()
	a, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// request is a queued message from sender@remote.test to rcpts.
func request(body string, rcpts ...string) *deliver.Request {
	id := queue.NewID()
	env := &queue.Envelope{ID: id, Sender: "sender@remote.test"}
	var idx []int
	for i, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
		idx = append(idx, i)
	}
	return &deliver.Request{ID: id, Env: env, Rcpts: idx, Size: int64(len(body)),
		Content: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
}

func (e *env) deliver1(rcpt string) deliver.Result {
	e.t.Helper()
	res := e.agent().Deliver(context.Background(), request(testBody, rcpt))
	if len(res) != 1 {
		e.t.Fatalf("%d results", len(res))
	}
	return res[0]
}

func expect(t *testing.T, r deliver.Result, kind deliver.Kind, dsn, reason string) {
	t.Helper()
	if r.Kind != kind || r.DSN != dsn || r.Reason != reason || r.Relay != "virtual" {
		t.Errorf("result %v %s %q (relay %s), want %v %s %q", r.Kind, r.DSN, r.Reason, r.Relay, kind, dsn, reason)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ownerOf(t *testing.T, path string) (uid, gid int, mode os.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid), st.Mode()
}

// brokenTable cannot answer, as a database that is down.
type brokenTable struct{}

func (brokenTable) Lookup(string) (string, bool, error) {
	return "", false, errors.New("connection refused")
}
func (brokenTable) Name() string { return "pgsql:/etc/postern/broken.cf" }

// recorder records the keys it is asked and answers from a map.
type recorder struct {
	mu   sync.Mutex
	keys []string
	m    map[string]string
}

func (r *recorder) Lookup(k string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, k)
	v, ok := r.m[k]
	return v, ok, nil
}
func (r *recorder) Name() string { return "recorder:test" }

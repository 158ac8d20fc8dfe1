package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

// TestMain doubles as a helper process that holds a classic fcntl lock
// on a file, as a mail reader would, until its standard input closes.
func TestMain(m *testing.M) {
	if path := os.Getenv("POSTERN_LOCAL_TEST_LOCK"); path != "" {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err == nil {
			lk := syscall.Flock_t{Type: syscall.F_WRLCK}
			err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		// Unlock before exit, which can be slow with -race.
		lk := syscall.Flock_t{Type: syscall.F_UNLCK}
		syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdLock makes another process hold an fcntl lock on path; the
// returned function releases it.
func holdLock(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POSTERN_LOCAL_TEST_LOCK="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("lock helper: %q", line)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			cmd.Wait()
		})
	}
	t.Cleanup(release)
	return release
}

// Fake users with uids that exist nowhere else, so that chown results
// are unambiguous.
const (
	aliceUID  = 54321
	aliceGID  = 54320
	bobUID    = 54331
	nobodyUID = 65534
	nobodyGID = 65533
)

type fakeUsers map[string]*User

func (f fakeUsers) Lookup(name string) (*User, error) {
	if u, ok := f[name]; ok {
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownUser, name)
}

func (f fakeUsers) LookupID(uid int) (*User, error) {
	for _, u := range f {
		if u.UID == uid {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: uid %d", ErrUnknownUser, uid)
}

var testTime = time.Date(2026, time.March, 7, 9, 5, 3, 123456000, time.UTC)

// env is a test setup: a spool, home directories, users, a queue.
type env struct {
	t      *testing.T
	dir    string // shared, reachable by any uid
	spool  string
	home   map[string]string
	queue  *queue.Memory
	cfg    Config
	logbuf *syncBuffer
}

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

func isRoot() bool { return os.Geteuid() == 0 }

// newEnv makes a spool directory and homes for alice and bob in a
// directory every uid may enter (commands and file deliveries run as
// the fake nobody when the tests run as root).
func newEnv(t *testing.T) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "postern-local-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	e := &env{t: t, dir: dir, spool: filepath.Join(dir, "spool"), home: map[string]string{}, queue: &queue.Memory{}, logbuf: &syncBuffer{}}
	os.Mkdir(e.spool, 0o755)
	users := fakeUsers{
		"nobody": {Name: "nobody", UID: nobodyUID, GID: nobodyGID, Home: "/nonexistent"},
	}
	for name, uid := range map[string]int{"alice": aliceUID, "bob": bobUID} {
		home := filepath.Join(dir, "home", name)
		os.MkdirAll(home, 0o755)
		e.home[name] = home
		users[name] = &User{Name: name, UID: uid, GID: aliceGID, Home: home, Shell: "/bin/sh"}
		if !isRoot() {
			users[name].UID, users[name].GID = os.Geteuid(), os.Getegid()
		}
	}
	if !isRoot() {
		users["nobody"].UID, users["nobody"].GID = os.Geteuid(), os.Getegid()
	} else if err := mailstore.WithFSCreds(nobodyUID, nobodyGID, func() error { _, err := os.Stat(e.spool); return err }); err != nil {
		t.Skipf("%s cannot be reached by other users (%v): set TMPDIR", dir, err)
	}
	cfg := Defaults()
	cfg.MailSpoolDirectory = e.spool
	cfg.MyHostname = "mx.example.test"
	cfg.IsLocalDomain = func(d string) bool { return strings.EqualFold(d, "example.test") }
	cfg.Queue = e.queue
	cfg.Users = users
	cfg.Now = func() time.Time { return testTime }
	cfg.LockAttempts = 3
	cfg.LockDelay = 10 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(e.logbuf, nil))
	e.cfg = cfg
	return e
}

// aliases writes an alias file, builds it and uses it as alias_maps.
func (e *env) aliases(text string) {
	e.t.Helper()
	path := filepath.Join(e.dir, "aliases")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if w, err := aliases.Build(path); err != nil || len(w) > 0 {
		e.t.Fatal(w, err)
	}
	tbl, err := maps.Open("hash:" + path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { maps.Close(tbl) })
	e.cfg.AliasMaps = []maps.Table{tbl}
}

func (e *env) agent() *Agent {
	e.t.Helper()
	a, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

const testBody = "Subject: test\r\nFrom: sender@remote.test\r\n\r\nFrom the start\r\n>From quoted already\r\nline\r\n"

// request is a message from sender@remote.test with testBody.
func request(body string, rcpts ...string) *deliver.Request {
	env := &queue.Envelope{ID: "3F2abcDEFz1", Sender: "sender@remote.test", ClientAddr: "192.0.2.1", ClientName: "client.remote.test", Helo: "client.remote.test", Protocol: "ESMTP"}
	var idx []int
	for i, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
		idx = append(idx, i)
	}
	return &deliver.Request{ID: env.ID, Env: env, Rcpts: idx, Size: int64(len(body)),
		Content: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
}

// queuedRequest is request with a fresh queue ID, which names Maildir
// copies after it (mailstore.MaildirName).
func queuedRequest(body string, rcpts ...string) *deliver.Request {
	req := request(body, rcpts...)
	req.ID = queue.NewID()
	req.Env.ID = req.ID
	return req
}

// copyName is the Maildir name of req's copy for recipient index i.
func copyName(req *deliver.Request, i int) string {
	at, _ := queue.IDTime(req.ID)
	return fmt.Sprintf("%d.Q%sR%d.mx.example.test", at.Unix(), req.ID, i)
}

// deliver1 delivers to one recipient and returns its result.
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
	if r.Kind != kind || r.DSN != dsn || r.Reason != reason || r.Relay != "local" {
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

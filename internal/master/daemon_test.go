package master

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The daemon in-process, under the race detector: connections accepted
// while the configuration is reloaded and while it stops.
func TestDaemonReloadWhileServing(t *testing.T) {
	dir := t.TempDir()
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, _ := user.Current()
	main := fmt.Sprintf("queue_directory = %s/q\ndata_directory = %s/d\nmail_owner = %s\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n", dir, dir, u.Username)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", port)), 0o644)

	ready := make(chan struct{})
	var once sync.Once
	d := &Daemon{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { once.Do(func() { close(ready) }) }}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready after 60 s")
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "QUIT\r\n")
				c.Close()
			}
		}()
	}
	for i := 0; i < 10; i++ {
		if err := d.Reload(context.Background()); err != nil {
			t.Fatalf("reload: %v", err)
		}
		_ = d.status()
	}
	wg.Wait()
	d.Stop(5 * time.Second)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A service that a reload adds gets its maxproc from its first
// connection on: its gate is created with the generation's limit, and
// the gates are set before its socket accepts.
func TestNewServiceGateHasLimit(t *testing.T) {
	d := &Daemon{gates: map[string]*gate{}}
	d.gen.Store(&generation{limits: map[string]serviceLimit{"new": {maxproc: 3}}})
	if g := d.gate("new"); g.limit != 3 {
		t.Errorf("gate of a new service: limit %d, want its maxproc 3", g.limit)
	}
	if g := d.gate("unknown"); g.limit != 0 {
		t.Errorf("gate of an unknown service: limit %d, want 0", g.limit)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// A reload that changes default_process_limit says that deliveries keep
// the old value until a restart, instead of accepting it silently.
func TestReloadWarnsProcessLimitKept(t *testing.T) {
	td := startDaemon(t, t.TempDir(), "")
	d, dir, main, logs := td.Daemon, td.dir, td.main, td.logs
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if strings.Contains(logs.String(), "default_process_limit") {
		t.Errorf("an unchanged default_process_limit is reported:\n%s", logs.String())
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main+"default_process_limit = 7\n"), 0o644)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if want := "default_process_limit changed from 100 to 7: the queue manager keeps 100 deliveries at once"; !strings.Contains(logs.String(), want) {
		t.Errorf("no %q in the log:\n%s", want, logs.String())
	}
}

// A reload that adds a milter re-sizes the file descriptor budget: each
// session then holds a connection to it, which the budget sized at
// start did not count.
func TestReloadResizesFDBudget(t *testing.T) {
	td := startDaemon(t, t.TempDir(), "")
	d, dir, main, port, logs := td.Daemon, td.dir, td.main, td.port, td.logs
	limit := func() int {
		d.fdGate.mu.Lock()
		defer d.fdGate.mu.Unlock()
		return d.fdGate.limit
	}
	before := limit()
	want, _, _, _ := fdBudget(d.fdLimit, d.fdOpen, d.deliveries, 2)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main+"smtpd_milters = inet:127.0.0.1:9 inet:127.0.0.1:10\nmilter_default_action = accept\n"), 0o644)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := limit(); got != want {
		t.Errorf("sessions after adding 2 milters: %d, want %d (before: %d)", got, want, before)
	}
	if !strings.Contains(logs.String(), "file descriptor budget re-sized") || !strings.Contains(logs.String(), "2 milters per session") {
		t.Errorf("no re-sizing in the log:\n%s", logs.String())
	}

	// A session of that configuration holds its milter connections:
	// a reload without milters raises the budget only once it has ended.
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil { // the greeting: the session runs
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := limit(); got != want {
		t.Errorf("sessions while one with 2 milters runs: %d, want %d", got, want)
	}
	c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for limit() != before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // until the old session's end is seen
	}
	if got := limit(); got != before {
		t.Errorf("sessions after it ended: %d, want %d", got, before)
	}
}

// testDaemon is a Daemon started on a free loopback port, with one smtpd
// service, for a test's life.
type testDaemon struct {
	*Daemon
	dir  string
	main string // main.cf as written: the basics, then the test's lines
	port int
	logs *syncBuffer
}

// startDaemon starts a daemon with its configuration in dir: main.cf's
// basics (queue and data below dir, loopback, IPv4) and extra.
func startDaemon(t *testing.T, dir, extra string) *testDaemon {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, _ := user.Current()
	main := fmt.Sprintf("queue_directory = %s/q\ndata_directory = %s/d\nmail_owner = %s\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n", dir, dir, u.Username) + extra
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", port)), 0o644)
	td := &testDaemon{dir: dir, main: main, port: port, logs: &syncBuffer{}}
	ready := make(chan struct{})
	var once sync.Once
	td.Daemon = &Daemon{Dir: dir, Log: slog.New(slog.NewTextHandler(td.logs, nil)), Ready: func() { once.Do(func() { close(ready) }) }}
	errc := make(chan error, 1)
	go func() { errc <- td.Run(context.Background()) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready after 60 s")
	}
	t.Cleanup(func() {
		td.Stop(5 * time.Second)
		<-errc
	})
	return td
}

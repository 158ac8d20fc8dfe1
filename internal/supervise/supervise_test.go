package supervise

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary is its own worker when this variable is set: it
// answers each line on fd 3 with its pid.
const workerEnv = "POSTERN_SUPERVISE_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		conn, err := net.FileConn(os.NewFile(3, "daemon"))
		if err != nil {
			os.Exit(3)
		}
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			conn.Write([]byte(strconv.Itoa(os.Getpid()) + "\n"))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuf is a log the test reads while the watcher writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// ask sends a line on conn and returns the worker's answer, its pid.
func ask(t *testing.T, conn net.Conn) string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// The supervisor hands the daemon a connection to each worker it starts,
// restarts a killed worker, and ends when the daemon closes the control
// socket; the watcher logs and counts it all.
func TestSuperviseRestarts(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "ctl")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	daemonCtl, supCtl := unix(fds[0]), unix(fds[1])
	ran := make(chan error, 1)
	go func() {
		ran <- Run(supCtl, func() *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), workerEnv+"=1")
			return cmd
		}, &Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond, Reset: time.Hour})
	}()
	conns := make(chan net.Conn, 4)
	var log syncBuf
	w := Watch(daemonCtl, 42, func(c net.Conn) { conns <- c }, func() { t.Error("the supervisor is gone") },
		slog.New(slog.NewTextHandler(&log, nil)))

	first := <-conns
	pid := ask(t, first)
	if st := w.Status(); strconv.Itoa(st.Pid) != pid || st.Restarts != 0 || st.SupervisorPid != 42 {
		t.Fatalf("status %+v, worker pid %s", st, pid)
	}
	n, _ := strconv.Atoi(pid)
	syscall.Kill(n, syscall.SIGKILL)
	second := <-conns
	pid2 := ask(t, second)
	if pid2 == pid {
		t.Fatalf("the same worker %s answered", pid)
	}
	st := w.Status()
	if st.Restarts != 1 || st.LastExit != "signal: killed" {
		t.Errorf("status after the restart: %+v", st)
	}
	for _, want := range []string{"local delivery agent pid " + pid + " exited: signal: killed; restarting in 1ms",
		"local delivery agent restarted: pid " + pid2} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	// The daemon stops: the supervisor ends once the worker has.
	w.Close()
	second.Close()
	select {
	case err := <-ran:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the supervisor outlived the daemon's control socket")
	}
}

package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
)

// sink is Postfix's smtp-sink on a loopback port, with its -c counters.
type sink struct {
	port int
	mu   sync.Mutex
	last string // latest "sess=N quit=N mesg=N"
}

func startSink(t testing.TB, opts ...string) *sink {
	t.Helper()
	path, err := exec.LookPath("smtp-sink")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/smtp-sink"); err != nil {
			t.Skip("smtp-sink not installed (Debian package postfix)")
		}
		path = "/usr/sbin/smtp-sink"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := append([]string{"-c"}, opts...)
	if os.Geteuid() == 0 {
		// smtp-sink refuses to run as root without -u.
		if _, err := user.Lookup("nobody"); err != nil {
			t.Skip("no user nobody for smtp-sink -u")
		}
		args = append(args, "-u", "nobody")
	}
	args = append(args, fmt.Sprintf("127.0.0.1:%d", port), "256")
	cmd := exec.Command(path, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sink{port: port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Split(splitCR)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "sess=") {
				s.mu.Lock()
				s.last = line
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		<-done
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// splitCR splits smtp-sink's counter output, which ends lines in CR.
func splitCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\r' || c == '\n' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// counters waits until cond holds for the sink's counters and they have
// not changed for a while, and returns them.
func (s *sink) counters(t testing.TB, cond func(sess, quit, mesg int) bool) (sess, quit, mesg int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	prev, since := "", time.Now()
	for {
		s.mu.Lock()
		line := s.last
		s.mu.Unlock()
		if line != prev {
			prev, since = line, time.Now()
		}
		fmt.Sscanf(line, "sess=%d quit=%d mesg=%d", &sess, &quit, &mesg)
		if cond(sess, quit, mesg) && time.Since(since) > 300*time.Millisecond || time.Now().After(deadline) {
			return sess, quit, mesg
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A thousand messages through smtp-sink, 10 at a time: all sent, over
// few sessions thanks to the connection cache.
func TestSinkThroughput(t *testing.T) {
	sk := startSink(t)
	a := newAgent(t, testConfig(nil, nil))
	nexthop := fmt.Sprintf("[127.0.0.1]:%d", sk.port)
	const workers, each = 10, 100
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				req := request(nexthop, fmt.Sprintf("u%d.%d@example.net", w, i), "second@example.net")
				for _, r := range a.Deliver(t.Context(), req) {
					if r.Kind != deliver.Sent || r.Reason != "250 2.0.0 Ok" {
						errs <- fmt.Sprintf("%+v", r)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	_, _, mesg := sk.counters(t, func(_, _, m int) bool { return m == workers*each })
	if mesg != workers*each {
		t.Errorf("sink counted %d messages", mesg)
	}
	a.Close()
	// One more session: the start-up probe, which said no QUIT.
	sess, quit, _ := sk.counters(t, func(s, q, _ int) bool { return s > 1 && s-1 == q })
	sess--
	if sess == 0 || sess > 2*workers || quit != sess {
		t.Errorf("%d sessions, %d QUIT for %d messages", sess, quit, workers*each)
	}
	t.Logf("%d messages in %v (%.0f/s) over %d sessions", workers*each, elapsed, float64(workers*each)/elapsed.Seconds(), sess)
}

func TestSinkRejects(t *testing.T) {
	tests := []struct {
		opts   []string
		kind   deliver.Kind
		dsn    string
		reason string // after "host 127.0.0.1[127.0.0.1] "
	}{
		{opts: []string{"-r", "RCPT"}, kind: deliver.Deferred, dsn: "4.3.0",
			reason: "said: 450 4.3.0 Error: command failed (in reply to RCPT TO command)"},
		{opts: []string{"-f", "RCPT"}, kind: deliver.Bounced, dsn: "5.3.0",
			reason: "said: 500 5.3.0 Error: command failed (in reply to RCPT TO command)"},
		{opts: []string{"-f", "MAIL"}, kind: deliver.Bounced, dsn: "5.3.0",
			reason: "said: 500 5.3.0 Error: command failed (in reply to MAIL FROM command)"},
		{opts: []string{"-r", "."}, kind: deliver.Deferred, dsn: "4.3.0",
			reason: "said: 450 4.3.0 Error: command failed (in reply to end of DATA command)"},
		{opts: []string{"-B", "550 5.1.1 <rcpt>: unknown user", "-f", "RCPT"}, kind: deliver.Bounced, dsn: "5.1.1",
			reason: "said: 550 5.1.1 <rcpt>: unknown user (in reply to RCPT TO command)"},
		{opts: []string{"-q", "DATA"}, kind: deliver.Deferred, dsn: "4.4.2",
			reason: "lost connection with 127.0.0.1[127.0.0.1] while sending DATA command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.opts, " "), func(t *testing.T) {
			sk := startSink(t, tt.opts...)
			a := newAgent(t, testConfig(nil, nil))
			res := deliverOne(t, a, request(fmt.Sprintf("[127.0.0.1]:%d", sk.port), "a@example.net", "b@example.net"))
			for _, r := range res {
				if r.Kind != tt.kind || r.DSN != tt.dsn || !strings.HasSuffix(r.Reason, tt.reason) {
					t.Errorf("got %v %s %q, want %v %s …%q", r.Kind, r.DSN, r.Reason, tt.kind, tt.dsn, tt.reason)
				}
			}
		})
	}
}

// BenchmarkSink delivers 4 KB messages to smtp-sink from 20 goroutines,
// as the relay benchmark does (smtp-source -s 20 -l 4096).
func BenchmarkSink(b *testing.B) {
	sk := startSink(b)
	cfg := testConfig(nil, nil)
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	body := strings.Repeat(strings.Repeat("x", 78)+"\r\n", 4096/80)
	nexthop := fmt.Sprintf("[127.0.0.1]:%d", sk.port)
	b.SetParallelism(20)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := request(nexthop, "rcpt@example.net")
			req.Size = int64(len(body))
			req.Content = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
			if r := a.Deliver(context.Background(), req)[0]; r.Kind != deliver.Sent {
				b.Errorf("%+v", r)
			}
		}
	})
}

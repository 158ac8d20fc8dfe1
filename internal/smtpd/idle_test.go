package smtpd_test

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// rawReply reads one reply, all its lines, with a small buffer of the
// test's own (no bufio: the client's memory is counted in the measure).
func rawReply(t testing.TB, c net.Conn) string {
	t.Helper()
	var buf [256]byte
	var got []byte
	for {
		n, err := c.Read(buf[:])
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
		s := string(got)
		if !strings.HasSuffix(s, "\r\n") {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
		if last := lines[len(lines)-1]; len(last) >= 4 && last[3] == ' ' {
			return last
		}
	}
}

// idleSessions opens n sessions to addr, each greeted and its EHLO
// answered, and leaves them idle.
func idleSessions(t testing.TB, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(time.Minute))
		if r := rawReply(t, c); !strings.HasPrefix(r, "220 ") {
			t.Fatalf("greeting %q", r)
		}
		fmt.Fprintf(c, "EHLO client.example\r\n")
		if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("EHLO: %q", r)
		}
	}
	return conns
}

// An idle plain session (greeted, EHLO answered) holds no read or write
// buffer: both go back to shared pools while it waits for a command.
// Measured as the live heap after a GC with 1000 such sessions open,
// divided by 1000, the test's clients included: about 2.3 KiB (and 4 KiB
// of stack, the session goroutine's, not checked: the runtime sizes new
// stacks by the average so far); 10.9 KiB when each session kept its 4
// KiB reader and writer, 6.4 KiB with either.
func TestIdleSessionMemory(t *testing.T) {
	const n, limit = 1000, 5 << 10
	s := smtptest.NewServer(t, "", nil)
	idleSessions(t, s.Addr, 10) // the server's own first allocations
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := idleSessions(t, s.Addr, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	stack := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	t.Logf("per idle session, server and client: heap %d bytes, stacks %d bytes", heap, stack)
	if heap > limit {
		t.Errorf("an idle session costs %d bytes of heap, more than %d", heap, limit)
	}
	// They are still sessions: each answers.
	for i, c := range conns {
		fmt.Fprintf(c, "NOOP\r\n")
		if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("session %d: NOOP: %q", i, r)
		}
	}
}

// slots is an smtpd.Busy with room for a few sessions at once.
type slots struct {
	ch        chan struct{}
	mu        sync.Mutex
	now, most int
	begins    int
}

func (s *slots) Begin(deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case s.ch <- struct{}{}:
	case <-t.C:
		return false
	}
	s.mu.Lock()
	s.now++
	s.begins++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	return true
}

func (s *slots) End() {
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	<-s.ch
}

// A session waiting for its client's next command is not busy: with one
// busy slot, sessions that are idle one after another are all greeted and
// all answered, and the slot is free when they are done.
func TestIdleSessionsNotBusy(t *testing.T) {
	busy := &slots{ch: make(chan struct{}, 1)}
	s := smtptest.NewServerWith(t, "", smtptest.Options{Busy: busy})
	conns := idleSessions(t, s.Addr, 20)
	for i, c := range conns {
		fmt.Fprintf(c, "NOOP\r\n")
		if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("session %d: NOOP: %q", i, r)
		}
	}
	for _, cmd := range []string{"MAIL FROM:<a@client.example>", "RCPT TO:<b@example.test>", "DATA"} {
		fmt.Fprintf(conns[3], "%s\r\n", cmd)
		if r := rawReply(t, conns[3]); !strings.HasPrefix(r, "250 ") && !strings.HasPrefix(r, "354 ") {
			t.Fatalf("%s: %q", cmd, r)
		}
	}
	fmt.Fprint(conns[3], "Subject: x\r\n\r\nx\r\n.\r\n")
	if r := rawReply(t, conns[3]); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	if n := len(s.Queue.Messages()); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
	for _, c := range conns {
		c.Close()
	}
	s.Close()
	if busy.now != 0 || busy.most != 1 {
		t.Errorf("busy sessions at the end %d, at most %d; want 0, 1", busy.now, busy.most)
	}
}

// smtpd_timeout ends a session that waits idle for a command (without
// its buffers), with either deadline rule.
func TestIdleSessionTimeout(t *testing.T) {
	for _, perReq := range []string{"yes", "no"} {
		t.Run("smtpd_per_request_deadline="+perReq, func(t *testing.T) {
			t.Parallel()
			s := smtptest.NewServer(t, "smtpd_timeout = 1s\nsmtpd_per_request_deadline = "+perReq+"\n", nil)
			c := idleSessions(t, s.Addr, 1)[0]
			began := time.Now()
			if r := rawReply(t, c); r != "421 4.4.2 mx.example.test Error: timeout exceeded" {
				t.Fatalf("got %q", r)
			}
			if d := time.Since(began); d < 900*time.Millisecond {
				t.Errorf("cut after %v", d)
			}
			waitLog(t, s, "timeout after EHLO from unknown[127.0.0.1]")
		})
	}
}

// A command that finds no busy slot free within smtpd_timeout gets 421
// and its session ends: with one slot, held by a session in DATA,
// another session's NOOP waits and is refused.
func TestBusyWaitTimesOut(t *testing.T) {
	busy := &slots{ch: make(chan struct{}, 1)}
	s := smtptest.NewServerWith(t, "smtpd_timeout = 1s\n", smtptest.Options{Busy: busy})
	conns := idleSessions(t, s.Addr, 3)
	for _, cmd := range []string{"MAIL FROM:<a@client.example>", "RCPT TO:<b@example.test>", "DATA"} {
		fmt.Fprintf(conns[0], "%s\r\n", cmd)
		if r := rawReply(t, conns[0]); !strings.HasPrefix(r, "250 ") && !strings.HasPrefix(r, "354 ") {
			t.Fatalf("%s: %q", cmd, r)
		}
	}
	fmt.Fprint(conns[0], "Subject: x\r\n") // mid-DATA: busy
	began := time.Now()
	fmt.Fprintf(conns[1], "NOOP\r\n")
	if r := rawReply(t, conns[1]); r != "421 4.3.2 All server ports are busy" {
		t.Fatalf("NOOP while the slot is held: %q", r)
	}
	if d := time.Since(began); d < 900*time.Millisecond {
		t.Errorf("refused after %v, before smtpd_timeout", d)
	}
	waitLog(t, s, "no busy session slot free within smtpd_timeout (the file descriptor budget): disconnect after NOOP from unknown[127.0.0.1]")
}

// lateSlots is an smtpd.Busy whose slots, but the session's first, come
// only at the deadline.
type lateSlots struct{ first atomic.Bool }

func (s *lateSlots) Begin(deadline time.Time) bool {
	if s.first.CompareAndSwap(false, true) {
		return true
	}
	time.Sleep(time.Until(deadline))
	return true
}

func (s *lateSlots) End() {}

// A command that waited for a busy slot until the deadline set before
// it was read still gets its reply: the deadline is renewed.
func TestBusyLateSlotReplies(t *testing.T) {
	s := smtptest.NewServerWith(t, "smtpd_timeout = 1s\n", smtptest.Options{Busy: &lateSlots{}})
	c := idleSessions(t, s.Addr, 1)[0]
	fmt.Fprintf(c, "NOOP\r\n")
	if r := rawReply(t, c); r != "250 2.0.0 Ok" {
		t.Fatalf("NOOP: %q", r)
	}
}

func (s *slots) began() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.begins
}

// A BDAT transaction whose content streams into an open queue file
// (past 64 KiB) keeps its session busy until it ends (review 19 M2): a
// command between chunks takes no new busy slot; after the last chunk
// the session is idle again.
func TestBusyBDATStream(t *testing.T) {
	busy := &slots{ch: make(chan struct{}, 1)}
	s := smtptest.NewServerWith(t, "", smtptest.Options{Busy: busy})
	c := idleSessions(t, s.Addr, 1)[0]
	for _, cmd := range []string{"MAIL FROM:<a@client.example>", "RCPT TO:<b@example.test>"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("%s: %q", cmd, r)
		}
	}
	chunk := "Subject: x\r\n\r\n" + strings.Repeat("x", 68) + "\r\n"
	chunk += strings.Repeat(strings.Repeat("y", 78)+"\r\n", 70000/80)
	fmt.Fprintf(c, "BDAT %d\r\n%s", len(chunk), chunk)
	if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("BDAT: %q", r)
	}
	b0 := busy.began()
	fmt.Fprintf(c, "NOOP\r\n")
	if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("NOOP: %q", r)
	}
	if b := busy.began(); b != b0 {
		t.Errorf("the session went idle between BDAT chunks with its queue file open (%d busy begins, want %d)", b, b0)
	}
	fmt.Fprintf(c, "BDAT 0 LAST\r\n")
	if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("BDAT LAST: %q", r)
	}
	b0 = busy.began()
	fmt.Fprintf(c, "NOOP\r\n")
	if r := rawReply(t, c); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("NOOP: %q", r)
	}
	if b := busy.began(); b != b0+1 {
		t.Errorf("after the transaction: %d busy begins, want %d (idle before NOOP)", b, b0+1)
	}
}

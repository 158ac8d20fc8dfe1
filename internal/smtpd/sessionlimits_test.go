package smtpd_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/anvil"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// dialFrom connects from a given loopback address and reads the first
// reply line.
func dialFrom(t *testing.T, s *smtptest.Server, from string) (*client, string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	line, err := cl.br.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", from, err)
	}
	return cl, line
}

// waitClosed reads until the server closes the connection.
func (cl *client) waitClosed() {
	cl.t.Helper()
	cl.c.SetDeadline(time.Now().Add(20 * time.Second))
	// A reset is a close too: the server hung up on unread input.
	if _, err := io.Copy(io.Discard, cl.br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		cl.t.Fatalf("waiting for the server to close: %v", err)
	}
}

// smtpd_client_connection_count_limit: the sixth concurrent session of
// a client outside smtpd_client_event_limit_exceptions ($mynetworks) is
// refused as Postfix refuses it, the five others go on, and an exempt
// client is not counted.
func TestConnectionCountLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 5\n", nil)
	var first []*client
	for i := 0; i < 5; i++ {
		cl, greeting := dialFrom(t, s, "127.0.0.2")
		if !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("session %d: %q", i+1, greeting)
		}
		first = append(first, cl)
	}
	cl, greeting := dialFrom(t, s, "127.0.0.2")
	if want := "421 4.7.0 mx.example.test Error: too many connections from 127.0.0.2\r\n"; greeting != want {
		t.Fatalf("sixth session: %q, want %q", greeting, want)
	}
	cl.waitClosed()
	if want := "Connection concurrency limit exceeded: 6 from unknown[127.0.0.2] for service smtp"; !strings.Contains(s.Logged(), want) {
		t.Errorf("log lacks %q:\n%s", want, s.Logged())
	}
	for i, cl := range first {
		cl.send("NOOP\r\n")
		if l := cl.expect("250 "); l == "" {
			t.Errorf("session %d", i+1)
		}
	}
	for i := 0; i < 7; i++ { // 127.0.0.1 is in $mynetworks
		if _, greeting := dialFrom(t, s, "127.0.0.1"); !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("exempt session %d: %q", i+1, greeting)
		}
	}
	if n := s.Anvil.Count(anvil.NewClient("smtp", netip.MustParseAddr("127.0.0.1"), 64)); n != 0 {
		t.Errorf("exempt client counted: %d", n)
	}
	if n := s.Anvil.Count(anvil.NewClient("smtp", netip.MustParseAddr("127.0.0.2"), 64)); n != 5 {
		t.Errorf("127.0.0.2 has %d sessions counted, want 5", n)
	}
}

// smtpd_client_event_limit_exceptions names exempt clients explicitly.
func TestConnectionCountExceptions(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 1\nsmtpd_client_event_limit_exceptions = 127.0.0.3\n", nil)
	for i := 0; i < 3; i++ {
		if _, greeting := dialFrom(t, s, "127.0.0.3"); !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("exempt session %d: %q", i+1, greeting)
		}
	}
	dialFrom(t, s, "127.0.0.1") // no longer exempt: $mynetworks is not in the list
	if _, greeting := dialFrom(t, s, "127.0.0.1"); !strings.HasPrefix(greeting, "421 4.7.0 ") {
		t.Fatalf("second session from 127.0.0.1: %q", greeting)
	}
}

// Every way a session ends gives its count back.
func TestConnectionCountReleased(t *testing.T) {
	cf := "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 1\nsmtpd_timeout = 1s\nsmtpd_hard_error_limit = 1\nsmtpd_error_sleep_time = 0\n"
	s := smtptest.NewServer(t, cf, nil)
	for _, tc := range []struct {
		name string
		end  func(cl *client)
	}{
		{"QUIT", func(cl *client) { cl.send("QUIT\r\n") }},
		{"client hangs up", func(cl *client) { cl.c.(*net.TCPConn).CloseWrite() }},
		{"hangs up in DATA", func(cl *client) {
			// One command at a time: smtpd_forbid_unauth_pipelining.
			cl.cmd("HELO x", "250 ")
			cl.cmd("MAIL FROM:<a@b.test>", "250 ")
			cl.cmd("RCPT TO:<c@mx.example.test>", "250 ")
			cl.cmd("DATA", "354 ")
			cl.send("Subject: x\r\n")
			cl.c.(*net.TCPConn).CloseWrite()
		}},
		{"timeout", func(cl *client) {}},
		{"too many errors", func(cl *client) { cl.send("BOGUS\r\n") }},
		{"refused over the limit", func(cl *client) {
			over, greeting := dialFrom(t, s, "127.0.0.2")
			if !strings.HasPrefix(greeting, "421 4.7.0 ") {
				t.Fatalf("second session: %q", greeting)
			}
			over.waitClosed()
			cl.send("QUIT\r\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, greeting := dialFrom(t, s, "127.0.0.2")
			if !strings.HasPrefix(greeting, "220 ") {
				t.Fatalf("greeting %q: the last session's count was not released", greeting)
			}
			cl.t = t
			tc.end(cl)
			cl.waitClosed()
			if n := s.Anvil.Count(anvil.NewClient("smtp", netip.MustParseAddr("127.0.0.2"), 64)); n != 0 {
				t.Errorf("count %d after the session ended", n)
			}
		})
	}
}

// smtpd_junk_command_limit: past the limit each NOOP, RSET, VRFY or
// HELO/EHLO counts as an error, and smtpd_hard_error_limit ends the
// session with Postfix's 421.
func TestJunkCommandLimit(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_junk_command_limit = 3\nsmtpd_hard_error_limit = 2\nsmtpd_error_sleep_time = 0\n", nil)
	cl := dial(t, s)
	// As in Postfix, the limit counts the junk commands before this one.
	cl.cmd("EHLO x", "250 ")  // EHLO: 0 before it
	cl.cmd("NOOP", "250 2.0") // NOOP: 1
	cl.cmd("RSET", "250 2.0") // RSET: 2
	cl.cmd("VRFY u", "252 ")  // VRFY: 3
	cl.cmd("NOOP", "250 2.0") // NOOP: 4, over the limit: error 1
	cl.cmd("NOOP", "250 2.0") // NOOP: error 2
	cl.expect("421 4.7.0 mx.example.test Error: too many errors")
	cl.waitClosed()
	if want := "too many errors after NOOP from unknown[127.0.0.1]"; !strings.Contains(s.Logged(), want) {
		t.Errorf("log lacks %q:\n%s", want, s.Logged())
	}
}

// smtpd_recipient_overshoot_limit: RCPTs past smtpd_recipient_limit get
// 452, and past the overshoot limit more each counts as an error, so a
// client cannot hold a session with RCPTs for ever; the count restarts
// with each transaction, as Postfix's rcpt_overshoot.
func TestRecipientOvershootLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\nsmtpd_recipient_limit = 1\nsmtpd_recipient_overshoot_limit = 2\n"+
		"smtpd_hard_error_limit = 2\nsmtpd_error_sleep_time = 0\n", nil)
	cl := dial(t, s)
	cl.cmd("EHLO x", "250 ")
	for tx := 0; tx < 2; tx++ { // overshoot RCPTs of the first transaction are not errors
		cl.cmd("MAIL FROM:<a@example.test>", "250 2.1.0")
		cl.cmd("RCPT TO:<r0@mx.example.test>", "250 2.1.5")
		cl.cmd("RCPT TO:<r1@mx.example.test>", "452 4.5.3 Error: too many recipients") // overshoot 1
		cl.cmd("RCPT TO:<r2@mx.example.test>", "452 4.5.3 Error: too many recipients") // overshoot 2
		if tx == 0 {
			cl.cmd("RSET", "250 2.0")
		}
	}
	cl.cmd("RCPT TO:<r3@mx.example.test>", "452 4.5.3 Error: too many recipients") // error 1
	cl.cmd("RCPT TO:<r4@mx.example.test>", "452 4.5.3 Error: too many recipients") // error 2
	cl.expect("421 4.7.0 mx.example.test Error: too many errors")
	cl.waitClosed()
	if want := "too many errors after RCPT from unknown[127.0.0.1]"; !strings.Contains(s.Logged(), want) {
		t.Errorf("log lacks %q:\n%s", want, s.Logged())
	}
}

// Under stress the ${stress?…} defaults apply: one junk command past
// the first is an error, and one error ends the session.
func TestStressDefaults(t *testing.T) {
	s := smtptest.NewServerWith(t, "smtpd_error_sleep_time = 0\n", smtptest.Options{Stress: true})
	if c := s.SMTP.Stress; c.Timeout != 10*time.Second || c.HardErrorLimit != 1 || c.JunkLimit != 1 {
		t.Errorf("stress: timeout %v, hard error limit %d, junk limit %d", c.Timeout, c.HardErrorLimit, c.JunkLimit)
	}
	if c := s.SMTP.Config; c.Timeout != 300*time.Second || c.HardErrorLimit != 20 || c.JunkLimit != 100 {
		t.Errorf("normal: timeout %v, hard error limit %d, junk limit %d", c.Timeout, c.HardErrorLimit, c.JunkLimit)
	}
	cl := dial(t, s)
	cl.cmd("EHLO x", "250 ")
	cl.cmd("NOOP", "250 2.0")
	cl.cmd("NOOP", "250 2.0")
	cl.expect("421 4.7.0 mx.example.test Error: too many errors")
	cl.waitClosed()
}

// paced writes p at rate bytes per second in pieces, keeping to a
// schedule set by the bytes written (a late piece is not waited for).
func paced(w io.Writer, p []byte, rate, piece int) error {
	start := time.Now()
	for sent := 0; sent < len(p); {
		n := min(piece, len(p)-sent)
		if _, err := w.Write(p[sent : sent+n]); err != nil {
			return err
		}
		sent += n
		due := start.Add(time.Duration(sent) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(due))
	}
	return nil
}

// A message sent steadily at 15 KB/s is not cut, however long it takes
// (here more than ten times smtpd_timeout, the old fixed limit), and one
// trickled below smtpd_min_data_rate is cut with Postfix's log line.
// smtpd_timeout is 2s (the content budget): a client or server stalled
// for longer by a loaded machine would be cut, so not 1s.
func TestDataRate(t *testing.T) {
	t.Parallel()
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\nsmtpd_timeout = 2s\n", nil)
	start := func(t *testing.T) *client {
		cl := dial(t, s)
		cl.cmd("EHLO x", "250 ")
		cl.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<c@mx.example.test>\r\nDATA\r\n") // ESMTP pipelining
		cl.expect("250 2.1.0")
		cl.expect("250 2.1.5")
		cl.expect("354 ")
		return cl
	}
	t.Run("steady", func(t *testing.T) {
		t.Parallel()
		cl := start(t)
		var msg strings.Builder
		msg.WriteString("Subject: slow\r\n\r\n")
		for msg.Len() < 345<<10 { // 23 s at 15 KB/s, 20 s was the limit
			msg.WriteString(strings.Repeat("z", 78) + "\r\n")
		}
		began := time.Now()
		errc := make(chan error, 1)
		cl.c.SetDeadline(time.Now().Add(60 * time.Second)) // the writer's too
		go func() { errc <- paced(cl.c, []byte(msg.String()+".\r\n"), 15<<10, 1024) }()
		if line, err := cl.br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 2.0.0 Ok: queued as ") {
			t.Fatalf("end of DATA: %q, %v\n%s", line, err, s.Logged())
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		t.Logf("%d bytes in %v", msg.Len(), time.Since(began).Round(time.Millisecond))
	})
	t.Run("trickle", func(t *testing.T) {
		t.Parallel()
		cl := start(t)
		// 250 bytes/s: each tenth of a second spends 0.1 s and earns
		// 0.05 s, so the 2 s budget lasts about 4 s.
		began := time.Now()
		go paced(cl.c, []byte("Subject: trickle\r\n\r\n"+strings.Repeat("t", 4000)), 250, 25)
		cl.c.SetDeadline(time.Now().Add(30 * time.Second))
		line, err := cl.br.ReadString('\n')
		if err != nil || line != "421 4.4.2 mx.example.test Error: timeout exceeded\r\n" {
			t.Fatalf("got %q, %v", line, err)
		}
		if d := time.Since(began); d < 3*time.Second {
			t.Errorf("cut after %v: before the budget ran out", d)
		}
		cl.waitClosed()
		if !strings.Contains(s.Logged(), "timeout after DATA (") || !strings.Contains(s.Logged(), " bytes) from unknown[127.0.0.1]") {
			t.Errorf("no DATA timeout log line:\n%s", s.Logged())
		}
	})
}

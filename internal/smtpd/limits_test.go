package smtpd_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *smtptest.Server) *client {
	c, err := net.Dial("tcp4", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	cl.expect("220 ")
	return cl
}

// expect reads one reply (the last line of a multi-line one) and checks
// its start.
func (cl *client) expect(prefix string) string {
	cl.t.Helper()
	cl.c.SetDeadline(time.Now().Add(20 * time.Second))
	for {
		l, err := cl.br.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("want %q: %v", prefix, err)
		}
		if len(l) > 3 && l[3] == '-' {
			continue
		}
		if !strings.HasPrefix(l, prefix) {
			cl.t.Fatalf("got %q, want %q", l, prefix)
		}
		return l
	}
}

func (cl *client) send(s string) { cl.c.Write([]byte(s)) }

// cmd sends one command and waits for its reply, as a client must
// outside ESMTP pipelining (smtpd_forbid_unauth_pipelining).
func (cl *client) cmd(line, prefix string) string {
	cl.t.Helper()
	cl.send(line + "\r\n")
	return cl.expect(prefix)
}

// An overlong command is refused and the session goes on in sync.
func TestOverlongCommand(t *testing.T) {
	s := smtptest.NewServer(t, "", nil)
	cl := dial(t, s)
	cl.send("HELO " + strings.Repeat("x", 5000) + "\r\nNOOP\r\n")
	cl.expect("500 5.5.2 Error: line too long")
	cl.expect("250 2.0.0 Ok")
}

// 10,000 recipients: the first smtpd_recipient_limit are taken, the rest
// get 452, and one message with 1,000 recipients is queued.
func TestTenThousandRecipients(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\nsmtpd_hard_error_limit = 100000\nsmtpd_recipient_overshoot_limit = 9000\n", nil)
	cl := dial(t, s)
	cl.send("EHLO client.example.test\r\n")
	cl.expect("250 ")
	var b strings.Builder
	b.WriteString("MAIL FROM:<a@example.test>\r\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "RCPT TO:<r%d@mx.example.test>\r\n", i)
	}
	go cl.send(b.String())
	cl.expect("250 2.1.0")
	for i := 0; i < 10000; i++ {
		if i < 1000 {
			cl.expect("250 2.1.5")
		} else {
			cl.expect("452 4.5.3 Error: too many recipients")
		}
	}
	cl.send("DATA\r\n")
	cl.expect("354 ")
	cl.send("Subject: many\r\n\r\nx\r\n.\r\n")
	cl.expect("250 2.0.0 Ok: queued as ")
	if m := s.Queue.Messages(); len(m) != 1 || len(m[0].Envelope.Recipients) != 1000 {
		t.Errorf("queued %d messages", len(m))
	}
}

// A message twice message_size_limit is read to its end, refused, and
// nothing is queued; the next transaction works.
func TestTwiceTheSizeLimit(t *testing.T) {
	const limit = 1 << 20
	s := smtptest.NewServer(t, fmt.Sprintf("mynetworks = 127.0.0.0/8\nmessage_size_limit = %d\n", limit), nil)
	cl := dial(t, s)
	cl.send("EHLO client.example.test\r\n")
	cl.expect("250 ")
	cl.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	cl.expect("354 ")
	line := strings.Repeat("y", 998) + "\r\n"
	go func() {
		for n := 0; n < 2*limit; n += len(line) {
			cl.send(line)
		}
		cl.send(".\r\nMAIL FROM:<a@example.test>\r\n")
	}()
	cl.expect("552 5.3.4 Error: message file too big")
	cl.expect("250 2.1.0 Ok")
	if n := len(s.Queue.Messages()); n != 0 {
		t.Errorf("%d messages queued", n)
	}
}

// NUL bytes in a command are refused.
func TestNULInCommand(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	cl := dial(t, s)
	cl.send("HELO x\r\n")
	cl.expect("250 ")
	cl.send("MAIL FROM:<a\x00b@example.test>\r\n")
	cl.expect("500 5.5.2 Error: bad syntax")
}

// A full queue file system: MAIL is refused with 452 4.3.1 while space is
// short, a message that runs out of space at the end of DATA gets the same
// temporary reply, nothing is queued, and the session goes on.
func TestInsufficientStorage(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	cl := dial(t, s)
	cl.send("EHLO client.example.test\r\n")
	cl.expect("250 ")
	s.Queue.SetFail(queue.ErrNoSpace)
	cl.send("MAIL FROM:<a@example.test>\r\n")
	cl.expect("452 4.3.1 Insufficient system storage")
	s.Queue.SetFail(nil)
	cl.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	cl.expect("354 ")
	s.Queue.SetFail(fmt.Errorf("write: %w", queue.ErrNoSpace))
	cl.send("Subject: x\r\n\r\nx\r\n.\r\n")
	cl.expect("452 4.3.1 Insufficient system storage")
	s.Queue.SetFail(nil)
	cl.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	cl.expect("354 ")
	cl.send("Subject: y\r\n\r\ny\r\n.\r\n")
	cl.expect("250 2.0.0 Ok: queued as ")
	if m := s.Queue.Messages(); len(m) != 1 {
		t.Errorf("%d messages queued, want 1", len(m))
	}
}

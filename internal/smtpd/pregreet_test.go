package smtpd_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/pipelining"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// pregreet connects, sends input before the server has greeted, and
// starts the session only once the input is in the server's socket (an
// event, not a delay), so the check at the greeting sees it every time.
func pregreet(t *testing.T, s *smtptest.Server, input string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	for end := time.Now().Add(10 * time.Second); pipelining.Pending(sc, buf) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the client's bytes never arrived")
		}
	}
	done := make(chan struct{})
	go func() { s.SMTP.ServeConn(context.Background(), sc); close(done) }()
	t.Cleanup(func() { c.Close(); <-done })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// Talk before the greeting: with smtpd_forbid_unauth_pipelining (the
// default) no 220 comes, only Postfix's 554, and the session ends.
func TestPregreetForbidden(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	_, br := pregreet(t, s, "EHLO client.example.test\r\n")
	if l, err := br.ReadString('\n'); l != "554 5.5.0 Error: SMTP protocol synchronization\r\n" {
		t.Fatalf("got %q, %v", l, err)
	}
	if l, err := br.ReadString('\n'); err != io.EOF {
		t.Fatalf("still open: %q, %v", l, err)
	}
	want := `improper command pipelining after CONNECT from unknown[127.0.0.1]: EHLO client.example.test\r\n`
	if !strings.Contains(s.Logged(), want) || !strings.Contains(s.Logged(), "commands=0/0") {
		t.Errorf("log lacks %q or commands=0/0:\n%s", want, s.Logged())
	}
}

// With smtpd_forbid_unauth_pipelining = no the client is greeted and
// served, but the violation is remembered: reject_unauth_pipelining
// refuses its DATA, as Postfix does.
func TestPregreetRemembered(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\nsmtpd_forbid_unauth_pipelining = no\n"+
		"smtpd_data_restrictions = reject_unauth_pipelining\n", nil)
	c, br := pregreet(t, s, "EHLO client.example.test\r\n")
	expect := func(prefix string) {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(l, prefix[:3]) {
				t.Fatalf("got %q, %v; want %q", l, err, prefix)
			}
			if l[3] == ' ' {
				if !strings.HasPrefix(l, prefix) {
					t.Fatalf("got %q, want %q", l, prefix)
				}
				return
			}
		}
	}
	expect("220 mx.example.test ESMTP")
	expect("250 CHUNKING")
	for _, step := range []struct{ cmd, reply string }{
		{"MAIL FROM:<a@example.test>", "250 2.1.0 Ok"},
		{"RCPT TO:<b@mx.example.test>", "250 2.1.5 Ok"},
		{"DATA", "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining"},
	} {
		io.WriteString(c, step.cmd+"\r\n")
		expect(step.reply)
	}
	if !strings.Contains(s.Logged(), "improper command pipelining after CONNECT from unknown[127.0.0.1]") {
		t.Errorf("log:\n%s", s.Logged())
	}
}

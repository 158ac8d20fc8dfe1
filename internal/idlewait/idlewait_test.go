package idlewait

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	server.SetDeadline(time.Now().Add(time.Minute))
	client.SetDeadline(time.Now().Add(time.Minute))
	return server, client
}

func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before runs before Wait, during while it waits.
		before, during func(t *testing.T, server, client net.Conn)
		wantWait       error
		wantRead       string // what a read after the wait returns
		wantReadErr    error
	}{
		{name: "input arrives while waiting",
			during:   func(t *testing.T, _, c net.Conn) { c.Write([]byte("EHLO x\r\n")) },
			wantRead: "EHLO x\r\n"},
		{name: "input already there",
			before:   func(t *testing.T, _, c net.Conn) { c.Write([]byte("QUIT\r\n")) },
			wantRead: "QUIT\r\n"},
		{name: "client hangs up",
			during:      func(t *testing.T, _, c net.Conn) { c.Close() },
			wantReadErr: io.EOF},
		{name: "client hung up before",
			before:      func(t *testing.T, _, c net.Conn) { c.Close() },
			wantReadErr: io.EOF},
		{name: "deadline already past",
			before:   func(t *testing.T, s, _ net.Conn) { s.SetReadDeadline(time.Unix(1, 0)) },
			wantWait: os.ErrDeadlineExceeded},
		{name: "deadline passes while waiting",
			before:   func(t *testing.T, s, _ net.Conn) { s.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) },
			wantWait: os.ErrDeadlineExceeded},
		{name: "closed by the server while waiting",
			during:   func(t *testing.T, s, _ net.Conn) { s.Close() },
			wantWait: net.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pair(t)
			w := New(s)
			if w == nil {
				t.Fatal("New(*net.TCPConn) = nil")
			}
			if tc.before != nil {
				tc.before(t, s, c)
			}
			done := make(chan error, 1)
			go func() { done <- w.Wait() }()
			if tc.during != nil {
				tc.during(t, s, c)
			}
			err := <-done
			if !errors.Is(err, tc.wantWait) || (err == nil) != (tc.wantWait == nil) {
				t.Fatalf("Wait = %v, want %v", err, tc.wantWait)
			}
			if tc.wantWait != nil {
				return
			}
			buf := make([]byte, 64)
			n, err := s.Read(buf)
			if string(buf[:n]) != tc.wantRead || !errors.Is(err, tc.wantReadErr) || (err == nil) != (tc.wantReadErr == nil) {
				t.Fatalf("read after Wait = %q, %v; want %q, %v", buf[:n], err, tc.wantRead, tc.wantReadErr)
			}
		})
	}
}

// A Waiter is used for one wait after another, as a session waits for
// each command.
func TestWaitAgain(t *testing.T) {
	s, c := pair(t)
	w := New(s)
	buf := make([]byte, 16)
	for _, cmd := range []string{"EHLO a\r\n", "MAIL\r\n", "QUIT\r\n"} {
		done := make(chan error, 1)
		go func() { done <- w.Wait() }()
		c.Write([]byte(cmd))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n, err := io.ReadFull(s, buf[:len(cmd)]); err != nil || string(buf[:n]) != cmd {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, cmd)
		}
	}
}

// Only the socket itself can be waited on: a wrapper may hold input
// that the socket no longer shows.
func TestNewRefusesWrappers(t *testing.T) {
	s, _ := pair(t)
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	for name, c := range map[string]net.Conn{
		"net.Pipe":  p1,
		"tls.Conn":  tls.Server(s, &tls.Config{}),
		"a wrapper": struct{ net.Conn }{s},
	} {
		if w := New(c); w != nil {
			t.Errorf("New(%s) = %v, want nil", name, w)
		}
	}
}

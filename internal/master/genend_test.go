package master

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingPolicyServer answers every request DUNNO and counts its open
// connections; each close is sent on closed.
type countingPolicyServer struct {
	addr   string
	mu     sync.Mutex
	open   int
	closed chan struct{}
}

func startCountingPolicyServer(t *testing.T) *countingPolicyServer {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &countingPolicyServer{addr: l.Addr().String(), closed: make(chan struct{}, 100)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open++
			s.mu.Unlock()
			go func() {
				defer func() {
					c.Close()
					s.mu.Lock()
					s.open--
					s.mu.Unlock()
					s.closed <- struct{}{}
				}()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\n" {
						io.WriteString(c, "action=DUNNO\n\n")
					}
				}
			}()
		}
	}()
	return s
}

func (s *countingPolicyServer) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// waitClosed waits for the server to see a connection closed.
func (s *countingPolicyServer) waitClosed(t *testing.T, why string) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(30 * time.Second): // a loaded machine, -race
		t.Fatalf("%s: no policy connection was closed (%d open)", why, s.Open())
	}
}

// smtpClient is one SMTP session with the daemon.
type smtpClient struct {
	c net.Conn
	r *bufio.Reader
}

func dialSMTP(t *testing.T, port int) *smtpClient {
	t.Helper()
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	s := &smtpClient{c: c, r: bufio.NewReader(c)}
	s.expect(t, "", "220 ")
	return s
}

// expect sends cmd (unless empty) and reads a reply starting with want.
func (s *smtpClient) expect(t *testing.T, cmd, want string) {
	t.Helper()
	if cmd != "" {
		fmt.Fprintf(s.c, "%s\r\n", cmd)
	}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		if !strings.HasPrefix(line, want) {
			t.Fatalf("%s: %q, want %q", cmd, line, want)
		}
		return
	}
}

// transaction asks the policy service once (at RCPT).
func (s *smtpClient) transaction(t *testing.T) {
	t.Helper()
	s.expect(t, "EHLO client.example", "250")
	s.expect(t, "MAIL FROM:<a@client.example>", "250")
	s.expect(t, "RCPT TO:<b@example.net>", "250")
	s.expect(t, "RSET", "250")
}

func (s *smtpClient) quit(t *testing.T) {
	t.Helper()
	s.expect(t, "QUIT", "221")
	s.c.Close()
}

// After each reload, the replaced generation's policy service pool is
// closed once its sessions are done: a session still open keeps its
// generation's connection; after N reloads only the current
// generation's connection is left.
func TestReloadClosesOldPolicyPools(t *testing.T) {
	pol := startCountingPolicyServer(t)
	td := startDaemon(t, t.TempDir(), fmt.Sprintf("mynetworks = 127.0.0.0/8\nsmtpd_recipient_restrictions = check_policy_service inet:%s, permit_mynetworks, reject\n", pol.addr))
	d, port := td.Daemon, td.port
	reload := func() {
		t.Helper()
		if err := d.Reload(context.Background()); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}

	// A session that spans a reload keeps its generation's connection
	// until it ends.
	held := dialSMTP(t, port)
	held.transaction(t)
	reload()
	s := dialSMTP(t, port)
	s.transaction(t)
	s.quit(t)
	if n := pol.Open(); n != 2 {
		t.Fatalf("%d policy connections open, want 2 (the held session's generation has not ended)", n)
	}
	held.transaction(t) // its generation's pool still serves it
	held.quit(t)
	pol.waitClosed(t, "the held session's generation ended")

	// N reloads with a session between each: one connection stays.
	const n = 5
	for i := 0; i < n; i++ {
		reload()
		pol.waitClosed(t, fmt.Sprintf("reload %d", i+1))
		s := dialSMTP(t, port)
		s.transaction(t)
		s.quit(t)
	}
	if n := pol.Open(); n != 1 {
		t.Fatalf("%d policy connections open after %d reloads, want 1", n, 5)
	}
}

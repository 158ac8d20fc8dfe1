package dovecot

import (
	"bufio"
	"encoding/base64"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// stdHandshake is what Dovecot 2.3 sends on its auth client socket.
const stdHandshake = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n" +
	"MECH\tCRAM-MD5\tdictionary\tactive\nSPID\t42\nCUID\t7\nCOOKIE\t0123abcd\nDONE\n"

// fake is a Dovecot auth server on a unix socket in a temp dir; each
// connection runs serve.
type fake struct {
	path  string
	ln    net.Listener
	mu    sync.Mutex
	lines []string // every line received, on every connection
	conns int
}

type fconn struct {
	f  *fake
	nc net.Conn
	r  *bufio.Reader
}

func newFake(t *testing.T, serve func(fc *fconn)) *fake {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{path: path, ln: ln}
	var wg sync.WaitGroup
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				stop := make(chan struct{})
				defer close(stop)
				go func() { // unblock serve when the test ends
					select {
					case <-stop:
					case <-quit:
						nc.Close()
					}
				}()
				serve(&fconn{f: f, nc: nc, r: bufio.NewReader(nc)})
			}()
		}
	}()
	return f
}

func (f *fake) client() *Client { return New("unix", f.path, "smtp") }

func (f *fake) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func (f *fake) connCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// readLine returns the next line from the client ("" and false at EOF).
func (fc *fconn) readLine() (string, bool) {
	s, err := fc.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	s = strings.TrimSuffix(s, "\n")
	fc.f.mu.Lock()
	fc.f.lines = append(fc.f.lines, s)
	fc.f.mu.Unlock()
	return s, true
}

func (fc *fconn) send(s string) { fc.nc.Write([]byte(s)) }

// handshake sends hs and reads the client's VERSION and CPID.
func (fc *fconn) handshake(hs string) bool {
	fc.send(hs)
	for range 2 {
		if _, ok := fc.readLine(); !ok {
			return false
		}
	}
	return true
}

// users is the fake's password table.
var users = map[string]string{"alice@v.test": "secret", "bob@v.test": "hunter2"}

// authServer answers like Dovecot with users: PLAIN and LOGIN, replies
// in the order requests complete.
func authServer(fc *fconn) {
	if !fc.handshake(stdHandshake) {
		return
	}
	login := map[string][]string{} // id → LOGIN answers so far
	for {
		s, ok := fc.readLine()
		if !ok {
			return
		}
		f := strings.Split(s, "\t")
		switch {
		case f[0] == "AUTH" && f[2] == "PLAIN":
			resp := ""
			for _, a := range f[3:] {
				if v, ok := strings.CutPrefix(a, "resp="); ok {
					resp = v
				}
			}
			b, _ := base64.StdEncoding.DecodeString(resp)
			p := strings.Split(string(b), "\x00")
			if len(p) == 3 && users[p[1]] == p[2] && p[2] != "" {
				fc.send("OK\t" + f[1] + "\tuser=" + escape(p[1]) + "\n")
			} else {
				fc.send("FAIL\t" + f[1] + "\n")
			}
		case f[0] == "AUTH" && f[2] == "LOGIN":
			login[f[1]] = nil
			fc.send("CONT\t" + f[1] + "\tVXNlcm5hbWU6\n")
		case f[0] == "CONT" && len(f) == 3:
			b, _ := base64.StdEncoding.DecodeString(f[2])
			login[f[1]] = append(login[f[1]], string(b))
			if a := login[f[1]]; len(a) == 1 {
				fc.send("CONT\t" + f[1] + "\tUGFzc3dvcmQ6\n")
			} else if users[a[0]] == a[1] {
				fc.send("OK\t" + f[1] + "\tuser=" + escape(a[0]) + "\n")
			} else {
				fc.send("FAIL\t" + f[1] + "\tuser=" + escape(a[0]) + "\n")
			}
		}
	}
}

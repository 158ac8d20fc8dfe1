package smtp

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a scripted SMTP server on loopback. Its hooks decide the
// replies; it records what it was told.
type testServer struct {
	t        *testing.T
	ln       net.Listener
	addr     netip.AddrPort
	name     string   // greeting and EHLO name
	greeting string   // "220 …" by default
	ext      []string // EHLO keywords
	tls      *tls.Config
	users    map[string]string // AUTH offered (PLAIN LOGIN) when set
	mechs    string            // AUTH mechanisms offered, "PLAIN LOGIN" by default
	needAuth bool
	mail     func(args string) string
	rcpt     func(addr string) string
	data     func() string // reply after the content, "" to hang up
	delay    map[string]time.Duration
	hangup   string // close the connection on this command
	ehlo     string // a reply refusing EHLO

	mu       sync.Mutex
	live     []net.Conn
	conns    int
	quits    int
	cmds     []string
	msgs     []testMessage
	sessions []sessionInfo
}

type testMessage struct {
	mail  string
	rcpts []string
	body  string
	tls   bool
	user  string
	// pipelined: MAIL, the RCPTs and DATA were all sent before the first
	// reply was asked for.
	pipelined bool
}

type sessionInfo struct {
	remote netip.Addr
	sni    string
}

func newTestServer(t *testing.T, ip string) *testServer {
	t.Helper()
	return listenTestServer(t, ip+":0")
}

func listenTestServer(t *testing.T, hostport string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, ln: ln, addr: netip.MustParseAddrPort(ln.Addr().String()), name: "mx.test",
		ext: []string{"PIPELINING", "SIZE 10240000", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES"}}
	t.Cleanup(func() { ln.Close() })
	return s
}

// start begins serving; call after setting the hooks.
func (s *testServer) start() *testServer {
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *testServer) port() int { return int(s.addr.Port()) }

func (s *testServer) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *testServer) messages() []testMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]testMessage(nil), s.msgs...)
}

func (s *testServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

func (s *testServer) sessionInfos() []sessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sessionInfo(nil), s.sessions...)
}

// dropAll closes every connection accepted so far.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.live {
		c.Close()
	}
}

func (s *testServer) counts() (conns, quits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.quits
}

func (s *testServer) serve(c net.Conn) {
	defer c.Close()
	info := sessionInfo{remote: netip.MustParseAddrPort(c.RemoteAddr().String()).Addr()}
	s.record(func() { s.conns++; s.live = append(s.live, c) })
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(lines ...string) {
		for _, l := range lines {
			bw.WriteString(l + "\r\n")
		}
		bw.Flush()
	}
	greeting := s.greeting
	if greeting == "" {
		greeting = "220 " + s.name + " ESMTP test"
	}
	say(greeting)
	if !strings.HasPrefix(greeting, "2") {
		br.ReadString('\n') // let the client say QUIT, or not
		return
	}
	var msg *testMessage
	inTLS, user := false, ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.record(func() { s.cmds = append(s.cmds, line) })
		if d := s.delay[verb]; d > 0 {
			time.Sleep(d)
		}
		if s.hangup == verb {
			bw.Flush()
			return
		}
		switch verb {
		case "EHLO":
			if s.ehlo != "" {
				say(s.ehlo)
				continue
			}
			lines := []string{s.name}
			lines = append(lines, s.ext...)
			if s.tls != nil && !inTLS {
				lines = append(lines, "STARTTLS")
			}
			if s.users != nil {
				mechs := s.mechs
				if mechs == "" {
					mechs = "PLAIN LOGIN"
				}
				lines = append(lines, "AUTH "+mechs)
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				lines[i] = "250" + sep + l
			}
			say(lines...)
		case "HELO":
			say("250 " + s.name)
		case "STARTTLS":
			if s.tls == nil {
				say("454 4.7.0 TLS not available")
				continue
			}
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			info.sni = tc.ConnectionState().ServerName
			c, inTLS = tc, true
			br, bw = bufio.NewReader(tc), bufio.NewWriter(tc)
		case "AUTH":
			u, ok := s.auth(arg, br, say)
			if !ok {
				say("535 5.7.8 Error: authentication failed: bad password")
				continue
			}
			user = u
			say("235 2.7.0 Authentication successful")
		case "MAIL":
			if s.needAuth && user == "" {
				say("530 5.7.0 Authentication required")
				continue
			}
			reply := "250 2.1.0 Ok"
			if s.mail != nil {
				reply = s.mail(arg)
			}
			if strings.HasPrefix(reply, "2") {
				msg = &testMessage{mail: arg, tls: inTLS, user: user, pipelined: br.Buffered() > 0}
			}
			s.reply(bw, br, reply)
		case "RCPT":
			reply := "250 2.1.5 Ok"
			if s.rcpt != nil {
				reply = s.rcpt(strings.TrimPrefix(arg, "TO:"))
			}
			if msg != nil && strings.HasPrefix(reply, "2") {
				msg.rcpts = append(msg.rcpts, arg)
			}
			s.reply(bw, br, reply)
		case "DATA":
			if msg == nil || len(msg.rcpts) == 0 {
				say("554 5.5.1 Error: no valid recipients")
				continue
			}
			say("354 End data with <CR><LF>.<CR><LF>")
			var body strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(strings.TrimPrefix(l, "."))
			}
			msg.body = body.String()
			reply := "250 2.0.0 Ok: queued as TESTID"
			if s.data != nil {
				reply = s.data()
			}
			if reply == "" {
				return
			}
			m := *msg
			msg = nil
			s.record(func() {
				s.msgs = append(s.msgs, m)
				s.sessions = append(s.sessions, info)
			})
			say(reply)
		case "RSET":
			msg = nil
			say("250 2.0.0 Ok")
		case "NOOP":
			say("250 2.0.0 Ok")
		case "QUIT":
			s.record(func() { s.quits++ })
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}

// reply answers a command; pipelined commands get their replies only
// after all were read, as a real server's would.
func (s *testServer) reply(bw *bufio.Writer, br *bufio.Reader, r string) {
	bw.WriteString(r + "\r\n")
	if br.Buffered() == 0 {
		bw.Flush()
	}
}

// auth runs AUTH PLAIN or LOGIN and returns the user.
func (s *testServer) auth(arg string, br *bufio.Reader, say func(...string)) (string, bool) {
	mech, ir, _ := strings.Cut(arg, " ")
	next := func(prompt string) string {
		say("334 " + prompt)
		l, _ := br.ReadString('\n')
		return strings.TrimRight(l, "\r\n")
	}
	dec := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		return string(b)
	}
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if ir == "" {
			ir = next("")
		}
		parts := strings.Split(dec(ir), "\x00")
		if len(parts) != 3 {
			return "", false
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		user = dec(next(base64.StdEncoding.EncodeToString([]byte("Username:"))))
		pass = dec(next(base64.StdEncoding.EncodeToString([]byte("Password:"))))
	default:
		return "", false
	}
	want, ok := s.users[user]
	return user, ok && want == pass
}

func (s *testServer) String() string { return fmt.Sprintf("test server %s", s.addr) }

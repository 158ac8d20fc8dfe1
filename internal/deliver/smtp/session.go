package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// session is one SMTP connection, fresh or taken from the cache.
type session struct {
	srv    server
	w      *wire
	br     *bufio.Reader
	bw     *bufio.Writer
	ext    features
	tls    *tls.ConnectionState // nil on a plaintext session
	tlsOK  bool                 // the certificate was verified and matched
	born   time.Time
	reuses int  // messages sent after the first
	bestMX bool // the server has the destination's best MX preference
	broken bool // an I/O error or a protocol muddle: never reuse
}

// features are what the server's EHLO reply offers.
type features struct {
	esmtp      bool
	pipelining bool
	eightBit   bool
	dsn        bool
	smtputf8   bool
	startTLS   bool
	sizeOK     bool  // SIZE was offered
	size       int64 // its limit; 0: none announced
	auth       bool
	mechs      []string // AUTH mechanisms, upper case
}

// dial connects to the server, from the source address Postfix would
// choose (smtp_connect_addr).
func (a *Agent) dial(ctx context.Context, srv server) (*session, *failure) {
	d := *a.cfg.Dialer
	d.Timeout = max(0, a.cfg.Timeouts.Connect)
	if srv.path != "" {
		return a.dialUnix(ctx, &d, srv)
	}
	target := netip.AddrPortFrom(srv.addr, uint16(srv.port)).String()
	local := a.sourceAddr(srv.addr)
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil && local.IsValid() && isBindError(err) {
		a.logf("warning: smtp_connect_addr: bind %s: %s", local, errnoText(err))
		if a.cfg.BindAddressEnforce && (local == a.cfg.BindAddress4 || local == a.cfg.BindAddress6) {
			return nil, fail("4.4.0", "server configuration error")
		}
		d.LocalAddr = nil
		c, err = d.DialContext(ctx, "tcp", target)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail("4.3.0", "delivery interrupted: %v", context.Cause(ctx))
		}
		return nil, fail("4.4.1", "connect to %s: %s", srv.namaddrport(), errnoText(err))
	}
	return a.newSession(c, srv), nil
}

// dialUnix connects to an LMTP server's unix-domain socket, a relative
// path taken from SocketDir (Postfix runs in queue_directory).
func (a *Agent) dialUnix(ctx context.Context, d *net.Dialer, srv server) (*session, *failure) {
	p := srv.path
	if !filepath.IsAbs(p) && a.cfg.SocketDir != "" {
		p = filepath.Join(a.cfg.SocketDir, p)
	}
	c, err := d.DialContext(ctx, "unix", p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail("4.3.0", "delivery interrupted: %v", context.Cause(ctx))
		}
		return nil, fail("4.4.1", "connect to %s: %s", srv.namaddr(), errnoText(err))
	}
	return a.newSession(c, srv), nil
}

// writeBuffer is a session's output buffer: a message of up to about
// 16 KiB (most of them) leaves in one write, not one per 4 KiB.
const writeBuffer = 16 << 10

func (a *Agent) newSession(c net.Conn, srv server) *session {
	w := &wire{Conn: c, timeout: a.cfg.Timeouts.Helo}
	s := &session{srv: srv, w: w, born: time.Now()}
	s.br = bufio.NewReaderSize(w, 4096)
	s.bw = bufio.NewWriterSize(w, writeBuffer)
	return s
}

func isBindError(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "bind"
}

// sourceAddr is smtp_bind_address(6) for the destination's family, else
// the single non-loopback inet_interfaces address of that family.
func (a *Agent) sourceAddr(dst netip.Addr) netip.Addr {
	want4 := dst.Is4()
	if want4 && a.cfg.BindAddress4.IsValid() {
		return a.cfg.BindAddress4
	}
	if !want4 && a.cfg.BindAddress6.IsValid() {
		return a.cfg.BindAddress6
	}
	var own netip.Addr
	n := 0
	for _, ad := range a.cfg.OwnAddrs {
		if ad = ad.Unmap(); ad.Is4() == want4 {
			own = ad
			n++
		}
	}
	if n == 1 && !own.IsLoopback() {
		return own
	}
	return netip.Addr{}
}

// send buffers one command line.
func (s *session) send(line string) {
	s.bw.WriteString(line)
	s.bw.WriteString("\r\n")
}

// read flushes what is buffered and reads the next reply, every read and
// write limited by timeout.
func (s *session) read(timeout time.Duration) (reply, error) {
	s.w.setTimeout(timeout)
	if err := s.bw.Flush(); err != nil {
		s.broken = true
		return reply{}, err
	}
	r, err := readReply(s.br)
	if err != nil {
		s.broken = true
	}
	return r, err
}

// command sends one command and reads its reply.
func (s *session) command(line string, timeout time.Duration) (reply, error) {
	s.send(line)
	return s.read(timeout)
}

// quit ends the session politely without waiting for the reply
// (smtp_skip_quit_response), and closes it.
func (s *session) quit(timeout time.Duration) {
	if !s.broken && !s.w.isAborted() {
		s.w.setTimeout(timeout)
		s.send("QUIT")
		_ = s.bw.Flush()
	}
	s.close()
}

func (s *session) close() { _ = s.w.Conn.Close() }

// parseEHLO reads the EHLO reply's keywords, as smtp_helo does. It
// returns the server's name from the first line.
func parseEHLO(r reply) (name string, f features) {
	f.esmtp = true
	for i, line := range r.lines {
		fields := strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == '\t' || c == '=' })
		if len(fields) == 0 {
			continue
		}
		if i == 0 {
			name = fields[0]
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "8BITMIME":
			f.eightBit = true
		case "PIPELINING":
			f.pipelining = true
		case "SIZE":
			f.sizeOK = true
			if len(fields) > 1 {
				if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil && n > 0 {
					f.size = n
				}
			}
		case "STARTTLS":
			f.startTLS = true
		case "DSN":
			f.dsn = true
		case "SMTPUTF8":
			f.smtputf8 = true
		case "AUTH":
			f.auth = true
			for _, m := range fields[1:] {
				m = strings.ToUpper(m)
				if !containsFold(f.mechs, m) {
					f.mechs = append(f.mechs, m)
				}
			}
		}
	}
	if f.smtputf8 {
		// Postfix: SMTPUTF8 without 8BITMIME is taken to mean both.
		f.eightBit = true
	}
	return name, f
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// handshake reads the greeting and says EHLO (or HELO), then starts TLS
// and authenticates as configured: smtp_helo. plain skips STARTTLS.
func (a *Agent) handshake(ctx context.Context, at *attempt, s *session, d destination, plain bool) *failure {
	t := a.cfg.Timeouts
	r, err := s.read(t.Helo)
	if err != nil {
		return streamFailure(ctx, s, err, "receiving the initial server greeting")
	}
	if r.code/100 != 2 {
		f := remoteFailure(s, r, "host %s refused to talk to me: %s", s.srv.namaddr(), r.text)
		if r.code/100 == 5 { // smtp_skip_5xx_greeting: try the next server
			f.dsn = "4" + f.dsn[1:]
		}
		return f
	}
	if f := a.hello(ctx, s, d, false); f != nil {
		return f
	}
	level := a.cfg.TLSLevel
	if plain {
		level = TLSNone
	}
	if s.srv.path != "" && level == TLSMay {
		a.logf("warning: smtp_connect_local: opportunistic TLS encryption is not appropriate for unix-domain destinations.")
		level = TLSNone
	}
	if level >= TLSMay && s.ext.startTLS {
		if f := a.startTLS(ctx, at, s, d, level); f != nil {
			return f
		}
	}
	if level >= TLSEncrypt && s.tls == nil {
		return localFailure(s, "4.7.4", "TLS is required, but was not offered by host %s", s.srv.namaddr())
	}
	if a.cfg.SASLEnable && s.ext.auth {
		return a.authenticate(ctx, s, d)
	}
	return nil
}

// hello says EHLO, or HELO when EHLO is refused (or never to be sent),
// and checks that the server is not this host.
func (a *Agent) hello(ctx context.Context, s *session, d destination, afterTLS bool) *failure {
	t := a.cfg.Timeouts
	s.ext = features{}
	if a.cfg.LMTP {
		r, err := s.command("LHLO "+a.cfg.HeloName, t.Helo)
		if err != nil {
			return streamFailure(ctx, s, err, "performing the LHLO handshake")
		}
		if r.code/100 != 2 {
			return remoteFailure(s, r, "host %s refused to talk to me: %s", s.srv.namaddr(), r.text)
		}
		_, s.ext = parseEHLO(r)
		return nil
	}
	if !a.cfg.NeverSendEHLO || afterTLS {
		r, err := s.command("EHLO "+a.cfg.HeloName, t.Helo)
		if err != nil {
			return streamFailure(ctx, s, err, "performing the EHLO handshake")
		}
		switch {
		case r.code/100 == 2:
			var name string
			name, s.ext = parseEHLO(r)
			if d.port == 25 && a.cfg.MyHostname != "" && strings.EqualFold(name, a.cfg.MyHostname) {
				a.logf("warning: host %s replied to HELO/EHLO with my own hostname %s", s.srv.namaddrport(), a.cfg.MyHostname)
				dsn := "4.4.6"
				if s.bestMX {
					dsn = "5.4.6"
				}
				f := localFailure(s, dsn, "mail for %s loops back to myself", d.site)
				f.loop = dsn[0] == '5'
				return f
			}
			return nil
		case r.code == 421:
			return remoteFailure(s, r, "host %s refused to talk to me: %s", s.srv.namaddr(), r.text)
		}
	}
	r, err := s.command("HELO "+a.cfg.HeloName, t.Helo)
	if err != nil {
		return streamFailure(ctx, s, err, "performing the HELO handshake")
	}
	if r.code/100 != 2 {
		return remoteFailure(s, r, "host %s refused to talk to me: %s", s.srv.namaddr(), r.text)
	}
	return nil
}

func (a *Agent) logf(format string, args ...any) {
	if a.cfg.Log != nil {
		a.cfg.Log.Info(fmt.Sprintf(format, args...))
	}
}

// connUse is Postfix's conn_use: the message's place on a reused
// connection (2 for the first reuse), 0 on a new one.
func (s *session) connUse() int {
	if s.reuses == 0 {
		return 0
	}
	return s.reuses + 1
}

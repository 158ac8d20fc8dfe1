package postscreen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
)

// Screen runs a postscreen service's tests.
type Screen struct {
	Config *Config
	// StressConfig is Config read with stress = yes (a shorter
	// postscreen_greet_wait), for connections accepted under stress;
	// nil: Config.
	StressConfig *Config
	// MyNetworks reports whether a client matches $mynetworks
	// (permit_mynetworks in postscreen_access_list).
	MyNetworks func(netip.Addr) bool
	// Resolver makes the DNSBL lookups (nil: net.DefaultResolver).
	Resolver *net.Resolver
	Now      func() time.Time // nil: time.Now
	// TLS is the configuration for STARTTLS in the dummy SMTP engine
	// (the pass service's smtpd's); nil offers none. TLSRequired: the
	// engine answers 530 to mail commands before STARTTLS (encrypt).
	TLS         func() *tls.Config
	TLSRequired bool
	tables      map[string]maps.Table
	filters     map[string]maps.Table // postscreen_command_filter
	conns       *conns                // the connections in hand (limits.go); set by Open
	// PostQueue reports how many clients that passed wait for a slot
	// of the pass service's smtpd (Postfix's post queue); nil: none.
	PostQueue func() int
}

// Open opens the access list's tables; a table that cannot be opened
// is an error, so the service never runs with part of its list.
func (s *Screen) Open() error {
	s.conns = newConns()
	s.tables = map[string]maps.Table{}
	for _, e := range s.Config.AccessList {
		if strings.EqualFold(e, "permit_mynetworks") {
			continue
		}
		if !strings.Contains(e, ":") {
			return fmt.Errorf("postscreen_access_list: %q is neither permit_mynetworks nor a type:table", e)
		}
		t, err := maps.Open(e)
		if err != nil {
			return fmt.Errorf("postscreen_access_list: %w", err)
		}
		s.tables[e] = t
	}
	s.filters = map[string]maps.Table{}
	if f := s.Config.Engine.CommandFilter; f != "" {
		t, err := maps.Open(f)
		if err != nil {
			return fmt.Errorf("postscreen_command_filter: %w", err)
		}
		s.filters[f] = t
	}
	return nil
}

// passed reports whether r lets the client skip the tests at now: every
// enabled test's pass is still valid.
func (s *Screen) passed(r Record, now time.Time) bool {
	todo, _ := s.todo(r, now)
	return todo == 0
}

// record is the cache record of a client that passed every enabled test
// at now.
func (s *Screen) record(now time.Time) Record {
	var r Record
	enabled := s.enabled()
	for t := tPregreet; t <= tBareNewline; t <<= 1 {
		if enabled&t != 0 {
			*stamp(&r, t) = now.Add(s.ttl(t))
		}
	}
	return r
}

func (s *Screen) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// session is one connection's screening.
type session struct {
	*Screen
	Cache *Cache
	Log   *slog.Logger
	busy  Busy // nil: not counted
}

// Busy counts the part of a check that opens descriptors, its DNSBL
// and DNSWL lookups (the daemon's smtpd.Busy, its file descriptor
// budget): not the greet wait nor the dummy engine, which the client
// drives and which open nothing. Begin waits for room until deadline
// and reports whether it got it; every Begin that did is followed by
// one End.
type Busy interface {
	Begin(deadline time.Time) bool
	End()
}

// access is the access list's verdict: 1 permit, -1 reject, 0 neither.
func (s *session) access(addr netip.Addr) int {
	for _, e := range s.Config.AccessList {
		if strings.EqualFold(e, "permit_mynetworks") {
			if s.MyNetworks != nil && s.MyNetworks(addr) {
				return 1
			}
			continue
		}
		t := s.tables[e]
		if t == nil {
			continue
		}
		v, ok, err := maps.LookupAddr(t, addr.String())
		if err != nil {
			// Postfix: a table that cannot answer neither permits nor rejects.
			s.Log.Warn(fmt.Sprintf("postscreen_access_list: %s: %v", t.Name(), err))
			continue
		}
		if !ok {
			continue
		}
		switch f := strings.ToLower(strings.Fields(v + " dunno")[0]); f {
		case "permit":
			return 1
		case "reject":
			return -1
		case "dunno":
		default:
			s.Log.Warn(fmt.Sprintf("postscreen_access_list: %s: unknown result %q for %s: ignored", t.Name(), v, addr))
		}
	}
	return 0
}

// Check screens c, with cache the temporary allowlist and log the
// postscreen program's logger. It returns the connection to hand to
// smtpd, or nil when the client was refused (and c closed). stress
// selects StressConfig.
func (scr *Screen) Check(c net.Conn, cache *Cache, log *slog.Logger, stress bool) net.Conn {
	return scr.CheckBusy(c, cache, log, stress, nil)
}

// CheckBusy is Check with its DNSBL lookups counted in busy.
func (scr *Screen) CheckBusy(c net.Conn, cache *Cache, log *slog.Logger, stress bool, busy Busy) net.Conn {
	s := &session{Screen: scr, Cache: cache, Log: log, busy: busy}
	if stress && scr.StressConfig != nil {
		own := *scr
		own.Config = scr.StressConfig
		s.Screen = &own
	}
	client := addrPort(c.RemoteAddr())
	s.Log.Info(fmt.Sprintf("CONNECT from %s to %s", bracket(client), bracket(addrPort(c.LocalAddr()))))
	// Postfix checks this first: clients that passed wait for smtpd.
	if s.Config.PostQueueLimit > 0 && scr.PostQueue != nil && scr.PostQueue() >= s.Config.PostQueueLimit {
		scr.RejectBusy(c, s.Log)
		return nil
	}
	var screening int // connections in hand, this one included
	if scr.conns != nil {
		var n int
		n, screening = scr.conns.enter(client.Addr())
		defer scr.conns.leave(client.Addr())
		// Postfix checks this before the access list: it holds for
		// allowlisted clients too.
		if s.Config.ConnLimit > 0 && n > s.Config.ConnLimit {
			s.Log.Info(fmt.Sprintf("NOQUEUE: reject: CONNECT from %s: too many connections", bracket(client)))
			s.drop(c, client, "421 4.7.0 Error: too many connections")
			return nil
		}
	}
	enforce := "" // the 550 reply of an enforced failure
	switch s.access(client.Addr()) {
	case 1:
		s.Log.Info("ALLOWLISTED " + bracket(client))
		return c
	case -1:
		s.Log.Info("DENYLISTED " + bracket(client))
		switch s.Config.BlacklistAction {
		case Drop:
			s.drop(c, client, "521 5.3.2 Service currently unavailable")
			return nil
		case Enforce:
			enforce = "550 5.3.2 Service currently unavailable"
		}
	}
	t := &tally{denied: enforce != ""}
	now := s.now()
	if enforce == "" {
		r, _ := s.Cache.Get(client.Addr())
		if t.todo, t.fresh = s.todo(r, now); t.todo == 0 {
			s.Log.Info("PASS OLD " + bracket(client))
			return c
		}
		t.rec = r
	} else {
		t.todo, t.fresh = s.todo(Record{}, now)
	}
	// Clients on neither allowlist wait for the tests: no more than
	// postscreen_pre_queue_limit at a time (Postfix counts this one).
	if s.Config.PreQueueLimit > 0 && screening >= s.Config.PreQueueLimit {
		s.Log.Info(fmt.Sprintf("reject: connect from %s: all screening ports busy", bracket(client)))
		s.drop(c, client, "421 4.3.2 All screening ports are busy")
		return nil
	}
	var dnsbl chan rank
	if t.todo&tDNSBL != 0 {
		dnsbl = make(chan rank, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.Config.DNSBLTimeout)
			defer cancel()
			if s.busy != nil {
				if dl, _ := ctx.Deadline(); !s.busy.Begin(dl) {
					s.Log.Warn(fmt.Sprintf("dnsblog_query: %s not looked up: no busy session slot free within postscreen_dnsbl_timeout (the file descriptor budget)", bracket(client)))
					dnsbl <- rank{}
					return
				}
				defer s.busy.End()
			}
			n, site := s.score(ctx, client.Addr())
			dnsbl <- rank{n, site}
		}()
	}
	// A trusted DNSBL score (postscreen_dnsbl_allowlist_threshold) ends
	// the pregreet wait when it arrives during it: both run at once.
	var early <-chan rank
	if dnsbl != nil && s.Config.DNSBLAllowlist < 0 && enforce == "" {
		early = dnsbl
	}
	var r rank
	haveRank := false
	var pre *replayConn
	pregreeted := false
	if t.todo&tPregreet != 0 {
		if pre, pregreeted, r, haveRank = s.pregreet(c, client, early); pre == nil {
			return nil
		}
		if !pregreeted {
			t.passTest(tPregreet, s.now().Add(s.Config.GreetTTL))
		}
	} else {
		pre = &replayConn{Conn: c}
	}
	if dnsbl != nil && !haveRank {
		r = <-dnsbl
	}
	if early != nil && !pregreeted && r.score <= s.Config.DNSBLAllowlist {
		// Postfix's psc_whitelist_non_dnsbl: every other test counts
		// as passed until the DNSBL pass expires.
		until := s.now().Add(s.Config.DNSBLTTL)
		for test := tPregreet; test <= tBareNewline; test <<= 1 {
			if t.todo&test != 0 {
				t.passTest(test, maxTime(*stamp(&t.rec, test), until))
			}
		}
		return s.afterEarly(pre, client, t, "", false)
	}
	if dnsbl != nil {
		if r.score >= s.Config.DNSBLThreshold {
			s.Log.Info(fmt.Sprintf("DNSBL rank %d for %s", r.score, bracket(client)))
			reply := fmt.Sprintf("5.7.1 Service unavailable; client [%s] blocked using %s", client.Addr(), r.site)
			switch s.Config.DNSBLAction {
			case Drop:
				if !pregreeted || s.Config.GreetAction != Drop {
					s.drop(c, client, "521 "+reply)
					return nil
				}
			case Enforce:
				if enforce == "" {
					enforce = "550 " + reply
				}
				t.failTest(tDNSBL)
			}
		} else {
			t.passTest(tDNSBL, s.now().Add(s.Config.DNSBLTTL))
		}
	}
	if pregreeted {
		switch s.Config.GreetAction {
		case Drop:
			s.drop(c, client, "521 5.5.1 Protocol error")
			return nil
		case Enforce:
			if enforce == "" {
				enforce = "550 5.5.1 Protocol error"
			}
			t.failTest(tPregreet)
		}
	}
	// Postfix sends no 220 greeting to a client whose pregreeting
	// counts against it: its commands are in already.
	return s.afterEarly(pre, client, t, enforce, pregreeted && s.Config.GreetAction == Enforce)
}

// RejectBusy answers a client that smtpd cannot take, its post queue
// (postscreen_post_queue_limit) being full, as Postfix does, and
// closes c.
func (scr *Screen) RejectBusy(c net.Conn, log *slog.Logger) {
	client := addrPort(c.RemoteAddr())
	log.Info(fmt.Sprintf("NOQUEUE: reject: CONNECT from %s: all server ports busy", bracket(client)))
	(&session{Screen: scr, Log: log}).drop(c, client, "421 4.3.2 All server ports are busy")
}

// afterEarly ends the tests before the SMTP handshake: a client that
// failed an enforced test, or that must run the deep protocol tests,
// talks to the dummy SMTP engine (and is never handed to smtpd in this
// session); the others are handed to smtpd (returned), and cached if
// they passed.
func (s *session) afterEarly(c net.Conn, client netip.AddrPort, t *tally, enforce string, noBanner bool) net.Conn {
	if enforce != "" || t.todo&tDeep&^t.pass != 0 {
		s.runEngine(c, client, t, enforce, !noBanner)
		return nil
	}
	s.conclude(client, t)
	return c
}

// pregreet sends the 220- banner and listens for greet wait. It returns
// the connection with whatever the client said replayed (nil if c
// failed and was closed), and whether the client spoke too early. A
// DNSBL rank that arrives on early during the wait is returned (got);
// an allowlisted one (postscreen_dnsbl_allowlist_threshold) ends it.
func (s *session) pregreet(c net.Conn, client netip.AddrPort, early <-chan rank) (pre *replayConn, pregreeted bool, r rank, got bool) {
	start := s.now()
	deadline := time.Now().Add(s.Config.GreetWait)
	hangup := func() {
		s.Log.Info(fmt.Sprintf("HANGUP after %s from %s in tests before SMTP handshake", maillog.Delay(s.now().Sub(start)), bracket(client)))
		c.Close()
	}
	if s.Config.GreetBanner != "" {
		c.SetWriteDeadline(deadline)
		if _, err := c.Write([]byte("220-" + s.Config.GreetBanner + "\r\n")); err != nil {
			hangup()
			return nil, false, r, got
		}
		c.SetWriteDeadline(time.Time{})
	}
	c.SetReadDeadline(deadline)
	type read struct {
		n   int
		err error
	}
	buf := make([]byte, 1024)
	done := make(chan read, 1)
	go func() {
		n, err := c.Read(buf)
		done <- read{n, err}
	}()
	var rd read
	for waiting := true; waiting; {
		select {
		case rd = <-done:
			waiting = false
		case r = <-early:
			got, early = true, nil
			if r.score <= s.Config.DNSBLAllowlist {
				c.SetReadDeadline(time.Now()) // ends the read at once
				rd = <-done
				waiting = false
			}
		}
	}
	c.SetReadDeadline(time.Time{})
	if rd.n == 0 {
		if errors.Is(rd.err, os.ErrDeadlineExceeded) {
			return &replayConn{Conn: c}, false, r, got
		}
		hangup()
		return nil, false, r, got
	}
	s.Log.Info(fmt.Sprintf("PREGREET %d after %s from %s: %s", rd.n, maillog.Delay(s.now().Sub(start)), bracket(client), escape(buf[:rd.n], 100)))
	return &replayConn{Conn: c, pending: buf[:rd.n]}, true, r, got
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// drop answers reply and closes c.
func (s *session) drop(c net.Conn, client netip.AddrPort, reply string) {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(reply + "\r\n"))
	s.Log.Info(fmt.Sprintf("DISCONNECT %s", bracket(client)))
	c.Close()
}

// rank is a client's DNSBL score and the site that listed it.
type rank struct {
	score int
	site  string
}

// replayConn gives smtpd the bytes read before it took over.
type replayConn struct {
	net.Conn
	pending []byte
}

// DiscardReplay drops the bytes not replayed yet and returns the
// connection beneath: smtpd's STARTTLS runs its handshake on that, so
// plaintext sent before the greeting never reaches TLS (smtpd.Replayer).
func (r *replayConn) DiscardReplay() net.Conn {
	r.pending = nil
	return r.Conn
}

func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// bracket is Postfix's [addr]:port.
func bracket(a netip.AddrPort) string { return fmt.Sprintf("[%s]:%d", a.Addr(), a.Port()) }

// escape shows text as Postfix's PREGREET line does: C escapes for
// control characters, at most max bytes.
func escape(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	var out strings.Builder
	for _, ch := range b {
		switch {
		case ch == '\r':
			out.WriteString(`\r`)
		case ch == '\n':
			out.WriteString(`\n`)
		case ch == '\t':
			out.WriteString(`\t`)
		case ch == '\\':
			out.WriteString(`\\`)
		case ch < 0x20 || ch >= 0x7f:
			fmt.Fprintf(&out, `\%03o`, ch)
		default:
			out.WriteByte(ch)
		}
	}
	return out.String()
}

package smtp

import (
	"context"
	"crypto/x509"
	"slices"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
)

// Agent is the smtp transport. It is safe for concurrent use; sessions
// left idle by one delivery are reused by the next to the same next hop.
type Agent struct {
	cfg   Config
	roots *x509.CertPool // smtp_tls_CAfile; nil: the system's
	cache *cache
}

var _ deliver.Agent = (*Agent)(nil)

// New returns an agent for cfg (see DefaultConfig). It fails only when
// smtp_tls_CAfile cannot be read.
func New(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	roots, err := loadRoots(cfg.TLSCAFile)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, roots: roots}
	a.cache = newCache(cfg.CacheMaxIdle, cfg.CacheTimeLimit, func(s *session) { s.quit(a.cfg.Timeouts.Quit) })
	return a, nil
}

// Close ends the idle cached sessions (QUIT). Deliveries in progress are
// not affected, but their sessions are no longer cached.
func (a *Agent) Close() error {
	a.cache.close()
	return nil
}

// IdleSessions is the number of cached sessions, for status displays and
// tests.
func (a *Agent) IdleSessions() int { return a.cache.size() }

// Deliver sends the message to the recipients of req via req.Nexthop and
// returns one result per recipient.
func (a *Agent) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	at := newAttempt(req)
	if len(req.Rcpts) == 0 {
		return nil
	}
	if !a.cfg.Protocols.IPv4 && !a.cfg.Protocols.IPv6 && !a.cfg.LMTP {
		at.why = fail("4.4.4", "all network protocols are disabled")
		at.failRest()
		return at.results
	}
	list := sites(req.Nexthop, a.cfg.FallbackRelay)
	primary := len(sites(req.Nexthop, nil))
	if a.cfg.LMTP {
		list = lmtpSites(req.Nexthop)
		primary = len(list)
	}
	var tried destination
	for i, site := range list {
		if at.left == 0 || ctx.Err() != nil {
			break
		}
		finalNexthop := i == len(list)-1
		// Not parseDestination first: it takes "unix:/path" for host
		// "unix", service "/path", and looks that up in /etc/services.
		var d destination
		var err error
		if a.cfg.LMTP {
			d, err = parseLMTPDestination(site, a.cfg.MyHostname, a.cfg.Port)
		} else {
			d, err = parseDestination(site, a.cfg.Port)
		}
		d.fallback = i >= primary
		tried = d
		if err != nil {
			a.logf("warning: %v", err)
			at.why = fail("4.3.5", "%v", err)
			continue
		}
		rt, f := a.lookup(ctx, d)
		if rt.iAmMX || f != nil && f.loop {
			finalNexthop = true // don't make a loop worse via fallback relays
		}
		if f == nil {
			a.deliverTo(ctx, at, d, rt, finalNexthop)
		} else {
			at.why = f
		}
		if finalNexthop {
			break
		}
	}
	if at.left > 0 {
		if ctx.Err() != nil {
			at.why = fail("4.3.0", "delivery interrupted: %v", context.Cause(ctx))
		}
		// A relay that does not resolve, refuses us or loops is a
		// configuration problem: defer rather than bounce.
		if at.why != nil && !at.why.soft() {
			switch {
			case tried.fallback:
				a.logf("warning: smtp_fallback_relay configuration problem")
				at.why.dsn = "4.3.5"
			case a.cfg.Relayhost != "" && len(list) > 0 && list[0] == a.cfg.Relayhost:
				a.logf("warning: relayhost configuration problem")
				at.why.dsn = "4.3.5"
			}
		}
		at.failRest()
	}
	return at.results
}

// deliverTo tries the servers of one next hop in turn: a cached session
// first, then new connections, at most smtp_mx_address_limit addresses
// and smtp_mx_session_limit completed handshakes (smtp_connect_inet).
func (a *Agent) deliverTo(ctx context.Context, at *attempt, d destination, rt route, finalNexthop bool) {
	servers := rt.servers
	addrs, sessions := 0, 0
	if a.cfg.ConnectionCache {
		if s := a.reuse(ctx, d); s != nil {
			servers = slices.DeleteFunc(slices.Clone(servers), func(x server) bool {
				return x.addr == s.srv.addr && x.port == s.srv.port
			})
			addrs, sessions = 1, 1
			final := finalNexthop && (len(servers) == 0 || sessions == a.cfg.MXSessionLimit)
			a.run(ctx, at, s, d, final)
		}
	}
	plain := false
	for j := 0; j < len(servers) && at.left > 0 && ctx.Err() == nil; j++ {
		if addrs >= a.cfg.MXAddressLimit || sessions >= a.cfg.MXSessionLimit {
			break
		}
		srv := servers[j]
		addrs++
		last := j == len(servers)-1 || addrs == a.cfg.MXAddressLimit
		final := finalNexthop && last
		s, f := a.dial(ctx, srv)
		if f != nil {
			a.logf("%s", f.reason)
			at.fail(at.pending(), f, final)
			continue
		}
		s.bestMX = srv.pref == rt.bestPref
		stop := context.AfterFunc(ctx, s.w.abort)
		f = a.handshake(ctx, at, s, d, plain)
		if f != nil {
			stop()
			a.discard(s)
			if f.retryPlain && !plain {
				// Try the same address again in plaintext.
				a.logf("%s: %s; retrying in plaintext", at.req.ID, f.reason)
				at.fail(at.pending(), f, false)
				plain = true
				j--
				addrs--
				continue
			}
			if f.soft() && !final {
				a.logf("%s: %s", at.req.ID, f.reason)
			}
			at.fail(at.pending(), f, final)
			plain = false
			continue
		}
		sessions++
		if sessions == a.cfg.MXSessionLimit {
			final = finalNexthop
		}
		reusable := a.transfer(ctx, at, s, final)
		// A plaintext fallback is for the message that earned it, not
		// for whatever comes next: don't cache it.
		a.release(s, d, stop() && reusable && !plain)
		plain = false
		at.setupAt = time.Time{}
	}
}

// run delivers over a session taken from the cache.
func (a *Agent) run(ctx context.Context, at *attempt, s *session, d destination, final bool) {
	stop := context.AfterFunc(ctx, s.w.abort)
	reusable := a.transfer(ctx, at, s, final)
	a.release(s, d, stop() && reusable)
	at.setupAt = time.Time{}
}

// reuse takes a cached session for the next hop and checks it with an
// RSET probe (smtp_reuse_common).
func (a *Agent) reuse(ctx context.Context, d destination) *session {
	for {
		s := a.cache.get(d.site)
		if s == nil {
			return nil
		}
		if s.br.Buffered() > 0 { // a reply nobody asked for
			a.discard(s)
			continue
		}
		stop := context.AfterFunc(ctx, s.w.abort)
		r, err := s.command("RSET", a.cfg.Timeouts.Rset)
		if stop() && err == nil && r.code/100 == 2 {
			s.reuses++
			return s
		}
		a.discard(s)
	}
}

// release caches a session that can take another message, or ends it.
// A session with unread input (a server that sent one reply too many)
// is not cached: every later reply would be taken for the command
// before it.
func (a *Agent) release(s *session, d destination, reusable bool) {
	expired := time.Since(s.born) >= a.cfg.ReuseTimeLimit ||
		a.cfg.ReuseCountLimit > 0 && s.reuses >= a.cfg.ReuseCountLimit
	if reusable && !s.broken && a.cfg.ConnectionCache && !expired && s.br.Buffered() == 0 {
		a.cache.put(d.site, s)
		return
	}
	a.discard(s)
}

// discard ends a session: QUIT when it is still in a sane state.
func (a *Agent) discard(s *session) {
	if s.broken || s.w.isAborted() {
		s.close()
		return
	}
	s.quit(a.cfg.Timeouts.Quit)
}

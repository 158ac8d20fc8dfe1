package smtpd

import (
	"fmt"
	"time"

	"github.com/postern-mta/postern/internal/anvil"
	"github.com/postern-mta/postern/internal/config"
)

// AnvilConfig is the per-client limits the anvil counts for
// (internal/anvil): 0 is no limit.
type AnvilConfig struct {
	ConnCount int // smtpd_client_connection_count_limit
	ConnRate  int // smtpd_client_connection_rate_limit
	MsgRate   int // smtpd_client_message_rate_limit
	RcptRate  int // smtpd_client_recipient_rate_limit
	NewTLS    int // smtpd_client_new_tls_session_rate_limit
	// Unit: anvil_rate_time_unit, the window of every rate (and of
	// smtpd_client_auth_rate_limit, Auth.RateLimit).
	Unit time.Duration
	// IPv6Prefix: anvil_ipv6_prefix_length (postern's), the bits of an
	// IPv6 address that make one client.
	IPv6Prefix int
}

func readAnvilConfig(cfg *config.Config) (AnvilConfig, error) {
	var a AnvilConfig
	var err error
	getInt := func(name string, dst *int) {
		if err == nil {
			var n int64
			n, err = cfg.Int(name)
			*dst = int(n)
		}
	}
	getInt("smtpd_client_connection_count_limit", &a.ConnCount)
	getInt("smtpd_client_connection_rate_limit", &a.ConnRate)
	getInt("smtpd_client_message_rate_limit", &a.MsgRate)
	getInt("smtpd_client_recipient_rate_limit", &a.RcptRate)
	getInt("smtpd_client_new_tls_session_rate_limit", &a.NewTLS)
	getInt("anvil_ipv6_prefix_length", &a.IPv6Prefix)
	if err == nil {
		a.Unit, err = cfg.Duration("anvil_rate_time_unit")
	}
	return a, err
}

// anvilOn reports whether the session's client is counted against
// limit, as Postfix's smtpd asks its anvil: a limit is set, the server
// has an anvil, the client is a network one and not in
// smtpd_client_event_limit_exceptions.
func (ss *session) anvilOn(limit int) bool {
	addr := ss.req.ClientAddr
	if limit <= 0 || ss.srv.Anvil == nil || ss.srv.StandAlone || !addr.IsValid() {
		return false
	}
	return ss.srv.EventLimitExempt == nil || !ss.srv.EventLimitExempt(addr, ss.req.ClientName)
}

// anvilClient is whom the session is counted as: its service and
// address, or IPv6 prefix.
func (ss *session) anvilClient() anvil.Client {
	return anvil.NewClient(ss.info.Service, ss.req.ClientAddr, ss.cfg.Anvil.IPv6Prefix)
}

// anvilEvent counts one event of the session's client and reports
// whether it went over limit.
func (ss *session) anvilEvent(e anvil.Event, limit int) (n int, over bool) {
	if !ss.anvilOn(limit) {
		return 0, false
	}
	n = ss.srv.Anvil.Event(ss.anvilClient(), e, time.Now(), ss.cfg.Anvil.Unit)
	return n, n > limit
}

// admit counts the session before the greeting, as Postfix's smtpd does
// once it knows the client's name, and applies
// smtpd_client_connection_count_limit and then
// smtpd_client_connection_rate_limit: a client over either gets 421 and
// the session ends (ok is false). A client in
// smtpd_client_event_limit_exceptions is not counted at all; any other
// is counted for the whole session (release undoes it).
func (ss *session) admit() (release func(), ok bool) {
	a := ss.cfg.Anvil
	if !ss.anvilOn(max(a.ConnCount, a.ConnRate, a.MsgRate, a.RcptRate, a.NewTLS, ss.cfg.Auth.RateLimit)) {
		return nil, true
	}
	cl, counter := ss.anvilClient(), ss.srv.Anvil
	count, rate := counter.Connect(cl, time.Now(), a.Unit)
	release = func() { counter.Disconnect(cl) }
	svc := ss.info.Service
	refuse := fmt.Sprintf("421 4.7.0 %s Error: too many connections from %s", ss.cfg.Hostname, ss.req.ClientAddr)
	switch {
	case a.ConnCount > 0 && count > a.ConnCount:
		ss.logWarn("Connection concurrency limit exceeded: %d from %s for service %s", count, ss.req.Client(), svc)
	case a.ConnRate > 0 && rate > a.ConnRate:
		ss.logWarn("Connection rate limit exceeded: %d from %s for service %s", rate, ss.req.Client(), svc)
	default:
		return release, true
	}
	ss.reply(refuse)
	release()
	return nil, false
}

// mailRateExceeded applies smtpd_client_message_rate_limit to a MAIL
// command, as Postfix's smtpd: every MAIL that passed the syntax checks
// counts.
func (ss *session) mailRateExceeded() bool {
	n, over := ss.anvilEvent(anvil.Mail, ss.cfg.Anvil.MsgRate)
	if !over {
		return false
	}
	ss.fail(fmt.Sprintf("450 4.7.1 Error: too much mail from %s", ss.req.ClientAddr))
	ss.logWarn("Message delivery request rate limit exceeded: %d from %s for service %s", n, ss.req.Client(), ss.info.Service)
	return true
}

// rcptRateExceeded applies smtpd_client_recipient_rate_limit to a RCPT
// command, as Postfix's smtpd.
func (ss *session) rcptRateExceeded() bool {
	n, over := ss.anvilEvent(anvil.Rcpt, ss.cfg.Anvil.RcptRate)
	if !over {
		return false
	}
	ss.logWarn("Recipient address rate limit exceeded: %d from %s for service %s", n, ss.req.Client(), ss.info.Service)
	ss.fail(fmt.Sprintf("450 4.7.1 Error: too many recipients from %s", ss.req.ClientAddr))
	return true
}

// startTLSRefused applies smtpd_client_new_tls_session_rate_limit
// before a STARTTLS handshake, as Postfix's smtpd: a client already
// over it gets 454 and stays in plaintext.
func (ss *session) startTLSRefused() bool {
	limit := ss.cfg.Anvil.NewTLS
	if !ss.anvilOn(limit) {
		return false
	}
	if ss.srv.Anvil.Rate(ss.anvilClient(), anvil.NewTLS, time.Now(), ss.cfg.Anvil.Unit) <= limit {
		return false
	}
	ss.logWarn("Refusing STARTTLS request from %s for service %s", ss.req.Client(), ss.info.Service)
	ss.fail(fmt.Sprintf("454 4.7.0 Error: too many new TLS sessions from %s", ss.req.Client()))
	return true
}

// wrapperTLSRefused is startTLSRefused for smtpd_tls_wrappermode: a
// client over the limit is disconnected before any handshake, with a
// warning and no reply, as Postfix's smtpd does.
func (ss *session) wrapperTLSRefused() bool {
	limit := ss.cfg.Anvil.NewTLS
	if !ss.anvilOn(limit) {
		return false
	}
	if ss.srv.Anvil.Rate(ss.anvilClient(), anvil.NewTLS, time.Now(), ss.cfg.Anvil.Unit) <= limit {
		return false
	}
	ss.logWarn("Refusing TLS service request from %s for service %s", ss.req.Client(), ss.info.Service)
	return true
}

// newTLSExceeded counts a completed handshake that did not resume a
// session against smtpd_client_new_tls_session_rate_limit; over it, the
// client gets 421 (over TLS) and the session ends, as Postfix's smtpd.
func (ss *session) newTLSExceeded() bool {
	if ss.tls != nil && ss.tls.DidResume {
		return false
	}
	n, over := ss.anvilEvent(anvil.NewTLS, ss.cfg.Anvil.NewTLS)
	if !over {
		return false
	}
	ss.logWarn("New TLS session rate limit exceeded: %d from %s for service %s", n, ss.req.Client(), ss.info.Service)
	ss.reply(fmt.Sprintf("421 4.7.0 %s Error: too many new TLS sessions from %s", ss.cfg.Hostname, ss.req.Client()))
	return true
}

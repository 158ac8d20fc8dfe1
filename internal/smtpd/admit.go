package smtpd

import "fmt"

// admit applies smtpd_client_connection_count_limit before the greeting,
// as Postfix's smtpd does once it knows the client's name: a client in
// smtpd_client_event_limit_exceptions is not counted at all; any other
// is counted for the whole session (release undoes it), and one over
// the limit gets 421 and the session ends (ok is false).
func (ss *session) admit() (release func(), ok bool) {
	a, addr := ss.srv.Anvil, ss.req.ClientAddr
	if a == nil || ss.cfg.ConnCountLimit <= 0 || !addr.IsValid() {
		return nil, true
	}
	if ss.srv.EventLimitExempt != nil && ss.srv.EventLimitExempt(addr, ss.req.ClientName) {
		return nil, true
	}
	svc := ss.info.Service
	n := a.Connect(svc, addr)
	release = func() { a.Disconnect(svc, addr) }
	if n > ss.cfg.ConnCountLimit {
		ss.logWarn("Connection concurrency limit exceeded: %d from %s for service %s", n, ss.req.Client(), svc)
		ss.reply(fmt.Sprintf("421 4.7.0 %s Error: too many connections from %s", ss.cfg.Hostname, addr))
		release()
		return nil, false
	}
	return release, true
}

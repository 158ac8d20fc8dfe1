package smtpd

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/sendlimit"
)

// sendLimitKeys are the sender_rate_limit_maps keys the session's mail
// is counted by, most specific first (the limiter adds the catch-all
// last): an authenticated client's login name, else a $mynetworks
// client's address (sendlimit.ClientKey); then the sender's domain or
// <>. Other clients send mail to us, not through us: they are not
// counted (nil), nor is sendmail -bs, which pickup counts.
func (ss *session) sendLimitKeys() []string {
	if ss.srv.SendLimit == nil || ss.srv.StandAlone {
		return nil
	}
	sender := sendlimit.SenderKey(ss.req.Sender)
	if ss.req.SASLUser != "" && !strings.EqualFold(ss.req.SASLMethod, "anonymous") {
		return []string{ss.req.SASLUser, sender}
	}
	if ss.req.ClientAddr.IsValid() && ss.srv.Policy.MyNetworks(ss.req.ClientAddr, ss.req.ClientName) {
		return []string{sendlimit.ClientKey(ss.req.ClientAddr), sender}
	}
	return nil
}

// sendLimitMail counts a MAIL against the sender's message limits; over
// one, or when the table fails, the MAIL is deferred, logged as a
// reject, and sendLimitMail reports true.
func (ss *session) sendLimitMail() bool {
	keys := ss.sendLimitKeys()
	if keys == nil {
		return false
	}
	v, err := ss.srv.SendLimit.Message(keys...)
	return ss.sendLimitVerdict("MAIL", "Sender", ss.req.Sender, "message", v, err)
}

// sendLimitRcpt counts an accepted RCPT against the sender's recipient
// limits, as sendLimitMail.
func (ss *session) sendLimitRcpt() bool {
	keys := ss.sendLimitKeys()
	if keys == nil {
		return false
	}
	v, err := ss.srv.SendLimit.Recipients(1, keys...)
	return ss.sendLimitVerdict("RCPT", "Recipient", ss.req.Recipient, "recipient", v, err)
}

func (ss *session) sendLimitVerdict(stage, what, addr, kind string, v sendlimit.Verdict, err error) bool {
	var reply string
	switch {
	case err != nil:
		ss.logWarn("sender_rate_limit_maps: %v", err)
		reply = fmt.Sprintf("451 4.3.0 <%s>: Temporary lookup failure", addr)
	case v.Over:
		ss.logWarn("%s rate limit exceeded for %s: %s from %s", kind, v.Key, v.Rule, ss.req.Client())
		reply = fmt.Sprintf("450 4.7.1 <%s>: %s address rejected: %s rate limit exceeded", addr, what, kind)
	default:
		return false
	}
	ss.log("%s: reject: %s from %s: %s; %s", ss.queueID(), stage, ss.req.Client(), reply, ss.whatsup(stage))
	ss.fail(reply)
	return true
}

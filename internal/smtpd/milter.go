package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// Milters are a service's smtpd_milters (internal/milter) and the
// macros they are sent.
type Milters struct {
	Specs  []milter.Spec
	Macros milter.MacroLists
	// DaemonName is milter_macro_daemon_name; V is milter_macro_v.
	DaemonName, V string
}

// MiltersFrom reads a service's smtpd_milters and the milter_*
// settings; nil when there are none.
func MiltersFrom(cfg *config.Config) (*Milters, error) {
	specs, err := cfg.Milters("smtpd_milters")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	m := &Milters{Specs: specs}
	if m.Macros, err = cfg.MilterMacros(); err != nil {
		return nil, err
	}
	if m.DaemonName, err = cfg.Get("milter_macro_daemon_name"); err != nil {
		return nil, err
	}
	if m.V, err = cfg.Get("milter_macro_v"); err != nil {
		return nil, err
	}
	return m, nil
}

// newMilters starts the session's milter chain; nil without milters.
func (ss *session) newMilters() *milter.Chain {
	m := ss.srv.Milters
	if m == nil || len(m.Specs) == 0 {
		return nil
	}
	c := milter.NewChain(m.Specs, m.Macros, ss.milterMacro, ss.srv.Log)
	c.Limits = milter.Limits{BodySize: ss.cfg.MessageSizeLimit, Recipients: ss.cfg.RecipientLimit}
	if ss.srv.Policy != nil {
		c.Canonical = ss.srv.Policy.Canonical
	}
	return c
}

// milterMacro is the value of a macro, as Postfix's smtpd defines it.
func (ss *session) milterMacro(name string) (string, bool) {
	m := ss.srv.Milters
	switch name {
	case "j":
		return ss.cfg.Hostname, true
	case "v":
		return m.V, true
	case "_":
		rev := ss.req.ReverseName
		if rev == "" {
			rev = "unknown"
		}
		s := fmt.Sprintf("%s [%s]", rev, ss.req.ClientAddr)
		if !strings.EqualFold(rev, ss.req.ClientName) {
			s += " (may be forged)"
		}
		return s, true
	case "{daemon_name}":
		return m.DaemonName, true
	case "{daemon_addr}", "{daemon_port}":
		ap, err := netip.ParseAddrPort(ss.raw.LocalAddr().String())
		if err != nil {
			return "", false
		}
		if name == "{daemon_port}" {
			return strconv.Itoa(int(ap.Port())), true
		}
		return ap.Addr().Unmap().String(), true
	case "{client_addr}":
		return ss.req.ClientAddr.String(), true
	case "{client_port}":
		ap, err := netip.ParseAddrPort(ss.raw.RemoteAddr().String())
		if err != nil {
			return "", false
		}
		return strconv.Itoa(int(ap.Port())), true
	case "{client_name}":
		return ss.req.ClientName, true
	case "{client_ptr}":
		if ss.req.ReverseName == "" {
			return "unknown", true
		}
		return ss.req.ReverseName, true
	case "{tls_version}", "{cipher}", "{cipher_bits}":
		if ss.tls == nil {
			return "", false
		}
		cipher := tls.CipherSuiteName(ss.tls.CipherSuite)
		switch name {
		case "{tls_version}":
			return strings.Replace(tls.VersionName(ss.tls.Version), " ", "v", 1), true
		case "{cipher}":
			return cipher, true
		}
		use, _ := tlsconf.CipherBits(ss.tls.CipherSuite) // TLS_AES_128_GCM_SHA256 is 128
		return strconv.Itoa(use), true
	case "{cert_subject}", "{cert_issuer}":
		if ss.req.CCert == nil {
			return "", false
		}
		if name == "{cert_subject}" {
			return ss.req.CCert.CN, true
		}
		return ss.req.CCert.Issuer, true
	case "{auth_type}", "{auth_authen}", "{auth_author}":
		if ss.auth == nil {
			return "", false
		}
		switch name {
		case "{auth_type}":
			return ss.auth.method, true
		case "{auth_authen}":
			return ss.auth.user, true
		}
		if ss.tx != nil && ss.tx.authSender != "" {
			return ss.tx.authSender, true
		}
		return "", false
	case "i":
		if ss.tx != nil && ss.tx.env.ID != "" {
			return ss.tx.env.ID, true
		}
	case "{mail_addr}":
		if ss.tx != nil || ss.req.Sender != "" || ss.where == "MAIL" {
			return ss.req.Sender, true
		}
	case "{rcpt_addr}":
		if ss.req.Recipient != "" {
			return ss.req.Recipient, true
		}
	}
	return "", false
}

// milterReply acts on a chain's reply to the event of command where:
// it logs it as Postfix's smtpd does and returns the SMTP reply that
// replaces the command's own ("" when the command goes on). hold and
// discard, if not nil, record those actions.
func (ss *session) milterReply(where, r string, hold, discard *bool) string {
	text := ""
	action := "milter-reject"
	switch r {
	case "":
		return ""
	case milter.ReplyHold:
		action, text, r = "milter-hold", milter.HoldText, ""
		if hold != nil {
			*hold = true
		}
	case milter.ReplyDiscard:
		action, text, r = "milter-discard", milter.DiscardText, ""
		if discard != nil {
			*discard = true
		}
	case milter.ReplyShutdown:
		r = milter.ClosingReply
	default:
		// the milter package sanitises its replies; again here, as
		// nothing a milter says may break the dialog or the log
		lines := cleanup.ReplyLines(r)
		r, text = strings.Join(lines, "\r\n"), strings.Join(lines, " ")
	}
	if text == "" {
		text = r
	}
	ss.log("%s: %s: %s from %s: %s; %s", ss.queueID(), action, where, ss.req.Client(), text, ss.whatsup(where))
	return r
}

// milterFail sends a milter's reply (perhaps multi-line) as an error;
// after 421 the session ends.
func (ss *session) milterFail(r string) {
	ss.reply(cleanup.ReplyLines(r)...)
	ss.errors++
	if strings.HasPrefix(r, "421") {
		ss.quit = true
		return
	}
	ss.checkErrors()
}

// milterConnect reports the connection; false: the session ends.
func (ss *session) milterConnect(ctx context.Context) bool {
	ss.milters = ss.newMilters()
	if ss.milters == nil {
		return true
	}
	cl := milter.Client{Name: ss.req.ClientName, Addr: ss.req.ClientAddr.String(), Family: milter.FamilyInet}
	if ss.req.ClientAddr.Is6() {
		cl.Family = milter.FamilyInet6
	}
	if ap, err := netip.ParseAddrPort(ss.raw.RemoteAddr().String()); err == nil {
		cl.Port = ap.Port()
	} else if _, ok := ss.raw.RemoteAddr().(*net.UnixAddr); ok {
		cl.Family = milter.FamilyUnix
	}
	// As Postfix: a hard reject replaces the greeting and the session
	// goes on (the milter refuses the later commands); 421 ends it; a
	// temporary reject greets as usual and applies from MAIL on.
	switch r := ss.milterReply("CONNECT", ss.milters.Connect(ctx, cl), &ss.milterHold, nil); {
	case strings.HasPrefix(r, "421"):
		ss.reply(fmt.Sprintf("421 %s Service unavailable - try again later", ss.cfg.Hostname))
		return false
	case strings.HasPrefix(r, "5"):
		ss.reply(fmt.Sprintf("554 %s ESMTP not accepting connections", ss.cfg.Hostname))
		ss.errors++
		ss.milterGreeted = true
	}
	return true
}

// milterStage is the end-of-message stage of the session's milters;
// nil when there are none. It also carries out a hold or discard a
// milter asked for earlier in the session or transaction, logged then
// and not again (as Postfix's cleanup, which also does not log a hold
// at end of message when the message is held already).
func (ss *session) milterStage() cleanup.Stage {
	if ss.milters == nil {
		return nil
	}
	tx := ss.tx
	return cleanup.StageFunc(func(ctx context.Context, m *cleanup.Message) cleanup.Verdict {
		if tx.milterDiscard {
			ss.milters.Abort(ctx)
			return cleanup.Verdict{Action: cleanup.Discard, Reason: milter.DiscardText, Logged: true}
		}
		// contentVerdict replies and logs the verdict as Postfix's cleanup
		r := ss.milters.Message(ctx, m)
		if r == milter.ReplyShutdown {
			ss.quit = true // after the 421 reply
		}
		v, _, _ := milter.EndVerdict(r)
		if (ss.milterHold || tx.milterHold) && (v.Action == cleanup.Continue || v.Action == cleanup.Hold) {
			v = cleanup.Verdict{Action: cleanup.Hold, Reason: milter.HoldText, Logged: true}
		}
		return v
	})
}

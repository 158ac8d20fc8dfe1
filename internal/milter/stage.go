package milter

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
)

// Postfix's texts for the hold and discard actions in log lines.
const (
	HoldText    = "milter triggers HOLD action"
	DiscardText = "milter triggers DISCARD action"
	// ClosingReply is the reply to a milter's shutdown.
	ClosingReply = "421 4.7.0 Server closing connection"
)

// EndVerdict turns a chain's reply at end of message into a content
// stage's verdict, with the action and text of Postfix's cleanup log
// line ("milter-reject", "5.7.1 text"); action is "" for no line.
func EndVerdict(r string) (v cleanup.Verdict, action, text string) {
	switch r {
	case "":
		return cleanup.Verdict{Action: cleanup.Continue}, "", ""
	case ReplyHold:
		return cleanup.Verdict{Action: cleanup.Hold, Reason: HoldText}, "milter-hold", HoldText
	case ReplyDiscard:
		return cleanup.Verdict{Action: cleanup.Discard, Reason: DiscardText}, "milter-discard", DiscardText
	case ReplyShutdown:
		r = ClosingReply
	}
	text = strings.ReplaceAll(r[min(4, len(r)):], "\r\n", " ")
	return cleanup.Verdict{Action: cleanup.Reject, Reply: r, Reason: text}, "milter-reject", text
}

// LocalStage is non_smtpd_milters: for each local submission it runs
// the whole milter dialog as Postfix's cleanup emulates it (connect
// from localhost [127.0.0.1], EHLO localhost, MAIL, RCPT, DATA, then
// the content and end of message), applies the modifications and
// returns the verdict.
type LocalStage struct {
	Specs  []Spec
	Macros MacroLists
	// Hostname ($myhostname, macro j), DaemonName
	// (milter_macro_daemon_name) and V (milter_macro_v).
	Hostname, DaemonName, V string
	// Limits and Canonical: as Chain's (message_size_limit; cleanup's
	// address rewriting, <user> is user@$myorigin).
	Limits    Limits
	Canonical func(address.Address) address.Address
	log       atomic.Pointer[slog.Logger]
}

// SetLog sets where the warnings about milters go (nil: nowhere); the
// verdict is logged by pickup.
func (s *LocalStage) SetLog(l *slog.Logger) { s.log.Store(l) }

// Local client values, as Postfix's cleanup_milter_client_init.
const (
	localName = "localhost"
	localAddr = "127.0.0.1"
)

// Apply runs the dialog for m.
func (s *LocalStage) Apply(ctx context.Context, m *cleanup.Message) cleanup.Verdict {
	log := s.log.Load()
	rcpt := ""
	look := func(name string) (string, bool) {
		switch name {
		case "j":
			return s.Hostname, true
		case "v":
			return s.V, true
		case "_":
			return localName + " [" + localAddr + "]", true
		case "{daemon_name}":
			return s.DaemonName, true
		case "{client_addr}":
			return localAddr, true
		case "{client_name}", "{client_ptr}":
			return localName, true
		case "i":
			return m.Env.ID, m.Env.ID != ""
		case "{mail_addr}":
			return m.Env.Sender, true
		case "{rcpt_addr}":
			return rcpt, rcpt != ""
		}
		return "", false
	}
	c := NewChain(s.Specs, s.Macros, look, log)
	c.Limits, c.Canonical = s.Limits, s.Canonical
	defer c.Close(context.WithoutCancel(ctx))
	hold := false
	step := func(r string) string {
		if r == ReplyHold {
			hold = true
			return ""
		}
		return r
	}
	r := step(c.Connect(ctx, Client{Name: localName, Addr: localAddr, Family: FamilyInet}))
	if r == "" {
		r = step(c.Helo(ctx, localName))
	}
	if r == "" {
		r = step(c.Mail(ctx, "<"+m.Env.Sender+">", nil))
	}
	for _, rc := range m.Env.Recipients {
		if r != "" {
			break
		}
		rcpt = rc.Addr
		r = step(c.Rcpt(ctx, "<"+rc.Addr+">", nil))
	}
	if r == "" {
		r = step(c.Data(ctx))
	}
	if r == "" {
		r = step(c.Message(ctx, m))
	}
	if r == "" && hold {
		r = ReplyHold
	}
	// pickup logs the verdict as Postfix's cleanup does
	v, _, _ := EndVerdict(r)
	return v
}

// Package cleanup is what happens to a message between the end of its
// content and the queue, as Postfix's cleanup(8) with its milters does:
// when content stages are configured, the content is held (a Spool: in
// memory up to a limit, then in an unlinked temporary file), split into
// an editable header and a body, and handed to each Stage in turn: the
// mail authentication checks (Authentication-Results), the milters'
// end-of-message modifications, DKIM signing. Each may edit the header,
// the body and the envelope, or refuse the message; what is left is
// queued once, so the queue file holds the final message and a retry
// never runs a stage again. With no stage, smtpd and pickup stream the
// content to the queue as before (nothing is held).
package cleanup

import (
	"context"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/queue"
)

// Origin says where a message comes from, for stages that treat mail we
// send (DKIM signing) differently from mail we receive (the checks).
type Origin struct {
	// Local: submitted with sendmail (pickup), not over SMTP.
	Local bool
	// UID: the local submitter (Local only).
	UID int
	// ClientAddr, ClientName, ReverseName, Helo: the SMTP client
	// (ClientName "unknown" when not verified).
	ClientAddr              netip.Addr
	ClientName, ReverseName string
	Helo                    string
	// SASLUser, SASLMethod: the client authenticated (SMTP AUTH).
	SASLUser, SASLMethod string
	// MyNetworks: the client address matches $mynetworks.
	MyNetworks bool
	// TLS: the session was encrypted.
	TLS bool
	// Service: the master.cf service name (smtp, submission, pickup…).
	Service string
}

// Trusted reports mail we send rather than receive: local submission,
// an authenticated client, or a client in $mynetworks. It is signed and
// never checked against itself.
func (o Origin) Trusted() bool { return o.Local || o.SASLUser != "" || o.MyNetworks }

// Action is what a stage decides about the message.
type Action int

const (
	// Continue: on to the next stage, then the queue.
	Continue Action = iota
	// Reject: nothing is queued; Verdict.Reply goes to the SMTP client
	// (pickup bounces or drops as Postfix's cleanup does).
	Reject
	// Discard: nothing is queued, the client is told it was (250), and
	// the discard is logged.
	Discard
	// Hold: queued in the hold queue (postsuper -H releases it), as
	// Postfix's milter quarantine; later stages still run.
	Hold
)

// Verdict is a stage's decision.
type Verdict struct {
	Action Action
	// Reply: the complete SMTP reply for Reject ("550 5.7.1 …"), also
	// 4xx for a temporary refusal.
	Reply string
	// Reason: for the maillog line (milter-reject, discard, hold).
	Reason string
	// Source names the stage kind in the maillog line, as Postfix's
	// "milter-reject: END-OF-MESSAGE …" and "milter triggers HOLD
	// action": "milter", "dmarc", "dkim"… Empty means "milter".
	Source string
	// Logged: the action was logged already and gets no END-OF-MESSAGE
	// line (a milter's hold or discard at CONNECT, HELO, MAIL or RCPT,
	// which Postfix's smtpd logs there and its cleanup not again).
	Logged bool
}

// Word is v.Source, or "milter" when empty.
func (v Verdict) Word() string {
	if v.Source == "" {
		return "milter"
	}
	return v.Source
}

// Stage is one step between end of data and the queue. Apply may edit m
// (header, body, envelope) and returns its verdict; stages run in order
// and the first verdict other than Continue or Hold ends the run.
type Stage interface {
	Apply(ctx context.Context, m *Message) Verdict
}

// StageFunc adapts a function to Stage.
type StageFunc func(ctx context.Context, m *Message) Verdict

// Apply calls f.
func (f StageFunc) Apply(ctx context.Context, m *Message) Verdict { return f(ctx, m) }

// Message is a held message on its way to the queue. Env is the
// envelope that will be queued: stages may change the sender and the
// recipients. The header and body API (Header, Body, ReplaceBody,
// Content) is in message.go.
type Message struct {
	Env    *queue.Envelope
	Origin Origin
	// Header is the message's header, editable (header.go).
	Header Header
	// Hold is set once a stage returned Hold.
	Hold bool

	body    *Spool // the content as received
	bodyOff int64  // where the body starts in body (after the empty line)
	// newBody replaces body once a stage called ReplaceBody.
	newBody *Spool
}

// Default replies of a Reject verdict without a usable Reply, as
// Postfix's for a milter's reject and tempfail.
const (
	DefaultReject   = "550 5.7.1 Command rejected"
	DefaultTempfail = "451 4.7.1 Service unavailable - try again later"
)

// Bounds of ReplyLines: RFC 5321's 512 octets a reply line with CRLF,
// and a number of lines no client needs more of.
const (
	maxReplyLine  = 510
	maxReplyLines = 50
)

// ReplyLines returns v.Reply as safe SMTP reply lines: one per line of
// the reply (a milter may send a multi-line one; CRLF, LF and lone CR
// end a line), each with the code of the first line and its enhanced
// status code (of the code's class), control characters and invalid
// UTF-8 never passed on, each line at most 510 bytes, at most 50 lines.
// A reply that is not a 4xx or 5xx code with text gives DefaultReject.
// The result is never empty and every line is "ddd text".
func (v Verdict) ReplyLines() []string { return ReplyLines(v.Reply) }

// ReplyLines is Verdict.ReplyLines for a reply from anywhere (a milter's
// reply to an SMTP command).
func ReplyLines(reply string) []string {
	lines := strings.FieldsFunc(reply, func(r rune) bool { return r == '\r' || r == '\n' })
	if len(lines) == 0 {
		return []string{DefaultReject}
	}
	first := lines[0]
	if len(first) < 3 || first[0] != '4' && first[0] != '5' || !isDigit(first[1]) || !isDigit(first[2]) ||
		len(first) > 3 && first[3] != ' ' && first[3] != '-' {
		return []string{DefaultReject}
	}
	code := first[:3]
	defText := DefaultReject[4:]
	if code[0] == '4' {
		defText = DefaultTempfail[4:]
	}
	enh, _ := enhanced(strings.TrimLeft(first[3:], " -"))
	if enh != "" && enh[0] != code[0] {
		enh = code[:1] + enh[1:]
	}
	out := make([]string, 0, min(len(lines), maxReplyLines))
	for _, l := range lines[:min(len(lines), maxReplyLines)] {
		text := l
		if len(l) >= 3 && l[:3] == code && (len(l) == 3 || l[3] == ' ' || l[3] == '-') {
			text = l[3:]
		}
		text = strings.TrimLeft(text, " -")
		if e, rest := enhanced(text); e != "" && enh != "" && e[2:] == enh[2:] {
			text = rest
		}
		text = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f || r >= 0x80 && r <= 0x9f {
				return ' '
			}
			return r
		}, strings.ToValidUTF8(text, "?")))
		if text == "" {
			text = defText
			if enh != "" {
				_, text = enhanced(text)
			}
		}
		line := code + " " + text
		if enh != "" {
			line = code + " " + enh + " " + text
		}
		if len(line) > maxReplyLine {
			n := maxReplyLine
			for n > 0 && !utf8.RuneStart(line[n]) {
				n--
			}
			line = line[:n]
		}
		out = append(out, line)
	}
	return out
}

// enhanced splits an RFC 3463 enhanced status code ("5.7.1") off the
// start of text: the code and the text after it, or "" and text.
func enhanced(text string) (string, string) {
	code, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(code, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return "", text
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return "", text
		}
		for i := range len(p) {
			if !isDigit(p[i]) {
				return "", text
			}
		}
	}
	return code, strings.TrimLeft(rest, " ")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

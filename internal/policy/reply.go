package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Stage is the SMTP step a restriction list belongs to.
type Stage int

const (
	Client Stage = iota
	Helo
	Sender
	Recipient
	Data
	EndOfData
	Etrn
)

// word is the stage's word in reply texts: "Client host rejected: ...".
func (s Stage) word() string {
	if s == clientCert {
		return "Client certificate"
	}
	return [...]string{"Client host", "Helo command", "Sender address", "Recipient address",
		"Data command", "End-of-data", "Etrn command"}[s]
}

// Kind is what a restriction decided.
type Kind int

const (
	Next   Kind = iota // no decision: go on with the list (DUNNO)
	Permit             // OK: this list permits
	Reject             // a 4xx or 5xx reply ends the list and the command
)

// Verdict is a restriction's decision. For Reject, Reply is the full SMTP
// reply line (without CRLF).
type Verdict struct {
	Kind  Kind
	Reply string
	// Discard: accept in appearance, then drop the whole message.
	Discard bool
	// Log is what the maillog "reject:" line should say.
	Log string
	// DeferIfPermit marks a temporary reply raised by defer_if_permit
	// (or a tempfail action) that only stands if nothing later rejects:
	// a caller evaluating several lists for one command carries it to
	// the end, as Postfix carries it through the whole RCPT check.
	DeferIfPermit bool
	// Prepend: header lines that PREPEND actions (access tables, policy
	// services) asked for, in order; the SMTP server adds them above
	// its Received: header when the command is accepted.
	Prepend []string
	// Hold: a HOLD action's log text ("<rcpt>: Recipient address
	// triggers HOLD action"); the SMTP server logs it and, when the
	// command is accepted, the message goes to the hold queue.
	Hold string
}

// Temporary reports whether the reply is a 4xx.
func (v Verdict) Temporary() bool { return strings.HasPrefix(v.Reply, "4") }

// Code returns the reply's numeric code.
func (v Verdict) Code() int {
	n, _ := strconv.Atoi(v.Reply[:min(3, len(v.Reply))])
	return n
}

// rejectf builds Postfix's framing: `<code> <dsn> <<subject>>: <Stage>
// rejected: <text>`; the DSN class digit follows the reply code.
func rejectf(code int, dsn, subject string, st Stage, text string) Verdict {
	dsn = classDigit(code) + dsn[1:]
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("%d %s <%s>: %s rejected: %s", code, dsn, subject, st.word(), text)}
}

// plain is a reply without the stage framing ("Relay access denied").
func plain(code int, dsn, subject, text string) Verdict {
	dsn = classDigit(code) + dsn[1:]
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("%d %s <%s>: %s", code, dsn, subject, text)}
}

func classDigit(code int) string {
	if code >= 500 {
		return "5"
	}
	return "4"
}

// serverConfigError is Postfix's answer to an unknown restriction or a
// broken table: a temporary failure, never a silent permit.
var serverConfigError = Verdict{Kind: Reject, Reply: "451 4.3.5 Server configuration error"}

// lookupFailure is the answer when a table or mynetworks cannot be read.
func lookupFailure(subject string) Verdict {
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("451 4.3.0 <%s>: Temporary lookup failure", subject)}
}

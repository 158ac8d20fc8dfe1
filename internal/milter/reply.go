package milter

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Reply is one decoded milter-to-MTA packet. Which fields are set
// depends on Cmd:
//
//	RepReplyCode   Text: the SMTP reply ("550 5.7.1 go away")
//	RepQuarantine  Text: the reason
//	RepAddRcpt, RepDelRcpt   Text: the recipient
//	RepAddRcptPar, RepChgFrom  Text: the address, Args: ESMTP args
//	RepAddHeader   Name, Value
//	RepChgHeader, RepInsHeader  Index, Name, Value (empty Value deletes)
//	RepReplBody    Body: one chunk of the replacement body
//	others         nothing
type Reply struct {
	Cmd   byte
	Text  string
	Args  string
	Index uint32
	Name  string
	Value string
	Body  []byte
}

// IsModification reports whether the reply edits the message (only
// allowed in reply to end of body).
func (r Reply) IsModification() bool {
	switch r.Cmd {
	case RepAddRcpt, RepDelRcpt, RepAddRcptPar, RepChgFrom, RepAddHeader,
		RepChgHeader, RepInsHeader, RepReplBody, RepQuarantine:
		return true
	}
	return false
}

// action returns the action flag a modification needs.
func (r Reply) action() uint32 {
	switch r.Cmd {
	case RepAddRcpt:
		return ActAddRcpt
	case RepDelRcpt:
		return ActDelRcpt
	case RepAddRcptPar:
		return ActAddRcptPar
	case RepChgFrom:
		return ActChangeFrom
	case RepAddHeader, RepInsHeader:
		return ActAddHeaders
	case RepChgHeader:
		return ActChgHeaders
	case RepReplBody:
		return ActChangeBody
	case RepQuarantine:
		return ActQuarantine
	}
	return 0
}

// ProtocolError is a reply that breaks the protocol.
type ProtocolError struct {
	Cmd    byte
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("milter: protocol error in reply %q: %s", e.Cmd, e.Reason)
}

func perr(cmd byte, format string, a ...any) error {
	return &ProtocolError{Cmd: cmd, Reason: fmt.Sprintf(format, a...)}
}

// strs splits data into exactly n NUL-terminated strings.
func strs(cmd byte, d []byte, n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		i := bytes.IndexByte(d, 0)
		if i < 0 {
			return nil, perr(cmd, "missing string terminator")
		}
		out = append(out, string(d[:i]))
		d = d[i+1:]
	}
	if len(d) > 0 {
		return nil, perr(cmd, "%d bytes of left-over data", len(d))
	}
	return out, nil
}

// addrArgs decodes an address with optional ESMTP arguments.
func addrArgs(cmd byte, d []byte) (string, string, error) {
	if s, err := strs(cmd, d, 1); err == nil {
		return s[0], "", nil
	}
	s, err := strs(cmd, d, 2)
	if err != nil {
		return "", "", err
	}
	return s[0], s[1], nil
}

// validReplyCode checks an SMFIR_REPLYCODE text: a 4xx or 5xx code
// followed by a space, a hyphen (multi-line) or nothing.
func validReplyCode(s string) bool {
	if len(s) < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return false
	}
	return len(s) == 3 || s[3] == ' ' || s[3] == '-'
}

// Decode decodes one milter-to-MTA packet. It never panics; an
// unknown command or malformed data is a *ProtocolError.
func Decode(p Packet) (Reply, error) {
	r := Reply{Cmd: p.Cmd}
	d := p.Data
	switch p.Cmd {
	case RepAccept, RepContinue, RepDiscard, RepReject, RepTempfail,
		RepProgress, RepSkip, RepShutdown, RepConnFail:
		if len(d) != 0 {
			return Reply{}, perr(p.Cmd, "%d bytes of unexpected data", len(d))
		}
	case RepReplyCode, RepQuarantine, RepAddRcpt, RepDelRcpt:
		s, err := strs(p.Cmd, d, 1)
		if err != nil {
			return Reply{}, err
		}
		r.Text = s[0]
		if p.Cmd == RepReplyCode && !validReplyCode(r.Text) {
			return Reply{}, perr(p.Cmd, "malformed SMTP reply %q", r.Text)
		}
	case RepAddRcptPar, RepChgFrom:
		a, args, err := addrArgs(p.Cmd, d)
		if err != nil {
			return Reply{}, err
		}
		r.Text, r.Args = a, args
	case RepAddHeader:
		s, err := strs(p.Cmd, d, 2)
		if err != nil {
			return Reply{}, err
		}
		r.Name, r.Value = s[0], s[1]
	case RepChgHeader, RepInsHeader:
		if len(d) < 4 {
			return Reply{}, perr(p.Cmd, "packet too short for header index")
		}
		r.Index = binary.BigEndian.Uint32(d)
		s, err := strs(p.Cmd, d[4:], 2)
		if err != nil {
			return Reply{}, err
		}
		r.Name, r.Value = s[0], s[1]
	case RepReplBody:
		r.Body = d
	default:
		return Reply{}, perr(p.Cmd, "unknown reply")
	}
	if (r.Name == "" && (p.Cmd == RepAddHeader || p.Cmd == RepChgHeader || p.Cmd == RepInsHeader)) ||
		(r.Text == "" && (p.Cmd == RepAddRcpt || p.Cmd == RepDelRcpt || p.Cmd == RepAddRcptPar || p.Cmd == RepChgFrom)) {
		return Reply{}, perr(p.Cmd, "empty header name or address")
	}
	return r, nil
}

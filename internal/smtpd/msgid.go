package smtpd

import (
	"bytes"
	"strings"
)

// msgIDSniffer watches the header section of content as it streams to the
// queue and keeps the first Message-ID header's value (unfolded), for
// Postfix's "ID: message-id=<…>" log line. It holds at most one header
// line, cut at maxHeaderLine bytes, and stops at the first empty line.
// It also counts the Received: lines (hopcount_limit).
type msgIDSniffer struct {
	done, inID bool
	line       []byte
	id         string
	received   int
}

const maxHeaderLine = 1000

func (s *msgIDSniffer) write(p []byte) {
	for len(p) > 0 && !s.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			return
		}
		s.add(p[:i])
		s.endLine()
		p = p[i+1:]
	}
}

func (s *msgIDSniffer) add(p []byte) {
	if room := maxHeaderLine - len(s.line); room > 0 {
		s.line = append(s.line, p[:min(len(p), room)]...)
	}
}

// endLine judges the line held, without converting it to a string:
// only a Message-ID value is kept.
func (s *msgIDSniffer) endLine() {
	line := bytes.TrimSuffix(s.line, []byte("\r"))
	s.line = s.line[:0]
	switch {
	case len(line) == 0:
		s.done = true
	case line[0] == ' ' || line[0] == '\t':
		if s.inID {
			s.id = strings.TrimSpace(s.id + " " + string(bytes.TrimSpace(line)))
		}
	default:
		s.inID = false
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return
		}
		name = bytes.TrimSpace(name)
		if s.id == "" && bytes.EqualFold(name, []byte("Message-ID")) {
			s.id, s.inID = string(bytes.TrimSpace(value)), true
		}
		if bytes.EqualFold(name, []byte("Received")) {
			s.received++
		}
	}
}

// messageID is the value to log: Postfix logs "message-id=<>" for mail
// without one.
func (s *msgIDSniffer) messageID() string {
	if s.id == "" {
		return "<>"
	}
	return s.id
}

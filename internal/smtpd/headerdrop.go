package smtpd

import "bytes"

// dropHeaders are the header fields Postfix's cleanup removes from every
// message by default (message_drop_headers): a Bcc: must not reach the
// recipients, and Return-Path: is the delivery agent's to write.
var dropHeaders = []string{"bcc", "content-length", "resent-bcc", "return-path"}

// isDropped reports whether name is one of dropHeaders, ignoring case,
// without allocating: it runs once per header field of every message.
func isDropped(name []byte) bool {
	for _, d := range dropHeaders {
		if len(name) == len(d) && bytes.EqualFold(name, []byte(d)) {
			return true
		}
	}
	return false
}

// maxHeldLine bounds the part of a header line held back until its end:
// the decision needs only the name at its start.
const maxHeldLine = 8 << 10

// headerDrop removes dropHeaders fields, continuation lines included,
// from the header of content as it arrives in pieces of any size. It
// holds back at most one line; the header ends at the first empty line
// or line that is not a header field.
type headerDrop struct {
	done     bool // past the header: everything passes
	dropping bool // the current field is dropped
	midLine  bool // the next bytes continue a line already decided
	line     []byte
}

// filter appends to dst the bytes of p to keep.
func (h *headerDrop) filter(dst, p []byte) []byte {
	for len(p) > 0 && !h.done {
		end, complete := len(p), false
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			end, complete = i+1, true
		}
		h.line = append(h.line, p[:end]...)
		p = p[end:]
		if !complete && len(h.line) < maxHeldLine {
			return dst // wait for the rest of the line
		}
		dst = h.decide(dst, complete)
	}
	return append(dst, p...)
}

// flush appends what is held back at the end of the content.
func (h *headerDrop) flush(dst []byte) []byte {
	if len(h.line) == 0 || h.done {
		return dst
	}
	return h.decide(dst, true)
}

func (h *headerDrop) decide(dst []byte, complete bool) []byte {
	l := h.line
	h.line = h.line[:0]
	keep := !h.dropping
	switch {
	case h.midLine, l[0] == ' ' || l[0] == '\t':
		// the rest of a line, or a continuation: as its field
	default:
		name, _, ok := bytes.Cut(bytes.TrimRight(l, "\r\n"), []byte(":"))
		name = bytes.TrimRight(name, " \t")
		if !ok || !isFieldName(name) {
			h.done = true // the empty line or the first body line
			return append(dst, l...)
		}
		h.dropping = isDropped(name)
		keep = !h.dropping
	}
	h.midLine = !complete
	if keep {
		dst = append(dst, l...)
	}
	return dst
}

// isFieldName: printable ASCII without ':' or blanks (RFC 5322 ftext).
func isFieldName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return len(b) > 0
}

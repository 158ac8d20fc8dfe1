package cleanup

import (
	"strings"
)

// Field is one header field exactly as it will be queued: name, colon,
// value, folded lines, each line ending in CRLF (or LF as received).
type Field struct{ Raw string }

// NewField formats a field from a name and a value (which may already
// hold folded lines): "Name: value\r\n". An empty value gives "Name:".
func NewField(name, value string) Field {
	if value == "" {
		return Field{Raw: name + ":\r\n"}
	}
	return Field{Raw: name + ": " + value + "\r\n"}
}

// Name is the field name as written.
func (f Field) Name() string {
	n, _, _ := strings.Cut(f.Raw, ":")
	return strings.TrimRight(n, " \t")
}

// Value is everything after the colon, line end removed, leading
// whitespace removed, folding kept.
func (f Field) Value() string {
	_, v, _ := strings.Cut(f.Raw, ":")
	return strings.TrimLeft(strings.TrimRight(v, "\r\n"), " \t")
}

// Header is a message's header section, editable. The empty line that
// ends it is not a field; it is written by Bytes as it was received.
type Header struct {
	Fields []Field
	// end is the line that ends the header: "\r\n" or "\n" as
	// received, the one NewMessage put there when the header ended
	// without it before more content, or "" when the content ended
	// with the header.
	end string
}

// Get returns the value of the first field named name (case-insensitive).
func (h *Header) Get(name string) (string, bool) {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name(), name) {
			return f.Value(), true
		}
	}
	return "", false
}

// Prepend puts a field at the top (trace fields: Authentication-Results,
// DKIM-Signature, Received).
func (h *Header) Prepend(name, value string) { h.Insert(0, name, value) }

// Add appends a field at the end of the header.
func (h *Header) Add(name, value string) { h.Fields = append(h.Fields, NewField(name, value)) }

// Insert puts a field before the index-th field (0: at the top; beyond
// the end: at the end), as a milter's SMFIR_INSHEADER.
func (h *Header) Insert(index int, name, value string) {
	index = min(max(index, 0), len(h.Fields))
	h.Fields = append(h.Fields, Field{})
	copy(h.Fields[index+1:], h.Fields[index:])
	h.Fields[index] = NewField(name, value)
}

// Change replaces the value of the n-th (from 1) field named name; an
// empty value deletes it (SMFIR_CHGHEADER). When there is no n-th such
// field, a non-empty value is added at the end, as Sendmail does.
func (h *Header) Change(name string, n int, value string) { h.ChangeFormat(name, n, value, NewField) }

// ChangeFormat is Change with the field written by format (a milter
// keeps its own spacing and line ends).
func (h *Header) ChangeFormat(name string, n int, value string, format func(name, value string) Field) {
	seen := 0
	for i, f := range h.Fields {
		if !strings.EqualFold(f.Name(), name) {
			continue
		}
		if seen++; seen == n {
			if value == "" {
				h.Fields = append(h.Fields[:i], h.Fields[i+1:]...)
			} else {
				h.Fields[i] = format(f.Name(), value)
			}
			return
		}
	}
	if value != "" {
		h.Fields = append(h.Fields, format(name, value))
	}
}

// DeleteFunc removes every field for which drop returns true.
func (h *Header) DeleteFunc(drop func(Field) bool) {
	kept := h.Fields[:0]
	for _, f := range h.Fields {
		if !drop(f) {
			kept = append(kept, f)
		}
	}
	h.Fields = kept
}

// Bytes is the header as queued, the empty line that ends it included
// when there is one: unedited, the bytes received (and the empty line
// NewMessage added, if any). A
// last field received without its line end (the content ended there)
// gets one when something follows it.
func (h *Header) Bytes() []byte { return h.appendTo(make([]byte, 0, h.size())) }

// size is the length of Bytes, or a little more.
func (h *Header) size() int {
	n := len(h.end)
	for _, f := range h.Fields {
		n += len(f.Raw) + 2
	}
	return n
}

func (h *Header) appendTo(b []byte) []byte {
	for i, f := range h.Fields {
		b = append(b, f.Raw...)
		if !strings.HasSuffix(f.Raw, "\n") && (i < len(h.Fields)-1 || h.end != "") {
			b = append(b, "\r\n"...)
		}
	}
	return append(b, h.end...)
}

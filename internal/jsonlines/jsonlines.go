// Package jsonlines writes JSON Lines (https://jsonlines.org): one JSON
// object per line, UTF-8, strings escaped per RFC 8259, as Postfix's
// `postqueue -j` does. It is the output of `postern conf -j` and
// `postern map -j`.
//
// Configuration values and table keys are bytes, not necessarily UTF-8: a
// byte sequence that is not valid UTF-8 is written as U+FFFD (the Unicode
// replacement character), so every line is valid JSON whatever the input.
// Control characters are written as \n, \t, \u0001 and so on; '<', '>'
// and '&' are written as themselves (no HTML escaping).
package jsonlines

import (
	"bufio"
	"encoding/json"
	"io"
)

// Writer writes one JSON object per line. Call Flush when done.
type Writer struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{bw: bw, enc: enc}
}

// Write writes v (a struct or map of strings) as one line.
func (w *Writer) Write(v any) error {
	return w.enc.Encode(v) // Encode ends the value with '\n' and never emits one inside it
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Param is one main.cf parameter, the line of `postern conf -j`.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Entry is one lookup-table entry, the line of `postern map -jq` (one per
// table that has the key) and `postern map -js` (one per entry).
type Entry struct {
	Key   string `json:"key"`
	Table string `json:"table"`
	Value string `json:"value"`
}

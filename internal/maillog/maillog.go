// Package maillog writes log records in Postfix's maillog format,
// `Mmm dd hh:mm:ss host program[pid]: message`, as a log/slog handler so
// that the rest of postern logs through the standard structured logger.
package maillog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler is a slog.Handler producing maillog lines. Attributes follow
// the message as ` key=value`; the "program" attribute, if set with With,
// replaces the program name (postern/master, postern/smtpd).
type Handler struct {
	mu      *sync.Mutex
	w       io.Writer
	host    string
	program string
	pid     int
	level   slog.Leveler
	attrs   []slog.Attr
	now     func() time.Time
	// Journal leaves out time and host, which journald records itself.
	Journal bool
	// Name is syslog_name: it replaces "postern" in front of the "/" of
	// program names ("mail/smtpd" for "postern/smtpd"), as Postfix's
	// syslog_name does for its own; "" keeps them.
	Name string
}

// New returns a handler writing to w for the given host and program.
func New(w io.Writer, host, program string, level slog.Leveler) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{mu: &sync.Mutex{}, w: w, host: host, program: program, pid: os.Getpid(), level: level, now: time.Now}
}

// Enabled reports whether the level is logged.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle writes one line. Warnings and errors get Postfix's "warning: " and
// "fatal: " prefixes.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	bp := lineBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if !h.Journal {
		b = h.now().AppendFormat(b, "Jan _2 15:04:05")
		b = append(append(append(b, ' '), h.host...), ' ')
	}
	if rest, ok := strings.CutPrefix(h.program, "postern/"); ok && h.Name != "" {
		b = append(append(append(b, h.Name...), '/'), rest...)
	} else {
		b = append(b, h.program...)
	}
	b = append(b, '[')
	b = append(strconv.AppendInt(b, int64(h.pid), 10), "]: "...)
	switch {
	case r.Level >= slog.LevelError:
		b = append(b, "fatal: "...)
	case r.Level >= slog.LevelWarn:
		b = append(b, "warning: "...)
	}
	b = appendOneLine(b, r.Message)
	write := func(a slog.Attr) bool {
		if a.Key != "" {
			b = append(append(append(b, ' '), a.Key...), '=')
			b = appendOneLine(b, a.Value.String())
		}
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b = append(b, '\n')
	h.mu.Lock()
	_, err := h.w.Write(b)
	h.mu.Unlock()
	if cap(b) <= 64<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
	return err
}

// lineBufs hold lines being formatted: a line costs no allocation.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// WithAttrs returns a handler that adds attrs to every line.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	for i := len(h2.attrs) - 1; i >= 0; i-- {
		if h2.attrs[i].Key == "program" {
			h2.program = h2.attrs[i].Value.String()
			h2.attrs = append(h2.attrs[:i:i], h2.attrs[i+1:]...)
		}
	}
	return &h2
}

// WithGroup is not used by postern; groups are flattened.
func (h *Handler) WithGroup(string) slog.Handler { return h }

// appendOneLine keeps a record on one line: CR and LF from client input
// must never forge a second log line.
func appendOneLine(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n") {
		return append(b, s...)
	}
	return append(b, strings.NewReplacer("\r", "\\r", "\n", "\\n").Replace(s)...)
}

package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// errAborted is returned by I/O on a connection whose delivery was
// interrupted (its context ended).
var errAborted = errors.New("smtp: delivery interrupted")

// wire is the TCP connection under a session. Every Read and Write gets a
// fresh deadline of the current stage's timeout, as Postfix's
// smtp_stream_setup does, and abort (called when the delivery's context
// ends) makes pending and later I/O fail at once.
type wire struct {
	net.Conn
	mu      sync.Mutex
	aborted bool
	timeout time.Duration
}

func (w *wire) arm(read bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.aborted {
		return errAborted
	}
	d := time.Now().Add(w.timeout)
	if read {
		return w.Conn.SetReadDeadline(d)
	}
	return w.Conn.SetWriteDeadline(d)
}

func (w *wire) Read(p []byte) (int, error) {
	if err := w.arm(true); err != nil {
		return 0, err
	}
	return w.Conn.Read(p)
}

func (w *wire) Write(p []byte) (int, error) {
	if err := w.arm(false); err != nil {
		return 0, err
	}
	return w.Conn.Write(p)
}

func (w *wire) setTimeout(d time.Duration) {
	w.mu.Lock()
	w.timeout = d
	w.mu.Unlock()
}

func (w *wire) abort() {
	w.mu.Lock()
	w.aborted = true
	_ = w.Conn.SetDeadline(time.Unix(1, 0))
	w.mu.Unlock()
}

func (w *wire) isAborted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.aborted
}

// reply is one server reply.
type reply struct {
	code  int
	text  string   // all lines joined by spaces, codes included, as Postfix logs them
	lines []string // the text of each line after "NNN-" / "NNN "
	dsn   string   // enhanced status code, or "X.0.0" from the reply code
}

// Postfix keeps at most line_length_limit (2048) bytes of a reply.
const (
	maxReplyLine  = 2048
	maxReplyLines = 100
)

// readReply reads one (possibly multi-line) reply. Lines that do not
// start with three digits continue the reply, as in Postfix.
func readReply(r *bufio.Reader) (reply, error) {
	var rp reply
	var all []string
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			return rp, err
		}
		if len(all) < maxReplyLines {
			all = append(all, line)
		}
		code, last, text := splitReplyLine(line)
		if code > 0 {
			rp.code = code
			rp.lines = append(rp.lines, text)
			if last {
				break
			}
		}
		if n > 10*maxReplyLines {
			return rp, fmt.Errorf("smtp: reply longer than %d lines", 10*maxReplyLines)
		}
	}
	rp.text = printable(strings.Join(all, " "))
	rp.dsn = replyDSN(rp)
	return rp, nil
}

// readLine reads one line without its CRLF, keeping at most maxReplyLine
// bytes of it.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		if room := maxReplyLine - len(b); room > 0 {
			b = append(b, chunk[:min(len(chunk), room)]...)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// splitReplyLine parses "250-text" / "250 text" / "250". code is 0 when
// the line does not start with three digits.
func splitReplyLine(line string) (code int, last bool, text string) {
	if len(line) < 3 {
		return 0, false, ""
	}
	c, err := strconv.Atoi(line[:3])
	if err != nil || c < 100 || line[0] == '+' || line[0] == '-' {
		return 0, false, ""
	}
	if len(line) == 3 {
		return c, true, ""
	}
	switch line[3] {
	case '-':
		return c, false, line[4:]
	case ' ':
		return c, true, line[4:]
	}
	return 0, false, ""
}

// replyDSN takes the enhanced status code at the start of the reply text
// when it is well formed and of the reply's class, else "X.0.0".
func replyDSN(r reply) string {
	class := byte('0' + r.code/100)
	if len(r.lines) > 0 {
		f, _, _ := strings.Cut(r.lines[0], " ")
		if validDSN(f) && f[0] == class {
			return f
		}
	}
	if class < '2' || class > '5' {
		class = '4'
	}
	return string(class) + ".0.0"
}

// validDSN checks "class.subject.detail": class 2, 4 or 5, subject 1-3
// digits, detail 1-3 digits.
func validDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || strings.IndexByte("245", parts[0][0]) < 0 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// printable replaces control characters and invalid UTF-8 by '?', as
// Postfix's printable() does to server replies before logging them.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

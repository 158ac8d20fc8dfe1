package smtp

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
)

// downgrader converts 8-bit MIME content to 7-bit on the fly, as Postfix
// does for a server that does not offer 8BITMIME: every text part whose
// Content-Transfer-Encoding is 8bit (or unset, or 7bit in an 8BITMIME
// message) is re-encoded as quoted-printable and its header says so;
// multipart structure and message/rfc822 parts are followed; headers and
// parts in other encodings (base64, binary) pass unchanged. It takes the
// content as queued (CRLF lines) and writes converted lines to out.
type downgrader struct {
	out     io.Writer
	partial []byte
	stack   []string // boundaries of the enclosing multiparts
	inHead  bool
	top     bool     // the message's own header
	head    []string // header lines of the current entity
	qp      *quotedprintable.Writer
	err     error
}

func newDowngrader(out io.Writer) *downgrader {
	return &downgrader{out: out, inHead: true, top: true}
}

func (d *downgrader) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && d.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.partial = append(d.partial, p...)
			break
		}
		line := append(d.partial, p[:i]...)
		d.partial = d.partial[:0]
		d.line(strings.TrimSuffix(string(line), "\r"))
		p = p[i+1:]
	}
	return n, d.err
}

// Close ends the content: a last line without line end, an open part.
func (d *downgrader) Close() error {
	if len(d.partial) > 0 && d.err == nil {
		d.line(string(d.partial))
	}
	if d.inHead && d.err == nil { // header only: still say what it is
		d.endHead()
	}
	d.endPart()
	return d.err
}

func (d *downgrader) emit(s string) {
	if d.err == nil {
		_, d.err = io.WriteString(d.out, s+"\r\n")
	}
}

func (d *downgrader) line(l string) {
	if !d.inHead {
		for i := len(d.stack) - 1; i >= 0; i-- {
			b := d.stack[i]
			if l == "--"+b || l == "--"+b+"--" {
				d.endPart()
				d.stack = d.stack[:i+1]
				d.emit(l)
				if l == "--"+b+"--" {
					d.stack = d.stack[:i] // the epilogue follows, as is
				} else {
					d.inHead, d.head = true, d.head[:0]
				}
				return
			}
		}
		if d.qp != nil {
			if _, err := d.qp.Write([]byte(l + "\r\n")); err != nil && d.err == nil {
				d.err = err
			}
			return
		}
		d.emit(l)
		return
	}
	if l != "" {
		d.head = append(d.head, l)
		return
	}
	d.endHead()
	d.emit("")
}

// endHead decides what the entity whose header just ended is, and writes
// that header, changed when its body is to be encoded.
func (d *downgrader) endHead() {
	d.inHead = false
	ctype, cte, hasMIME := "text/plain", "", false
	var fields []string // unfolded "name: value"
	for _, h := range d.head {
		if (h[0] == ' ' || h[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += h
		} else {
			fields = append(fields, h)
		}
	}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-type":
			ctype = strings.TrimSpace(value)
		case "content-transfer-encoding":
			cte = strings.ToLower(strings.TrimSpace(value))
		case "mime-version":
			hasMIME = true
		}
	}
	mt, params, _ := mime.ParseMediaType(ctype)
	top := d.top
	d.top = false
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		d.stack = append(d.stack, params["boundary"])
		d.writeHead(d.head, false, false)
	case mt == "message/rfc822":
		d.writeHead(d.head, false, false)
		d.inHead, d.head, d.top = true, nil, false // the enclosed message's header follows
	case cte == "" || cte == "7bit" || cte == "8bit":
		d.writeHead(d.head, true, top && !hasMIME)
		d.qp = quotedprintable.NewWriter(crlfOnly{d})
	default:
		d.writeHead(d.head, false, false)
	}
}

// writeHead emits header lines; with encode, the Content-Transfer-Encoding
// field is replaced by quoted-printable.
func (d *downgrader) writeHead(head []string, encode, addVersion bool) {
	skip := false
	for _, h := range head {
		cont := h[0] == ' ' || h[0] == '\t'
		if !cont {
			name, _, _ := strings.Cut(h, ":")
			skip = encode && strings.EqualFold(strings.TrimSpace(name), "content-transfer-encoding")
		}
		if !skip {
			d.emit(h)
		}
	}
	if encode {
		if addVersion {
			d.emit("MIME-Version: 1.0")
		}
		d.emit("Content-Transfer-Encoding: quoted-printable")
	}
	d.head = d.head[:0]
}

func (d *downgrader) endPart() {
	if d.qp != nil {
		if err := d.qp.Close(); err != nil && d.err == nil {
			d.err = err
		}
		d.qp = nil
	}
}

// crlfOnly passes the quoted-printable writer's output on.
type crlfOnly struct{ d *downgrader }

func (c crlfOnly) Write(p []byte) (int, error) {
	if c.d.err != nil {
		return 0, c.d.err
	}
	return c.d.out.Write(p)
}

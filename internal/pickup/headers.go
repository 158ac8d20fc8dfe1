package pickup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// Headers cleanup removes from every message (message_drop_headers).
var droppedHeaders = map[string]bool{"bcc": true, "resent-bcc": true, "content-length": true, "return-path": true}

// The headers that make a message one being resent (Postfix's HDR_OPT_RR):
// cleanup then adds the Resent- forms of the missing headers.
var resentHeaders = map[string]bool{"resent-bcc": true, "resent-cc": true, "resent-date": true, "resent-from": true,
	"resent-message-id": true, "resent-reply-to": true, "resent-sender": true, "resent-to": true}

// headerField is one header of the submitted message, continuation lines
// included, without its final line end.
type headerField struct {
	name string // lower case
	text []byte // lines joined with CRLF
}

// rewrite reads the header section of content and returns the message to
// queue, with CRLF line ends, and the Message-ID to log. As Postfix's
// cleanup does for local submissions it puts "Received: by … (mail_name,
// from userid N)" first, drops Bcc:, Resent-Bcc:, Content-Length: and
// Return-Path:, adds a missing Message-Id:, Date: and From: (their
// Resent- forms when the message is being resent) after the last header,
// and puts the empty line that separates header and body where a body
// line follows the header directly. At most HeaderSizeLimit bytes of
// header (counted as queued: lines end in CRLF) are examined; the rest
// passes unchanged. With content stages, what rewrite passes on as
// header, its own fields included, also fits in what the stages parse
// (cleanup.MaxHeaderBytes), so that no field pickup added or examined
// is body to them.
func rewrite(cfg *Config, env *queue.Envelope, sub *Submission, uid uint32, content io.Reader) (io.Reader, string, error) {
	br := bufio.NewReaderSize(content, 64<<10)
	var out bytes.Buffer
	fmt.Fprintf(&out, "Received: by %s (%s, from userid %d)\r\n\tid %s; %s\r\n",
		cfg.MyHostname, cfg.MailName, uid, env.ID, mailDate(env.Arrival))
	var fields []headerField
	var rest []byte // the first line after the header, as read
	budget := cfg.HeaderSizeLimit
	if budget <= 0 {
		budget = DefaultHeaderSizeLimit
	}
	if len(cfg.Stages) > 0 {
		id, date, from := addedFields(cfg, env, sub, "Resent-") // the longest they can be
		room := int64(cleanup.MaxHeaderBytes - out.Len() - len(id) - len(date) - len(from))
		budget = min(budget, max(room, 0))
	}
	blank, overflow := false, false
scan:
	for {
		line, err := readLine(br, budget)
		if err != nil && err != io.EOF {
			return nil, "", err // a damaged or oversized file
		}
		if len(line) == 0 {
			break // the content ends with the header
		}
		text := bytes.TrimRight(line, "\r\n")
		budget -= int64(len(text) + 2) // as queued, with CRLF
		switch {
		case budget < 0:
			rest, overflow = line, true // too long to examine: passed on as it is
		case len(text) == 0 && err == nil:
			blank = true
		case len(text) > 0 && (text[0] == ' ' || text[0] == '\t') && len(fields) > 0:
			f := &fields[len(fields)-1]
			f.text = append(append(f.text, "\r\n"...), text...)
			if err == nil {
				continue scan
			}
		default:
			name, ok := headerName(text)
			if !ok {
				rest = line
				break scan
			}
			fields = append(fields, headerField{name: strings.ToLower(name), text: append([]byte(nil), text...)})
			if err == nil {
				continue scan
			}
		}
		break
	}
	seen := map[string]bool{}
	resent := false
	msgID := ""
	for _, f := range fields {
		seen[f.name] = true
		resent = resent || resentHeaders[f.name]
		if f.name == "message-id" && msgID == "" {
			_, v, _ := bytes.Cut(f.text, []byte(":"))
			msgID = strings.Join(strings.Fields(string(v)), " ")
		}
		if !isASCII(string(f.text)) {
			env.SMTPUTF8 = true // smtputf8_autodetect_classes = sendmail
		}
		if !droppedHeaders[f.name] {
			out.Write(f.text)
			out.WriteString("\r\n")
		}
	}
	prefix := ""
	if resent {
		prefix = "Resent-"
	}
	idField, dateField, fromField := addedFields(cfg, env, sub, prefix)
	if id := strings.ToLower(prefix) + "message-id"; !seen[id] {
		out.WriteString(idField)
		if !resent {
			msgID = generatedID(cfg, env)
		}
	}
	if !seen[strings.ToLower(prefix)+"date"] {
		out.WriteString(dateField)
	}
	if !seen[strings.ToLower(prefix)+"from"] {
		out.WriteString(fromField)
	}
	if msgID == "" {
		msgID = "<>" // as Postfix logs mail without one
	}
	if blank || len(rest) > 0 && !overflow {
		out.WriteString("\r\n") // the separator, added where a body line followed the header
	}
	body := io.MultiReader(bytes.NewReader(rest), br)
	return io.MultiReader(&out, &crlfReader{r: body}), msgID, nil
}

// addedFields formats the Message-Id:, Date: and From: fields rewrite
// adds when they are missing (prefix "Resent-" for a resent message).
func addedFields(cfg *Config, env *queue.Envelope, sub *Submission, prefix string) (id, date, from string) {
	return fmt.Sprintf("%sMessage-Id: %s\r\n", prefix, generatedID(cfg, env)),
		fmt.Sprintf("%sDate: %s\r\n", prefix, mailDate(env.Arrival)),
		fmt.Sprintf("%sFrom: %s\r\n", prefix, fromValue(env.Sender, sub.FullName))
}

// generatedID is the Message-ID rewrite gives a message without one.
func generatedID(cfg *Config, env *queue.Envelope) string {
	return fmt.Sprintf("<%s.%s@%s>", env.Arrival.UTC().Format("20060102150405"), env.ID, cfg.MyHostname)
}

// readLine reads up to and including '\n', or max+1 bytes of a longer
// line; err is io.EOF when the content ends without a line end.
func readLine(br *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		switch {
		case err == bufio.ErrBufferFull && int64(len(line)) <= max:
			continue
		case err == bufio.ErrBufferFull:
			return line, nil // the caller sees it exceed the budget
		}
		return line, err
	}
}

// headerName returns the name of a header line: printable ASCII other
// than ':' before the colon, blanks allowed before it (Postfix's
// is_header()).
func headerName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	name := strings.TrimRight(string(line[:i]), " \t")
	if name == "" {
		return "", false
	}
	for j := 0; j < len(name); j++ {
		if name[j] <= ' ' || name[j] > '~' {
			return "", false
		}
	}
	return name, true
}

// mailDate is Postfix's mail_date(): local time, numeric zone and its name.
func mailDate(t time.Time) string { return t.Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)") }

// fromValue is the value of a generated From: header as Postfix's
// header_from_format = standard writes it: "Full Name <sender>", the
// bare address without a name, MAILER-DAEMON for the null sender.
func fromValue(sender, fullName string) string {
	if sender == "" {
		return "MAILER-DAEMON"
	}
	name := strings.Join(strings.FieldsFunc(fullName, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
	if name == "" {
		return sender
	}
	return phrase(name) + " <" + sender + ">"
}

// phrase makes a display name safe for a header: RFC 2047 encoded when
// not ASCII, quoted when it holds specials.
func phrase(name string) string {
	if !isASCII(name) {
		return mime.QEncoding.Encode("utf-8", name)
	}
	if !strings.ContainsAny(name, "()<>[]:;@\\,.\"") {
		return name
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(name) + `"`
}

// crlfReader turns every LF not preceded by CR into CRLF and ends the
// content with a line end, the queue's form of content.
type crlfReader struct {
	r    io.Reader
	buf  []byte
	out  []byte
	last byte // the last byte passed on
	any  bool
	eof  bool
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		if c.buf == nil {
			c.buf = make([]byte, 32<<10)
		}
		n, err := c.r.Read(c.buf)
		c.out = c.out[:0]
		for _, b := range c.buf[:n] {
			if b == '\n' && c.last != '\r' {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, b)
			c.last, c.any = b, true
		}
		if err == io.EOF {
			c.eof = true
			if c.any && c.last != '\n' {
				c.out = append(c.out, '\r', '\n')
			}
		} else if err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

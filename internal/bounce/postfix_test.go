package bounce

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// TestPostfixConformance gives Compose the facts of each notice Postfix
// 3.7.11 produced (testdata/postfix, captured by capture.sh: IDs, times,
// addresses, reasons, the returned content) with mail_name = Postfix, and
// expects Postfix's notice byte for byte.
func TestPostfixConformance(t *testing.T) {
	cases := []struct {
		file     string
		ret      string
		eightBit bool
		bodySize int // bytes of body to feed after returned headers
	}{
		{file: "01-failure.eml"},
		{file: "02-multi-orcpt.eml"},
		{file: "03-ret-hdrs-envid.eml", ret: "HDRS"},
		{file: "04-8bit.eml", eightBit: true},
		{file: "05-oversize.eml", bodySize: 73000},
		{file: "06-success.eml"},
		{file: "07-delay.eml"},
		{file: "08-double-bounce.eml"},
		{file: "09-postmaster-copy.eml"},
		{file: "10-long-reason.eml"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "postfix", c.file))
			if err != nil {
				t.Fatal(err)
			}
			want := crlf(raw)
			p := paramsFromNotice(t, want)
			p.Env.Ret, p.Env.EightBit = c.ret, c.eightBit
			p.MailName = "Postfix"
			p.DelayWarning = time.Second // capture.sh's delay_warning_time
			if c.bodySize > 0 || p.Kind != Failure || p.To == PostmasterCopy || c.ret == "HDRS" {
				// Postfix returned headers only: any body will do.
				body := strings.Repeat("x", max(c.bodySize, 10))
				p.Content = io.MultiReader(p.Content, strings.NewReader("\r\n"+body+"\r\n"))
			}
			env, got, err := Compose(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("notice differs from Postfix's:\n%s", lineDiff(string(want), string(got)))
			}
			if env.ID != p.NewID || len(env.Recipients) != 1 {
				t.Errorf("envelope %+v", env)
			}
		})
	}
}

// paramsFromNotice reads back from a notice what Compose needs to make it.
func paramsFromNotice(t *testing.T, notice []byte) *Params {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(notice))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	p := &Params{Hostname: "mx.example.test", Env: &queue.Envelope{}}
	subject := h.Get("Subject")
	switch {
	case strings.Contains(subject, "Undelivered"):
		p.Kind = Failure
	case strings.Contains(subject, "Delayed"):
		p.Kind = Delay
	default:
		p.Kind = Success
	}
	if strings.HasPrefix(subject, "Postmaster") {
		p.To, p.Postmaster = PostmasterCopy, h.Get("To")
	}
	if p.Now, err = time.Parse(dateLayout, h.Get("Date")); err != nil {
		t.Fatal(err)
	}
	msgid := h.Get("Message-Id")
	p.NewID = msgid[strings.Index(msgid, ".")+1 : strings.Index(msgid, "@")]

	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	var bodies [][]byte
	for {
		part, err := parts.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	if len(bodies) != 3 {
		t.Fatalf("%d parts", len(bodies))
	}
	blocks := statusBlocks(t, bodies[1])
	perMsg := blocks[0]
	p.ID = perMsg.Get("X-Postfix-Queue-ID")
	p.Env.EnvID = perMsg.Get("Original-Envelope-Id")
	if p.Env.Arrival, err = time.Parse(dateLayout, perMsg.Get("Arrival-Date")); err != nil {
		t.Fatal(err)
	}
	_, sender, _ := strings.Cut(perMsg.Get("X-Postfix-Sender"), "; ")
	if sender == "MAILER-DAEMON@"+p.Hostname {
		sender = ""
		p.To = DoubleBounce
	}
	p.Env.Sender = sender
	for i, b := range blocks[1:] {
		_, addr, _ := strings.Cut(b.Get("Final-Recipient"), "; ")
		p.Env.Recipients = append(p.Env.Recipients, queue.Recipient{Addr: addr, ORcpt: b.Get("Original-Recipient")})
		_, why, _ := strings.Cut(b.Get("Diagnostic-Code"), "; ")
		p.Status = append(p.Status, queue.RcptStatus{Action: b.Get("Action"), DSN: b.Get("Status"), Reason: why})
		p.Rcpts = append(p.Rcpts, i)
	}
	returned, ok := bytes.CutPrefix(bodies[2], []byte("Return-Path: <"+orDefault(sender, "MAILER-DAEMON@"+p.Hostname)+">\r\n"))
	if !ok {
		t.Fatalf("returned message without Return-Path:\n%s", bodies[2])
	}
	p.Content = bytes.NewReader(returned)
	return p
}

// statusBlocks parses a message/delivery-status body into its blocks.
func statusBlocks(t *testing.T, body []byte) []textproto.MIMEHeader {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	var blocks []textproto.MIMEHeader
	for {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			blocks = append(blocks, h)
		}
		if err == io.EOF {
			return blocks
		}
		if err != nil {
			t.Fatalf("delivery-status: %v\n%s", err, body)
		}
	}
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

const dateLayout = "Mon, 2 Jan 2006 15:04:05 -0700 (MST)"

// lineDiff shows the first differing line of two texts, with context.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(same lines)"
}

package bounce

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
)

// TestStructure parses every golden notice with net/mail and
// mime/multipart and checks what RFC 3464 (and RFC 3461/3462/3834)
// require of it, from the inputs rather than from the golden text.
func TestStructure(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			p, _, out := composeCase(t, c)
			checkLines(t, out)
			msg, err := mail.ReadMessage(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Header
			toPostmaster := p.To != ToSender
			wantHeader := map[string]string{
				"From":           "Mail Delivery System <MAILER-DAEMON@mx.example.test>",
				"MIME-Version":   "1.0",
				"Auto-Submitted": map[bool]string{false: "auto-replied", true: "auto-generated"}[toPostmaster],
				"Message-Id":     "<20261124175231.NOTICEID@mx.example.test>",
				"Subject":        map[Kind]string{Failure: "Undelivered Mail Returned to Sender", Delay: "Delayed Mail (still being retried)", Success: "Successful Mail Delivery Report"}[p.Kind],
			}
			if toPostmaster {
				wantHeader["Subject"] = "Postmaster Copy: Undelivered Mail"
			}
			for k, v := range wantHeader {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if d, err := h.Date(); err != nil || !d.Equal(now) {
				t.Errorf("Date: %v %v", d, err)
			}
			to, err := mail.ParseAddress(h.Get("To"))
			if err != nil && !p.Env.SMTPUTF8 {
				t.Errorf("To: %v", err)
			} else if err == nil && to.Address != map[bool]string{false: p.Env.Sender, true: "postmaster@mx.example.test"}[toPostmaster] {
				t.Errorf("To: %q", to.Address)
			}
			mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
			if err != nil || mediaType != "multipart/report" || params["report-type"] != "delivery-status" || params["boundary"] == "" {
				t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
			}
			if len(params["boundary"]) > 70 {
				t.Errorf("boundary longer than 70: %q", params["boundary"])
			}
			eightBit := p.Env.EightBit || p.Env.SMTPUTF8
			if got := h.Get("Content-Transfer-Encoding"); (got == "8bit") != eightBit {
				t.Errorf("Content-Transfer-Encoding %q, 8-bit content %v", got, eightBit)
			}
			if !eightBit && !isASCII(string(out)) {
				t.Errorf("8-bit bytes in a 7bit notice")
			}
			parts := readParts(t, msg.Body, params["boundary"])
			if len(parts) != 3 {
				t.Fatalf("%d parts, want 3", len(parts))
			}
			checkText(t, p, parts[0])
			checkStatus(t, p, parts[1])
			checkReturned(t, p, c, parts[2])
		})
	}
}

type part struct {
	header map[string]string
	body   []byte
}

func readParts(t *testing.T, body io.Reader, boundary string) []part {
	t.Helper()
	r := multipart.NewReader(body, boundary)
	var parts []part
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for k := range p.Header {
			h[k] = p.Header.Get(k)
		}
		parts = append(parts, part{h, b})
	}
}

// checkLines: CRLF everywhere, no bare CR or LF, lines within RFC 5322's 998.
func checkLines(t *testing.T, out []byte) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Error("does not end in CRLF")
	}
	for i, line := range bytes.Split(out, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d: bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d: %d bytes", i+1, len(line))
		}
	}
}

func checkText(t *testing.T, p *Params, pt part) {
	t.Helper()
	if ct := pt.header["Content-Type"]; !strings.HasPrefix(ct, "text/plain; charset=") {
		t.Errorf("text part Content-Type %q", ct)
	}
	text := string(pt.body)
	if hasBoilerplate := strings.Contains(text, "This is the mail system at host mx.example.test."); hasBoilerplate == (p.To != ToSender) {
		t.Errorf("boilerplate %v for audience %d", hasBoilerplate, p.To)
	}
	for _, i := range p.Rcpts {
		if !strings.Contains(text, "\r\n<"+p.Env.Recipients[i].Addr+">: ") {
			t.Errorf("no line for recipient %s", p.Env.Recipients[i].Addr)
		}
	}
}

var statusCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

func checkStatus(t *testing.T, p *Params, pt part) {
	t.Helper()
	wantType := "message/delivery-status"
	if p.Env.SMTPUTF8 {
		wantType = "message/global-delivery-status"
	}
	if ct := pt.header["Content-Type"]; ct != wantType {
		t.Errorf("report Content-Type %q, want %q", ct, wantType)
	}
	blocks := statusBlocks(t, pt.body)
	if len(blocks) != 1+len(p.Rcpts) {
		t.Fatalf("%d blocks for %d recipients", len(blocks), len(p.Rcpts))
	}
	m := blocks[0]
	if got := m.Get("Reporting-MTA"); got != "dns; mx.example.test" {
		t.Errorf("Reporting-MTA %q", got)
	}
	if got := m.Get("X-Postern-Queue-ID"); got != p.ID {
		t.Errorf("X-Postern-Queue-ID %q", got)
	}
	if got, want := m.Get("X-Postern-Sender"), "; "+orDefault(p.Env.Sender, "MAILER-DAEMON@mx.example.test"); !strings.HasSuffix(got, want) {
		t.Errorf("X-Postern-Sender %q, want …%q", got, want)
	}
	if got := m.Get("Arrival-Date"); got != "Tue, 24 Nov 2026 16:22:31 +0000 (UTC)" {
		t.Errorf("Arrival-Date %q", got)
	}
	if got := m.Get("Original-Envelope-Id"); (got != "") != (p.Env.EnvID != "") || strings.ContainsAny(got, "\r\n") {
		t.Errorf("Original-Envelope-Id %q for ENVID %q", got, p.Env.EnvID)
	}
	for n, i := range p.Rcpts {
		b, rcpt, st := blocks[1+n], p.Env.Recipients[i], p.Status[i]
		if got := b.Get("Final-Recipient"); !strings.HasSuffix(got, "; "+rcpt.Addr) {
			t.Errorf("Final-Recipient %q for %s", got, rcpt.Addr)
		}
		if got := b.Get("Original-Recipient"); got != rcpt.ORcpt {
			t.Errorf("Original-Recipient %q, ORCPT %q", got, rcpt.ORcpt)
		}
		wantAction := map[Kind]string{Failure: "failed", Delay: "delayed", Success: st.Action}[p.Kind]
		if got := b.Get("Action"); got != wantAction {
			t.Errorf("Action %q, want %q", got, wantAction)
		}
		if got := b.Get("Status"); got != st.DSN || !statusCode.MatchString(got) {
			t.Errorf("Status %q, want %q", got, st.DSN)
		}
		if got := b.Get("Remote-MTA"); (got != "") != (st.RemoteMTA != "") {
			t.Errorf("Remote-MTA %q for %q", got, st.RemoteMTA)
		}
		if got := b.Get("Diagnostic-Code"); !strings.Contains(got, "; ") {
			t.Errorf("Diagnostic-Code %q", got)
		}
		if got := b.Get("Will-Retry-Until"); (got == "Sun, 29 Nov 2026 16:22:31 +0000 (UTC)") != (p.Kind == Delay) {
			t.Errorf("Will-Retry-Until %q in a %v notice", got, p.Kind)
		}
	}
}

func checkReturned(t *testing.T, p *Params, c goldenCase, pt part) {
	t.Helper()
	full := c.content != "-" && p.Kind == Failure && p.To != PostmasterCopy && p.Env.Ret == "" &&
		len(c.content) <= DefaultMaxReturned
	ct := pt.header["Content-Type"]
	switch {
	case c.content == "-":
		if string(pt.body) != "\t--- Undelivered message unavailable ---\r\n" {
			t.Errorf("placeholder %q", pt.body)
		}
		return
	case full && ct != "message/rfc822" && ct != "message/global",
		!full && ct != "text/rfc822-headers" && ct != "message/global-headers":
		t.Errorf("returned Content-Type %q, whole message %v", ct, full)
	}
	if (pt.header["Content-Transfer-Encoding"] == "8bit") != (p.Env.EightBit || p.Env.SMTPUTF8) {
		t.Errorf("returned Content-Transfer-Encoding %q", pt.header["Content-Transfer-Encoding"])
	}
	msg, err := mail.ReadMessage(bytes.NewReader(pt.body))
	if err != nil {
		t.Fatalf("returned message: %v", err)
	}
	if got := msg.Header.Get("Return-Path"); got != "<"+orDefault(p.Env.Sender, "MAILER-DAEMON@mx.example.test")+">" {
		t.Errorf("Return-Path %q", got)
	}
	if got := msg.Header.Get("Subject"); got != "Lunch" {
		t.Errorf("returned Subject %q", got)
	}
	body, _ := io.ReadAll(msg.Body)
	_, origBody, _ := strings.Cut(c.content, "\r\n\r\n")
	if full && string(body) != origBody {
		t.Errorf("returned body %q, want %q", body, origBody)
	}
	if !full && len(body) != 0 {
		t.Errorf("headers-only part has a body: %q", body)
	}
}

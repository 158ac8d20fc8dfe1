package smtpd_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/milter/miltertest"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// readReply reads one whole reply (all its lines) and checks that each
// line is well formed: a 3-digit code, the same on every line, "-" or
// " " after it, CRLF only at the end, no control character, at most 512
// bytes with CRLF. It returns the code; "" when the connection closed.
func readReply(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	code := ""
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			if l != "" {
				t.Errorf("reply line without CRLF: %q", l)
			}
			return ""
		}
		body, ok := strings.CutSuffix(l, "\r\n")
		switch {
		case !ok:
			t.Fatalf("reply line ends with a bare LF (injected line?): %q", l)
		case len(l) > 512:
			t.Errorf("reply line of %d bytes", len(l))
		case strings.IndexFunc(body, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
			t.Errorf("reply line with a control character: %q", l)
		case len(body) < 4 || body[3] != ' ' && body[3] != '-' || strings.Trim(body[:3], "0123456789") != "":
			t.Fatalf("malformed reply line %q", l)
		case code != "" && body[:3] != code:
			t.Errorf("reply line %q: code changes from %s", l, code)
		}
		code = body[:3]
		if body[3] == ' ' {
			return code
		}
	}
}

// Whatever a milter replies at any stage, the client gets well-formed
// reply lines (no panic, no injected line, no overlong line), the
// command is refused and the session goes on (or ends after 421).
func TestMilterHostileReplies(t *testing.T) {
	replies := map[string]string{
		"continuation then junk": "550-5.7.1 a\r\nx",
		"short continuation":     "550-5.7.1 a\r\n5",
		"empty continuation":     "550-5.7.1 a\r\n\r\n",
		"bare LF injection":      "550 5.7.1 a\n250 2.0.0 injected",
		"bare CR":                "550 5.7.1 a\r250 2.0.0 injected",
		"421 continuation":       "421-4.7.0 a\r\nx",
		"long":                   "550 5.7.1 " + strings.Repeat("x", 2000),
		"control characters":     "550 5.7.1 a\x01\x1b[2Jb\x7f",
		"code only":              "5",
		"empty":                  "",
		"NUL":                    "550 5.7.1 a\x00250 ok",
	}
	stages := map[string]byte{
		"CONNECT": milter.CmdConnect, "HELO": milter.CmdHelo, "MAIL": milter.CmdMail,
		"RCPT": milter.CmdRcpt, "DATA": milter.CmdData, "END-OF-MESSAGE": milter.CmdEOB,
		"UNKNOWN": milter.CmdUnknown,
	}
	for stage, cmd := range stages {
		for name, text := range replies {
			t.Run(stage+"/"+name, func(t *testing.T) {
				t.Parallel()
				m := miltertest.Start(t, on(cmd, milter.Reply{Cmd: milter.RepReplyCode, Text: text}))
				s := smtptest.NewServerWith(t, "smtpd_milters = "+m.Name+"\n", smtptest.Options{SpoolDir: t.TempDir()})
				c, err := net.Dial("tcp4", s.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				code := readReply(t, br) // greeting: 220, or 554/421 after a CONNECT reject
				cmds := []string{"EHLO client.test", "MAIL FROM:<a@example.test>", "RCPT TO:<b@mx.example.test>", "DATA",
					"Subject: t\r\n\r\nbody\r\n."}
				if stage == "UNKNOWN" {
					cmds = []string{"EHLO client.test", "XYZZY"}
				}
				for _, l := range cmds {
					if code == "421" || code == "" || code[0] == '4' || code[0] == '5' && code != "554" {
						break
					}
					if _, err := c.Write([]byte(l + "\r\n")); err != nil {
						t.Fatal(err)
					}
					code = readReply(t, br)
				}
				switch {
				case code == "421":
					c.Write([]byte("NOOP\r\n"))
					if l, err := br.ReadString('\n'); err == nil {
						t.Errorf("session goes on after 421: %q", l)
					} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Errorf("connection left open after 421")
					}
				case code == "" || code[0] != '4' && code[0] != '5':
					t.Errorf("no refusal, last reply %q", code)
				default:
					c.Write([]byte("NOOP\r\n"))
					if code := readReply(t, br); code != "250" {
						t.Errorf("NOOP after the refusal: %q", code)
					}
				}
				for _, l := range strings.Split(s.Logged(), "\n") {
					if strings.HasPrefix(l, "250 ") || strings.ContainsAny(l, "\r\x00\x01") {
						t.Errorf("log line injected or with a control character: %q", l)
					}
				}
			})
		}
	}
}

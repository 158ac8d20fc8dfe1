package smtpd

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/smtpio"
)

// reply never panics and never sends a malformed or split line,
// whatever it is given (a milter's reply reaches it): short lines, no
// code, CR, LF and NUL are mended.
func TestReplyMalformedLines(t *testing.T) {
	for _, lines := range [][]string{
		{"5"}, {""}, {"55"}, {"550-5.7.1 a", "x"}, {"550-5.7.1 a", ""}, {"550 a\x00b"},
		{"550 5.7.1 a\n250 2.0.0 injected"}, {"550 5.7.1 a\r\n250 b"}, {"abc def"}, {},
	} {
		var out strings.Builder
		ss := &session{cfg: &Config{SoftErrorLimit: 10}, w: newReplyWriter(&out),
			rd: smtpio.NewReader(strings.NewReader(""), smtpio.Normalize)}
		ss.reply(lines...)
		got := out.String()
		sent := strings.SplitAfter(got, "\r\n")
		if sent[len(sent)-1] != "" || len(sent)-1 != len(lines) {
			t.Errorf("%q: sent %q", lines, got)
			continue
		}
		for _, l := range sent[:len(sent)-1] {
			body := strings.TrimSuffix(l, "\r\n")
			if len(body) < 4 || strings.Trim(body[:3], "0123456789") != "" || strings.ContainsAny(body, "\r\n\x00") {
				t.Errorf("%q: sent line %q", lines, l)
			}
		}
	}
}

package pickup

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

var testCfg = Config{MyHostname: "mx.example.test", MyOrigin: "example.test", MailName: "postern", HeaderSizeLimit: DefaultHeaderSizeLimit}

// arrival is 24 Nov 2026 21:32:39 UTC, shown in UTC.
var arrival = time.Date(2026, 11, 24, 21, 32, 39, 0, time.UTC)

const (
	received = "Received: by mx.example.test (postern, from userid 1000)\r\n\tid 4jYxQ92tW7z1DY; Tue, 24 Nov 2026 21:32:39 +0000 (UTC)\r\n"
	added    = "Message-Id: <20261124213239.4jYxQ92tW7z1DY@mx.example.test>\r\nDate: Tue, 24 Nov 2026 21:32:39 +0000 (UTC)\r\n"
)

func rewriteString(t *testing.T, cfg Config, sender, fullName, content string) (string, string) {
	t.Helper()
	env := &queue.Envelope{ID: "4jYxQ92tW7z1DY", Sender: sender, Arrival: arrival}
	r, id, err := rewrite(&cfg, env, &Submission{FullName: fullName}, 1000, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), id
}

// The headers pickup adds, as Postfix's cleanup adds them to mail from
// sendmail (compare internal/bounce/testdata/postfix/10-long-reason.eml:
// "Subject: long", then Message-Id:, Date:, "From: root <proxy@…>").
func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name, sender, fullName, in, want, msgID string
	}{
		{"Postfix sample", "proxy@mx.example.test", "root", "Subject: long\n\nx\n",
			received + "Subject: long\r\n" + added + "From: root <proxy@mx.example.test>\r\n\r\nx\r\n",
			"<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"complete header kept", "a@example.test", "Ann",
			"From: Ann <a@example.test>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <m1@client.example>\n\nhi\n",
			received + "From: Ann <a@example.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@client.example>\r\n\r\nhi\r\n",
			"<m1@client.example>"},
		{"no name, no header, no body", "a@example.test", "", "",
			received + added + "From: a@example.test\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"null sender", "", "Ann", "Subject: s\n\nb\n",
			received + "Subject: s\r\n" + added + "From: MAILER-DAEMON\r\n\r\nb\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"Bcc and friends dropped", "a@example.test", "",
			"To: x@example.test\nBcc: secret@example.test,\n other@example.test\nReturn-Path: <forged@example.test>\nContent-Length: 3\nFrom: a@example.test\nDate: d\nMessage-Id: <m>\n\nb\n",
			received + "To: x@example.test\r\nFrom: a@example.test\r\nDate: d\r\nMessage-Id: <m>\r\n\r\nb\r\n", "<m>"},
		{"body right after the header gets its separator", "a@example.test", "",
			"Subject: s\nthis is body\n",
			received + "Subject: s\r\n" + added + "From: a@example.test\r\n\r\nthis is body\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"no header at all", "a@example.test", "", "just text\nmore\n",
			received + added + "From: a@example.test\r\n\r\njust text\r\nmore\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"folded header, CRLF input, last line unterminated", "a@example.test", "",
			"Subject: one\r\n two\r\nFrom: a@example.test\r\n\r\nline\r\nlast",
			received + "Subject: one\r\n two\r\nFrom: a@example.test\r\n" + added + "\r\nline\r\nlast\r\n",
			"<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"resent", "a@example.test", "", "From: x@example.test\nDate: d\nMessage-ID: <orig@x>\nResent-To: b@example.test\nResent-Bcc: c@example.test\nX-Resent-Foo: y\n\nb\n",
			received + "From: x@example.test\r\nDate: d\r\nMessage-ID: <orig@x>\r\nResent-To: b@example.test\r\nX-Resent-Foo: y\r\n" +
				"Resent-Message-Id: <20261124213239.4jYxQ92tW7z1DY@mx.example.test>\r\nResent-Date: Tue, 24 Nov 2026 21:32:39 +0000 (UTC)\r\nResent-From: a@example.test\r\n\r\nb\r\n",
			"<orig@x>"},
		{"name with specials is quoted", "a@example.test", `Doe, "JD" John`, "\n",
			received + added + `From: "Doe, \"JD\" John" <a@example.test>` + "\r\n\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"non-ASCII name is encoded", "a@example.test", "Jürgen", "\n",
			received + added + "From: =?utf-8?q?J=C3=BCrgen?= <a@example.test>\r\n\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
		{"control characters leave the name", "a@example.test", "Evil\r\nBcc: x", "\n",
			received + added + "From: \"Evil Bcc: x\" <a@example.test>\r\n\r\n", "<20261124213239.4jYxQ92tW7z1DY@mx.example.test>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, id := rewriteString(t, testCfg, tc.sender, tc.fullName, tc.in)
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if id != tc.msgID {
				t.Errorf("message-id %q, want %q", id, tc.msgID)
			}
		})
	}
}

// A header section beyond header_size_limit is not examined: what does
// not fit passes on unchanged, after the added headers.
func TestRewriteHeaderLimit(t *testing.T) {
	cfg := testCfg
	cfg.HeaderSizeLimit = 64
	long := "X-Long: " + strings.Repeat("y", 100) + "\n"
	got, _ := rewriteString(t, cfg, "a@example.test", "", "Subject: s\n"+long+"From: f@example.test\n\nb\n")
	want := received + "Subject: s\r\n" + added + "From: a@example.test\r\n" + strings.TrimSuffix(long, "\n") + "\r\nFrom: f@example.test\r\n\r\nb\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// Errors of the content (a damaged file, too much of it) reach the caller
// and so the queue: nothing is queued.
func TestRewriteContentErrors(t *testing.T) {
	env := &queue.Envelope{ID: "4jYxQ92tW7z1DY", Arrival: arrival}
	damaged := io.MultiReader(strings.NewReader("Subject: s\n"), errReader{ErrMalformed})
	if _, _, err := rewrite(&testCfg, env, &Submission{}, 0, damaged); !errors.Is(err, ErrMalformed) {
		t.Errorf("damaged header: %v", err)
	}
	big := &limitReader{r: strings.NewReader("Subject: s\n\n" + strings.Repeat("x", 100)), left: 50}
	r, _, err := rewrite(&testCfg, env, &Submission{}, 0, big)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, errTooBig) {
		t.Errorf("oversized body: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestCRLFReader(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "a": "a\r\n", "a\n": "a\r\n", "a\r\n": "a\r\n", "a\n\nb": "a\r\n\r\nb\r\n", "bare\rcr\n": "bare\rcr\r\n",
	} {
		b, _ := io.ReadAll(&crlfReader{r: strings.NewReader(in)})
		if string(b) != want {
			t.Errorf("%q: got %q, want %q", in, b, want)
		}
	}
}

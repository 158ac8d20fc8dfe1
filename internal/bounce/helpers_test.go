package bounce

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

func TestWrap(t *testing.T) {
	long := strings.Repeat("x", 90)
	tests := []struct{ in, want string }{
		{"", ""},
		{"short line", "short line"},
		{"trailing blanks   ", "trailing blanks"},
		// 79 bytes fit, the 80th goes to the next line.
		{strings.Repeat("a", 75) + " bcd", strings.Repeat("a", 75) + " bcd"},
		{strings.Repeat("a", 75) + " bcde", strings.Repeat("a", 75) + "\r\n    bcde"},
		// A word longer than a line is never broken.
		{long, long},
		{"lead " + long + " tail", "lead\r\n    " + long + "\r\n    tail"},
		// Blanks at the break are dropped; continuation lines hold 75 bytes.
		{strings.Repeat("a", 79) + "   " + strings.Repeat("b ", 40), strings.Repeat("a", 79) + "\r\n    " + strings.TrimSpace(strings.Repeat("b ", 38)) + "\r\n    b b"},
	}
	for _, tc := range tests {
		if got := wrap(tc.in, wrapWidth, wrapIndent); got != tc.want {
			t.Errorf("wrap(%q):\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		in     string
		utf8OK bool
		want   string
	}{
		{"plain text", false, "plain text"},
		{"a\r\nb", false, "a??b"},
		{"tab\tok", false, "tab\tok"},
		{"del\x7f nul\x00", false, "del? nul?"},
		{"grüße", false, "gr??e"},
		{"grüße", true, "grüße"},
		{"bad \xff byte", true, "bad ? byte"},
		{"c1 \u0085", true, "c1 ?"},
		{"real \uFFFD", true, "real \uFFFD"},
	}
	for _, tc := range tests {
		if got := mask(tc.in, tc.utf8OK); got != tc.want {
			t.Errorf("mask(%q, %v) = %q, want %q", tc.in, tc.utf8OK, got, tc.want)
		}
	}
}

func TestXToken(t *testing.T) {
	for in, want := range map[string]string{"": "Postern", "postern": "Postern", "Postfix": "Postfix", "my mail(x)": "My-mail-x-", "a.b@c": "A-b-c", "élan": "?lan"} {
		if got := xToken(in); got != want {
			t.Errorf("xToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadOriginal(t *testing.T) {
	const head = "From: a@example.test\r\nSubject: s\r\n continued\r\n"
	tests := []struct {
		name        string
		in          string
		limit       int64
		headersOnly bool
		want        string
		wantHeaders bool
		want8bit    bool
	}{
		{"whole", head + "\r\nbody\r\n", 100, false, head + "\r\nbody\r\n", false, false},
		{"exactly the limit", head + "\r\nbody\r\n", int64(len(head) + 8), false, head + "\r\nbody\r\n", false, false},
		{"one byte over", head + "\r\nbody\r\n", int64(len(head) + 7), false, head, true, false},
		{"no limit", head + "\r\n" + strings.Repeat("b", 1e5), -1, false, head + "\r\n" + strings.Repeat("b", 1e5) + "\r\n", false, false},
		{"headers asked", head + "\r\nbody\r\n", 100, true, head, true, false},
		{"headers longer than the limit", head + "X-Long: " + strings.Repeat("h", 200) + "\r\n\r\nbody\r\n", 50, false, head + "X-Long: " + strings.Repeat("h", 200) + "\r\n", true, false},
		{"bare LF and no final newline", "Subject: s\n\nbody", 100, false, "Subject: s\r\n\r\nbody\r\n", false, false},
		{"no header section", "just text\r\n", 5, false, "", true, false},
		{"header ends at a non-header line", "Subject: s\r\nnot a header\r\nX: y\r\n", 5, false, "Subject: s\r\n", true, false},
		{"8-bit body", head + "\r\nGrüße\r\n", 100, false, head + "\r\nGrüße\r\n", false, true},
		{"8-bit body cut off", head + "\r\nGrüße\r\n", 10, false, head, true, false},
		{"empty", "", 100, false, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := readOriginal(strings.NewReader(tc.in), tc.limit, tc.headersOnly)
			if err != nil {
				t.Fatal(err)
			}
			if string(o.data) != tc.want || o.headersOnly != tc.wantHeaders || o.eightBit != tc.want8bit {
				t.Errorf("got %q headersOnly=%v 8bit=%v, want %q %v %v", o.data, o.headersOnly, o.eightBit, tc.want, tc.wantHeaders, tc.want8bit)
			}
		})
	}
}

// TestReadOriginalBounded: a header section without end is cut near
// maxHeaderBytes instead of being read whole.
func TestReadOriginalBounded(t *testing.T) {
	in := strings.Repeat("X-Filler: "+strings.Repeat("f", 80)+"\r\n", 3*maxHeaderBytes/90)
	o, err := readOriginal(strings.NewReader(in), 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	if !o.headersOnly || len(o.data) < maxHeaderBytes || len(o.data) > maxHeaderBytes+1000 {
		t.Errorf("returned %d bytes of a %d-byte header section", len(o.data), len(in))
	}
	if !strings.HasSuffix(string(o.data), "f\r\n") {
		t.Errorf("not cut at a line end: %q", o.data[len(o.data)-20:])
	}
}

func TestBoundary(t *testing.T) {
	tests := []struct {
		id, host, content, want string
	}{
		{"ABC", "mx.example.test", "", "ABC.1700000000/mx.example.test"},
		{"ABC", "mx.example.test", "text\r\n--ABC.1700000000/mx.example.test\r\n", "ABC.1700000000/mx.example.test.1"},
		{"ABC", "mx.example.test", "--ABC.1700000000/mx.example.test--\r\n", "ABC.1700000000/mx.example.test.1"},
		{"ABC", "mx.example.test", "x --ABC.1700000000/mx.example.test\r\n", "ABC.1700000000/mx.example.test"},
		{"A B", "h\"st;[x]", "", "A-B.1700000000/h-st--x-"},
		{"ABC", strings.Repeat("h", 100), "", ("ABC.1700000000/" + strings.Repeat("h", 100))[:66]},
	}
	for _, tc := range tests {
		if got := boundary(tc.id, 1700000000, tc.host, []byte(tc.content)); got != tc.want {
			t.Errorf("boundary(%q, %q, %q) = %q, want %q", tc.id, tc.host, tc.content, got, tc.want)
		}
	}
}

func TestHoursDays(t *testing.T) {
	tests := []struct {
		warn, life time.Duration
		h, d       int64
	}{
		{4 * time.Hour, 5 * 24 * time.Hour, 4, 5},
		{time.Second, 5 * 24 * time.Hour, 0, 5}, // Postfix also says "0 hour(s)"
		{90 * time.Minute, 36 * time.Hour, 1, 1},
	}
	for _, tc := range tests {
		if h, d := hoursDays(tc.warn, tc.life); h != tc.h || d != tc.d {
			t.Errorf("hoursDays(%v, %v) = %d, %d, want %d, %d", tc.warn, tc.life, h, d, tc.h, tc.d)
		}
	}
}

func TestComposeRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Params)
		want string
	}{
		{"nil envelope", func(p *Params) { p.Env = nil }, "no original envelope"},
		{"no kind", func(p *Params) { p.Kind = 0 }, "unknown notice kind"},
		{"bad audience", func(p *Params) { p.To = 7 }, "unknown audience"},
		{"success to postmaster", func(p *Params) { p.Kind, p.To, p.Postmaster = Success, PostmasterCopy, "postmaster" }, "sender only"},
		{"no postmaster", func(p *Params) { p.To = DoubleBounce }, "no postmaster address"},
		{"no hostname", func(p *Params) { p.Hostname = "" }, "required"},
		{"no new ID", func(p *Params) { p.NewID = "" }, "required"},
		{"statuses", func(p *Params) { p.Status = nil }, "0 statuses for 1 recipients"},
		{"no rcpts", func(p *Params) { p.Rcpts = nil }, "no recipients"},
		{"rcpt out of range", func(p *Params) { p.Rcpts = []int{1} }, "index 1 out of range"},
		{"negative rcpt", func(p *Params) { p.Rcpts = []int{-1} }, "index -1 out of range"},
	}
	for _, tc := range tests {
		p := baseParams(original7bit)
		tc.edit(p)
		if _, _, err := Compose(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := Compose(nil); err == nil {
		t.Error("Compose(nil) succeeded")
	}
}

// TestDefaults: zero MaxReturned means bounce_size_limit's 50000, negative
// no limit; zero MaxQueueLifetime means 5 days.
func TestDefaults(t *testing.T) {
	big := original7bit + strings.Repeat("y", DefaultMaxReturned)
	for _, tc := range []struct {
		max       int64
		wantWhole bool
	}{{0, false}, {-1, true}, {int64(len(big)), true}, {int64(len(big)) - 1, false}} {
		p := baseParams(big)
		p.MaxReturned = tc.max
		_, out, err := Compose(p)
		if err != nil {
			t.Fatal(err)
		}
		if whole := strings.Contains(string(out), "Content-Type: message/rfc822"); whole != tc.wantWhole {
			t.Errorf("MaxReturned %d: whole message %v", tc.max, whole)
		}
	}
	p := baseParams(original7bit)
	p.Kind = Delay
	p.Status[0] = queue.RcptStatus{DSN: "4.4.1", Reason: "later"}
	_, out, err := Compose(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"It will be retried until it is 5 day(s) old.", "Will-Retry-Until: Sun, 29 Nov 2026 16:22:31 +0000 (UTC)", "Action: delayed", "X-Postern; later"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("delay notice without %q", want)
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		st   queue.RcptStatus
		want string
	}{
		{queue.RcptStatus{Reason: "delivered to maildir", Diagnostic: "smtp; 250 ok"}, "delivered to maildir"},
		{queue.RcptStatus{Diagnostic: "smtp; 550 5.1.1 no such user"}, "550 5.1.1 no such user"},
		{queue.RcptStatus{Diagnostic: "smtp;   "}, "no reason given"},
		{queue.RcptStatus{}, "no reason given"},
		{queue.RcptStatus{Reason: "bad\r\nline"}, "bad??line"},
	}
	for _, tc := range tests {
		if got := reason(tc.st, false); got != tc.want {
			t.Errorf("reason(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}

// TestNoArrivalNoMailName: without an arrival time the report has no
// Arrival-Date and Will-Retry-Until counts from now; without mail_name
// the name is postern's.
func TestNoArrivalNoMailName(t *testing.T) {
	p := baseParams(original7bit)
	p.Kind, p.MailName, p.Env.Arrival = Delay, "", time.Time{}
	p.MaxQueueLifetime = 24 * time.Hour
	_, out, err := Compose(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for want, present := range map[string]bool{
		"Arrival-Date:": false,
		"Will-Retry-Until: Wed, 25 Nov 2026 17:52:31 +0000 (UTC)\r\n": true,
		"Received: by mx.example.test (postern)\r\n":                  true,
		"X-Postern-Queue-ID: ORIGINALID\r\n":                          true,
		"It will be retried until it is 1 day(s) old.":                true,
	} {
		if strings.Contains(s, want) != present {
			t.Errorf("%q present: %v, want %v", want, !present, present)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	for _, size := range []int{2 << 10, 40 << 10, 10 << 20} {
		content := original7bit + strings.Repeat(strings.Repeat("z", 76)+"\r\n", size/78)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := baseParams(content)
				p.MaxReturned = -1
				if _, _, err := Compose(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

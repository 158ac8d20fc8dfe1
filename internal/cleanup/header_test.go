package cleanup

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

// corpus is content as it may arrive, odd inputs included.
var corpus = []string{
	"",
	"\r\n",
	"\n",
	"\r\nbody only\r\n",
	"Subject: x\r\n\r\nbody\r\n",
	"Subject: x\r\n",
	"Subject: x",
	"Subject: x\r\nFrom: a@b\r\n",
	"Subject: folded\r\n continued\r\n\tand tab\r\nTo: b\r\n\r\nbody\r\n",
	"Subject: bare LF\nTo: b\n\nbody\n",
	"Subject: mixed\r\nTo: b\n\r\nbody\n",
	"Subject: x\r\nnot a header line\r\nmore\r\n",
	" leading space\r\nSubject: x\r\n\r\n",
	"Subject : space before colon\r\n\r\n",
	"Subject: x\r\n\r\n\r\n\r\n",
	"X-Empty:\r\n\r\n",
	"Subject: x\r\n \r\n\r\nbody",
	"Subject: no end\r\n\r",
	"\xff: not ascii\r\n\r\n",
	"Subject: x\r\nBad Name: y\r\n\r\n",
	"Subject: x\r\n: no name\r\n\r\n",
	"From nobody Mon Dec  7 12:00:00 2026\r\nSubject: x\r\n\r\n",
	"Subject: x\r\r\n\r\n",
	"Subject: x\r\n.\r\n",
}

func spoolOf(t testing.TB, dir, s string) *Spool {
	sp := NewSpool(dir)
	if _, err := io.WriteString(sp, s); err != nil {
		t.Fatal(err)
	}
	return sp
}

func readAll(t testing.TB, r io.Reader) string {
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// malformed are the corpus entries whose header ends without its empty
// line before more content: NewMessage puts one there, at the offset
// given.
var malformed = map[string]int{
	"Subject: x\r\nnot a header line\r\nmore\r\n":                12,
	" leading space\r\nSubject: x\r\n\r\n":                       0,
	"Subject: no end\r\n\r":                                      17,
	"\xff: not ascii\r\n\r\n":                                    0,
	"Subject: x\r\nBad Name: y\r\n\r\n":                          12,
	"Subject: x\r\n: no name\r\n\r\n":                            12,
	"From nobody Mon Dec  7 12:00:00 2026\r\nSubject: x\r\n\r\n": 0,
	"Subject: x\r\n.\r\n":                                        12,
}

// Unedited content comes out of a Message byte for byte as it went in,
// from memory and from the overflow file; a header that ends without
// its empty line before more content gets one there.
func TestRoundTrip(t *testing.T) {
	pad := "\r\n" + strings.Repeat("body line\r\n", 8000) // past MemLimit
	for _, in := range corpus {
		for _, s := range []string{in, in + pad} {
			want := s
			if k, ok := malformed[in]; ok {
				want = s[:k] + "\r\n" + s[k:]
			} else if s != in && in != "" && !strings.HasSuffix(in, "\n") {
				continue // the pad would end its last line, making it another message
			}
			m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, t.TempDir(), s))
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, m.Content()); got != want {
				t.Errorf("%.60q: Content %.60q, want %.60q", s, got, want)
			}
			if got := string(m.Header.Bytes()) + readAll(t, m.Body()); got != want {
				t.Errorf("%.60q: header and body %.60q", s, got)
			}
			m.Close()
		}
	}
}

// The header is split into its fields, folded lines kept with their
// field; the header ends at an empty line, at a line that is no field
// or at the end of the content; when more content follows, it always
// ends with an empty line (the one received or one put there).
func TestParseHeader(t *testing.T) {
	tests := []struct {
		in     string
		fields []string
		end    string
		body   string
	}{
		{"", nil, "", ""},
		{"\r\nbody", nil, "\r\n", "body"},
		{"Subject: x\r\n\r\nbody\r\n", []string{"Subject: x\r\n"}, "\r\n", "body\r\n"},
		{"A: 1\r\n 2\r\n\t3\r\nB: 4\r\n\r\n", []string{"A: 1\r\n 2\r\n\t3\r\n", "B: 4\r\n"}, "\r\n", ""},
		{"A: 1\nB: 2\n\nbody\n", []string{"A: 1\n", "B: 2\n"}, "\n", "body\n"},
		{"A: 1\r\nno field here\r\n", []string{"A: 1\r\n"}, "\r\n", "no field here\r\n"},
		{"A: 1\nno field here\n", []string{"A: 1\n"}, "\n", "no field here\n"},
		{"A: 1", []string{"A: 1"}, "", ""},
		{"A: 1\r\n", []string{"A: 1\r\n"}, "", ""},
		{" x: 1\r\n\r\n", nil, "\r\n", " x: 1\r\n\r\n"},
		{"A : 1\r\n\r\n", []string{"A : 1\r\n"}, "\r\n", ""},
		{"A B: 1\r\n\r\n", nil, "\r\n", "A B: 1\r\n\r\n"},
		{": 1\r\n\r\n", nil, "\r\n", ": 1\r\n\r\n"},
		{"From x\r\nA: 1\r\n\r\n", nil, "\r\n", "From x\r\nA: 1\r\n\r\n"},
	}
	for _, tt := range tests {
		m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, "", tt.in))
		if err != nil {
			t.Fatal(err)
		}
		var raws []string
		for _, f := range m.Header.Fields {
			raws = append(raws, f.Raw)
		}
		if strings.Join(raws, "|") != strings.Join(tt.fields, "|") || m.Header.end != tt.end || readAll(t, m.Body()) != tt.body {
			t.Errorf("%q: fields %q end %q body %q; want %q %q %q", tt.in, raws, m.Header.end, readAll(t, m.Body()), tt.fields, tt.end, tt.body)
		}
		if got, want := readAll(t, m.Content()), strings.Join(tt.fields, "")+tt.end+tt.body; got != want {
			t.Errorf("%q: content %q, want %q", tt.in, got, want)
		}
		m.Close()
	}
}

// A header section longer than MaxHeaderBytes continues as body from
// the field that would cross the bound, after an empty line put there:
// nothing is lost, and no field past the bound is header any more.
func TestHeaderBound(t *testing.T) {
	field := "X-Long: " + strings.Repeat("v", 990) + "\r\n" // 1000 bytes
	n := MaxHeaderBytes/len(field) + 5
	in := strings.Repeat(field, n) + "\r\nbody\r\n"
	m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, t.TempDir(), in))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, max := len(m.Header.Fields), MaxHeaderBytes/len(field); got > max || got < max-1 {
		t.Errorf("%d fields parsed, want about %d", got, max)
	}
	k := len(m.Header.Fields) * len(field)
	if got := readAll(t, m.Content()); got != in[:k]+"\r\n"+in[k:] {
		t.Errorf("content: %d bytes, want the empty line inserted after %d", len(got), k)
	}
	// One field longer than the bound: all of it is body.
	huge := "X-Huge: " + strings.Repeat("h", MaxHeaderBytes) + "\r\n\r\nb\r\n"
	m2, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, t.TempDir(), huge))
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if len(m2.Header.Fields) != 0 || readAll(t, m2.Content()) != "\r\n"+huge {
		t.Errorf("%d fields; want the huge field left in the body", len(m2.Header.Fields))
	}
}

// Header edits: what each method does to the queued header.
func TestHeaderEdit(t *testing.T) {
	const in = "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody\r\n"
	tests := []struct {
		name string
		edit func(h *Header)
		want string
	}{
		{"none", func(*Header) {}, in},
		{"prepend", func(h *Header) { h.Prepend("Authentication-Results", "mx; spf=pass") },
			"Authentication-Results: mx; spf=pass\r\n" + in},
		{"add", func(h *Header) { h.Add("X-B", "3") }, "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\nbody\r\n"},
		{"insert 1", func(h *Header) { h.Insert(1, "X-I", "i") }, "Received: r\r\nX-I: i\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody\r\n"},
		{"insert beyond", func(h *Header) { h.Insert(99, "X-I", "i") }, "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\nX-I: i\r\n\r\nbody\r\n"},
		{"change 2nd", func(h *Header) { h.Change("X-A", 2, "two") }, "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: two\r\n\r\nbody\r\n"},
		{"change delete", func(h *Header) { h.Change("x-A", 1, "") }, "Received: r\r\nSubject: s\r\nx-a: 2\r\n\r\nbody\r\n"},
		{"change absent adds", func(h *Header) { h.Change("X-A", 3, "3") }, "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\nbody\r\n"},
		{"change absent empty", func(h *Header) { h.Change("X-Z", 1, "") }, in},
		{"delete func", func(h *Header) { h.DeleteFunc(func(f Field) bool { return strings.EqualFold(f.Name(), "x-a") }) },
			"Received: r\r\nSubject: s\r\n\r\nbody\r\n"},
		{"empty value", func(h *Header) { h.Add("X-E", "") }, "Received: r\r\nSubject: s\r\nX-A: 1\r\nx-a: 2\r\nX-E:\r\n\r\nbody\r\n"},
	}
	for _, tt := range tests {
		m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, "", in))
		if err != nil {
			t.Fatal(err)
		}
		tt.edit(&m.Header)
		if got := readAll(t, m.Content()); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		m.Close()
	}
	// Get and the field accessors.
	m, _ := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, "", "Subject :  folded\r\n line\r\n\r\n"))
	defer m.Close()
	if v, ok := m.Header.Get("subject"); !ok || v != "folded\r\n line" {
		t.Errorf("Get: %q %v", v, ok)
	}
	if n := m.Header.Fields[0].Name(); n != "Subject" {
		t.Errorf("Name %q", n)
	}
	if _, ok := m.Header.Get("To"); ok {
		t.Error("Get found a missing field")
	}
}

// A field added after a last field that had no line end (the content
// ended there) gets one, so that fields never run together.
func TestHeaderEditAfterUnterminated(t *testing.T) {
	m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, "", "Subject: x"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Header.Add("X-New", "y")
	if got := readAll(t, m.Content()); got != "Subject: x\r\nX-New: y\r\n" {
		t.Errorf("%q", got)
	}
}

// ReplaceBody replaces the body, which may be read again and again;
// the header stays.
func TestReplaceBody(t *testing.T) {
	for _, size := range []int{10, 3 * MemLimit} {
		m, err := NewMessage(&queue.Envelope{}, Origin{}, spoolOf(t, t.TempDir(), "Subject: x\r\n\r\nold\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		nb := strings.Repeat("n", size)
		if err := m.ReplaceBody(strings.NewReader(nb)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if got := readAll(t, m.Content()); got != "Subject: x\r\n\r\n"+nb {
				t.Errorf("size %d: content %.40q", size, got)
			}
		}
		if err := m.ReplaceBody(bytes.NewReader([]byte("again"))); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, m.Body()); got != "again" {
			t.Errorf("body %q", got)
		}
		m.Close()
	}
}

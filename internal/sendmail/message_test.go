package sendmail

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll runs the input reader over s and returns the content it gives.
func readAll(s string, dotEnds bool, limit int64) (string, error) {
	in := newInput(iotest.HalfReader(strings.NewReader(s)), dotEnds, limit)
	var b strings.Builder
	for {
		piece, _, err := in.next()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.Write(piece)
	}
}

func TestInput(t *testing.T) {
	long := strings.Repeat("x", 64<<10-1) // with its CRs the line crosses the buffer's end
	for _, tc := range []struct {
		name, in, want string
		dotEnds        bool
	}{
		{"plain", "Subject: x\n\nbody\n", "Subject: x\n\nbody\n", true},
		{"CRLF becomes LF", "Subject: x\r\n\r\nbody\r\r\n", "Subject: x\n\nbody\n", true},
		{"bare CR inside a line stays", "a\rb\n", "a\rb\n", true},
		{"leading From lines dropped", "From me Mon Jan  1 00:00:00 2026\n>From x\nSubject: y\nFrom here on\n", "Subject: y\nFrom here on\n", true},
		{"dot ends the input", "a\n.\nb\n", "a\n", true},
		{"dot with CR ends it too", "a\n.\r\nb\n", "a\n", true},
		{"-i: dot is content", "a\n.\nb\n", "a\n.\nb\n", false},
		{"dot-dot is content", "a\n..\n", "a\n..\n", true},
		{"last line without LF", "a\nb", "a\nb", true},
		{"long line kept whole", "a\n" + long + "yy\nz\n", "a\n" + long + "yy\nz\n", true},
		{"CRs across the buffer's end are the line end", long + "\r\r\nz\n", long + "\nz\n", true},
		{"CRs across the buffer's end inside a line", long + "\r\rq\n", long + "\r\rq\n", true},
		{"CRs at the very end", "a\nb\r\r", "a\nb", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.in, tc.dotEnds, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", trim(got), trim(tc.want))
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:40] + "…" + s[len(s)-40:]
	}
	return s
}

func TestInputErrors(t *testing.T) {
	if _, err := readAll("Subject: x\n\n\x7fELF\x02\x01\x01\x00\x00", true, 0); !errors.Is(err, errNUL) {
		t.Errorf("binary: %v", err)
	}
	// 10 lines of 9 characters: 110 bytes in the queue's CRLF form.
	ten := strings.Repeat("123456789\n", 10)
	if _, err := readAll(ten, true, 110); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	if _, err := readAll(ten+"x", true, 110); !errors.Is(err, errTooBig) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := readAll(ten+"x", true, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
	in := newInput(iotest.ErrReader(errors.New("broken pipe")), true, 0)
	if _, _, err := in.next(); err == nil || !strings.Contains(err.Error(), "error reading input: broken pipe") {
		t.Errorf("read error: %v", err)
	}
}

func TestExtractor(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         []string
		err          error
	}{
		{"To Cc Bcc", "From: me\nTo: a@example.test, B <b@example.test>\nCc: c\nBcc: d@example.test\nSubject: x\n\nTo: not@header.test\n",
			[]string{"a@example.test", "b@example.test", "c", "d@example.test"}, nil},
		{"folded", "To: a@example.test,\n  b@example.test\n\t,c@example.test\n\n", []string{"a@example.test", "b@example.test", "c@example.test"}, nil},
		{"case and blanks", "tO : a@example.test\n\n", []string{"a@example.test"}, nil},
		{"Resent wins", "To: a@example.test\nResent-To: r@example.test\nCc: c@example.test\nResent-Bcc: s@example.test\n\n",
			[]string{"r@example.test", "s@example.test"}, nil},
		{"body line ends the header", "To: a@example.test\nthis is body\nTo: b@example.test\n", []string{"a@example.test"}, nil},
		{"no recipients", "Subject: x\n\n", nil, nil},
		{"too long", "To: " + strings.Repeat("a@example.test, ", 10) + "\n\n", nil, errHdrLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(strings.NewReader(tc.header), true, 0)
			x := &extractor{limit: 100}
			lineStart := true
			var err error
			for {
				piece, complete, e := in.next()
				if e != nil {
					break
				}
				var end bool
				if end, err = x.add(piece, lineStart); end || err != nil {
					break
				}
				lineStart = complete
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if got := x.recipients(); tc.err == nil && !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

package smtpio

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// feeders deliver the same input whole, a byte at a time, and in random
// pieces, so that no result depends on where reads happen to split.
var feeders = []struct {
	name string
	wrap func(string) io.Reader
}{
	{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
	{"onebyte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
	{"random", func(s string) io.Reader {
		return &pieces{b: []byte(s), rnd: rand.New(rand.NewPCG(uint64(len(s)), 7))}
	}},
}

// pieces returns its input in reads of random length, up to a little
// more than the Reader's buffer.
type pieces struct {
	b   []byte
	rnd *rand.Rand
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := min(1+p.rnd.IntN(bufSize+100), len(b), len(p.b))
	copy(b, p.b[:n])
	p.b = p.b[n:]
	return n, nil
}

// rest is what the Reader has not consumed, buffered or not.
func rest(r *Reader) string {
	b, _ := io.ReadAll(r.buf())
	return string(b)
}

// forEachFeeder runs f once per feeder as a subtest.
func forEachFeeder(t *testing.T, in string, f func(t *testing.T, src io.Reader)) {
	t.Helper()
	for _, fd := range feeders {
		t.Run(fd.name, func(t *testing.T) { f(t, fd.wrap(in)) })
	}
}

// bareLFs reports whether p has an <LF> without <CR> before it.
func bareLFs(p []byte) bool {
	for i, c := range p {
		if c == '\n' && (i == 0 || p[i-1] != '\r') {
			return true
		}
	}
	return false
}

// stuff dot-stuffs content that ReadData produced and appends the
// end-of-data line, as an SMTP client would send it.
func stuff(content []byte) []byte {
	var b bytes.Buffer
	for len(content) > 0 {
		i := bytes.Index(content, crlf)
		line := content[:i+2]
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		content = content[i+2:]
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

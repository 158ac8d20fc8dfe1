package dovecot

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// FuzzProtocol feeds arbitrary server output to the line reader, the
// parser and a client: no panic, no hang, no line over the limit, and
// escaping round-trips every field.
func FuzzProtocol(f *testing.F) {
	f.Add([]byte(stdHandshake + "OK\t1\tuser=alice\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			s, err := readLine(r)
			if err != nil {
				break
			}
			if len(s) > maxLine || strings.ContainsRune(s, '\n') {
				t.Fatalf("line of %d bytes, or with LF", len(s))
			}
			l := parseLine(s)
			for _, a := range append(l.args, l.cmd) {
				e := escape(a)
				if strings.ContainsAny(e, "\t\n\r\x00") || unescape(e) != a {
					t.Fatalf("escape(%q) = %q", a, e)
				}
			}
		}

		// The same bytes as Dovecot's side of a connection.
		cl, srv := net.Pipe()
		go io.Copy(io.Discard, srv)
		go func() { srv.Write(data); srv.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cn, err := newConn(ctx, cl, 0, 0)
		if err != nil {
			cl.Close()
			return
		}
		c := New("unix", "fuzz", "smtp")
		c.cur = cn
		defer c.Close()
		for _, m := range cn.mechs {
			if !validMech(m.Name) {
				t.Fatalf("mechanism %q", m.Name)
			}
		}
		ex, _ := c.Start(ctx, "PLAIN", sasl.Client{}, []byte("\x00a\x00b"))
		for range 4 {
			st, err := ex.Next(ctx, []byte("x"))
			if err != nil || st.Done {
				if ctx.Err() != nil {
					t.Fatal("hung until the deadline")
				}
				if strings.ContainsAny(st.User+st.Reason, "\x00\t\n\r") {
					t.Fatalf("control characters in %+v", st)
				}
				return
			}
		}
	})
}

package smtpd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// lineReplay replays pending one line per Read, as a connection whose
// early bytes arrive in small pieces: at STARTTLS, plaintext is still
// pending.
type lineReplay struct {
	net.Conn
	pending []byte
}

func (r *lineReplay) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		line := r.pending
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		n := copy(p, line)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

func (r *lineReplay) DiscardReplay() net.Conn {
	r.pending = nil
	return r.Conn
}

// Bytes replayed from before smtpd took the connection (postscreen's
// pregreeting under greet_action ignore) never reach the TLS handshake
// (CVE-2011-0411), however small the reads: STARTTLS drops them.
func TestStartTLSDropsReplayedPlaintext(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.SMTP.Serve(context.Background(), &lineReplay{Conn: c, pending: []byte("EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@x>\r\n")}, smtpd.Conn{})
	}()
	c := dialTLSTest(t, ln.Addr().String())
	c.reply() // 220
	c.reply() // EHLO's 250s
	if r := c.reply(); r != "220 2.0.0 Ready to start TLS" {
		t.Fatalf("STARTTLS: %q", r)
	}
	tc := tls.Client(c.c, clientTLS())
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake (replayed plaintext fed to TLS?): %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	c.cmd("EHLO client.example", "250-mx.example.test\n")
	c.cmd("MAIL FROM:<good@client.example>", "250 2.1.0 Ok") // no replayed MAIL before it
	c.cmd("QUIT", "221 ")
}

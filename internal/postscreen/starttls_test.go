package postscreen

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example"},
		DNSNames: []string{"mx.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// ehlo sends EHLO and returns the keyword lines.
func (sc *smtpClient) ehlo() string {
	sc.t.Helper()
	sc.send("EHLO client.example\r\n")
	var lines []string
	for {
		l := readLine(sc.t, sc.r)
		lines = append(lines, l[4:])
		if l[3] == ' ' {
			return strings.Join(lines, " ")
		}
	}
}

// A client that insists on TLS can pass the deep tests: the engine
// offers STARTTLS as smtpd does (Postfix: through tlsproxy), and with
// TLS required answers 530 to mail commands before it.
func TestEngineStartTLS(t *testing.T) {
	scr, cache, _ := deepScreen(Enforce, Drop, Ignore)
	cfg := selfSigned(t)
	scr.TLS, scr.TLSRequired = func() *tls.Config { return cfg }, true
	var log msgs
	c, out := dial(t, scr, cache, &log)
	c.expect("220 mx.example ESMTP")
	if kw := c.ehlo(); !strings.Contains(kw, " STARTTLS ") {
		t.Fatalf("no STARTTLS offered: %s", kw)
	}
	c.cmd("MAIL FROM:<a@client.example>", "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("STARTTLS", "220 2.0.0 Ready to start TLS")
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	if kw := c.ehlo(); strings.Contains(kw, "STARTTLS") {
		t.Fatalf("STARTTLS offered again: %s", kw)
	}
	c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
	c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<u@mx.example>", replyDefer)
	c.cmd("QUIT", "221 2.0.0 Bye")
	<-out
	if !log.has("PASS NEW [127.0.0.1]:") {
		t.Fatalf("log: %s", log.String())
	}
}

// The bytes of a pregreeting client that postscreen replays to smtpd
// (greet_action ignore) can be dropped at STARTTLS: smtpd's handshake
// then runs on the network connection, never on replayed plaintext
// (CVE-2011-0411; smtpd.Replayer).
func TestPregreetReplayDroppedAtSTARTTLS(t *testing.T) {
	cfg := testConfig()
	cfg.GreetAction = Ignore
	var lb logBuf
	c, out := screenOne(t, &Screen{Config: cfg}, NewCache(), slog.New(slog.NewTextHandler(&lb, nil)))
	if _, err := c.Write([]byte("EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@x>\r\n")); err != nil {
		t.Fatal(err)
	}
	got := <-out
	if got == nil {
		t.Fatalf("not handed over; log %s", lb.String())
	}
	r, ok := got.(smtpd.Replayer)
	if !ok {
		t.Fatalf("%T cannot drop its replay at STARTTLS", got)
	}
	first := make([]byte, 4)
	if _, err := io.ReadFull(got, first); err != nil || string(first) != "EHLO" {
		t.Fatalf("replay: %q %v", first, err)
	}
	inner := r.DiscardReplay()
	if _, err := c.Write([]byte("\x16\x03\x01")); err != nil { // a TLS record's start
		t.Fatal(err)
	}
	b := make([]byte, 3)
	inner.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(inner, b); err != nil || string(b) != "\x16\x03\x01" {
		t.Fatalf("after the replay was dropped: %q %v, want the client's next bytes", b, err)
	}
}

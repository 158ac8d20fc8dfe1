package smtpd_test

import (
	"bufio"
	"crypto/tls"
	"os"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// starttlsScript plays one STARTTLS conversation and returns the
// replies (EHLO's keyword lists left out: they differ on purpose).
func starttlsScript(t *testing.T, addr string) []string {
	c := dialTLSTest(t, addr)
	c.reply()
	var got []string
	say := func(line string) string {
		c.send(line + "\r\n")
		r := c.reply()
		if !strings.HasPrefix(line, "EHLO") {
			got = append(got, line+" -> "+r)
		}
		return r
	}
	say("EHLO client.example")
	for _, l := range []string{"MAIL FROM:<a@client.example>", "RSET", "VRFY b", "NOOP", "HELO client.example", "STARTTLS now"} {
		say(l)
	}
	say("EHLO client.example")
	if r := say("STARTTLS"); !strings.HasPrefix(r, "220 ") {
		return got
	}
	tc := tls.Client(c.c, clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatalf("%s: handshake: %v", addr, err)
	}
	c.c, c.br = tc, newReader(tc)
	say("MAIL FROM:<a@client.example>") // no EHLO yet: the session restarted
	say("RSET")
	say("EHLO client.example")
	say("STARTTLS")
	say("MAIL FROM:<a@client.example>")
	say("QUIT")
	return got
}

// Postfix 3.7's own smtpd gives the same STARTTLS replies as postern,
// at encrypt (530 before TLS, the session restarted after STARTTLS) and
// with STARTTLS not offered (502). Its instance runs tlsmgr: without
// it Postfix's smtpd has no TLS (454).
func TestStartTLSAgainstPostfix(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Postfix is not installed but CI must run this test (scripts/install-test-deps)")
		}
		t.Skip("Postfix is not installed (scripts/install-test-deps)")
	}
	if os.Getuid() != 0 {
		t.Skip("starting a private Postfix needs root")
	}
	for _, level := range []string{"encrypt", "none"} {
		cf := "smtpd_tls_security_level = " + level + "\n" + smtptest.TLSConf(t, t.TempDir())
		want := starttlsScript(t, startPostfix(t, cf))
		got := starttlsScript(t, smtptest.NewServer(t, cf+"smtpd_forbid_bare_newline = normalize\n", nil).Addr)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("level %s:\npostern:\n%s\nPostfix:\n%s", level, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func newReader(c *tls.Conn) *bufio.Reader { return bufio.NewReader(c) }

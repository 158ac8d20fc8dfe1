package lmtp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/smtp"
	"github.com/postern-mta/postern/internal/maps"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lmtp.test"},
		DNSNames: []string{"lmtp.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// lmtp_tls_security_level and lmtp_sasl_*: STARTTLS and AUTH PLAIN to
// an LMTP server, as the smtp client does them; "may" is taken as
// "none" on a unix-domain socket, as Postfix does.
func TestSTARTTLSAndAUTH(t *testing.T) {
	static, err := maps.Open("static:lmtpuser:secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		level    smtp.TLSLevel
		offerTLS bool
		password string
		kind     deliver.Kind
		reason   string
		commands []string // expected in this order
		never    string
	}{
		{name: "encrypt and auth", level: smtp.TLSEncrypt, offerTLS: true, password: "secret", kind: deliver.Sent,
			commands: []string{"STARTTLS", "TLS LHLO mail.example.test", "TLS AUTH PLAIN ", "TLS MAIL FROM:<sender@example.test>"}},
		{name: "may on a socket", level: smtp.TLSMay, offerTLS: true, password: "secret", kind: deliver.Sent,
			commands: []string{"LHLO mail.example.test", "AUTH PLAIN ", "MAIL FROM:"}, never: "STARTTLS"},
		{name: "encrypt not offered", level: smtp.TLSEncrypt, password: "secret", kind: deliver.Deferred,
			reason: "TLS is required, but was not offered by host mail.example.test[", never: "MAIL"},
		{name: "auth refused", level: smtp.TLSEncrypt, offerTLS: true, password: "wrong", kind: deliver.Deferred,
			reason: "SASL authentication failed; server mail.example.test[", never: "MAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(sockDir(t), "lmtp")
			f := newFake(t, "unix", sock)
			f.authPlain = "lmtpuser\x00" + tc.password
			if tc.offerTLS {
				f.tls = selfSigned(t)
			}
			a := newAgent(t, func(c *smtp.Config) {
				c.TLSLevel = tc.level
				c.SASLEnable, c.SASLMaps = true, []maps.Table{static}
				c.SASLPlaintext, c.SASLPlaintextTLS = true, true
			})
			res := a.Deliver(context.Background(), request("unix:"+sock, "u@d.test"))
			if len(res) != 1 || res[0].Kind != tc.kind || !strings.Contains(res[0].Reason, tc.reason) {
				t.Fatalf("%+v", res)
			}
			_, cmds, _, _ := f.snapshot()
			i := 0
			for _, c := range cmds {
				if i < len(tc.commands) && strings.HasPrefix(c, tc.commands[i]) {
					i++
				}
			}
			if i < len(tc.commands) {
				t.Errorf("commands %q lack %q in order", cmds, tc.commands[i:])
			}
			if tc.never != "" && slices.ContainsFunc(cmds, func(c string) bool { return strings.HasPrefix(c, tc.never) }) {
				t.Errorf("commands %q: %s was sent", cmds, tc.never)
			}
		})
	}
}

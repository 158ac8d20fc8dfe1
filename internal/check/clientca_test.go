package check

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

// intermediatePEM is a CA certificate signed by another (not self-signed).
func intermediatePEM(t *testing.T) []byte {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// permit_tls_all_clientcerts is safe only with a dedicated CA
// (postconf(5)): with a public trust store in smtpd_tls_CAfile anybody
// who buys a certificate relays, so check warns and its relay walk sees
// an open relay.
func TestClientCAPublic(t *testing.T) {
	dir := t.TempDir()
	year := time.Now().AddDate(1, 0, 0)
	k, c := selfSigned(t, "mail.example.test", year)
	server := filepath.Join(dir, "server.pem")
	os.WriteFile(server, append(k, c...), 0o600)
	var bundle []byte
	for i := range 5 {
		_, root := selfSigned(t, "root"+string(rune('a'+i)), year)
		bundle = append(bundle, root...)
	}
	public := filepath.Join(dir, "bundle.pem")
	os.WriteFile(public, bundle, 0o644)
	_, own := selfSigned(t, "our CA", year)
	dedicated := filepath.Join(dir, "own.pem")
	os.WriteFile(dedicated, own, 0o644)
	inter := filepath.Join(dir, "inter.pem")
	os.WriteFile(inter, intermediatePEM(t), 0o644)

	const relay = "inet_interfaces = all\nsmtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination\n"
	const warning = "warning: parameter smtpd_relay_restrictions: permit_tls_all_clientcerts trusts any client certificate a trusted CA signed"
	const openRelay = "OPEN RELAY"
	system := "/etc/ssl/certs/ca-certificates.crt"
	for _, tc := range []struct {
		name, main string
		want, not  []string
	}{
		{"bundle of roots", relay + "smtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = " + public + "\n",
			[]string{warning, "hold 5 root CAs", openRelay + ": inet_interfaces = all listens beyond loopback, and these restrictions let any client relay to any domain: permit_tls_all_clientcerts lets through"}, nil},
		{"system store", relay + "smtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = " + system + "\n",
			[]string{warning, "smtpd_tls_CAfile = " + system + " is the system's store of public CAs", openRelay}, nil},
		{"system directory", relay + "smtpd_tls_ask_ccert = yes\nsmtpd_tls_CApath = /etc/ssl/certs\n",
			[]string{warning, openRelay}, nil},
		{"required at encrypt", relay + "smtpd_tls_security_level = encrypt\nsmtpd_tls_req_ccert = yes\nsmtpd_tls_CAfile = " + public + "\n",
			[]string{warning, openRelay}, nil},
		{"dedicated CA", relay + "smtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = " + dedicated + "\n",
			nil, []string{warning, openRelay, "root certificate"}},
		{"not asked", relay + "smtpd_tls_CAfile = " + public + "\n",
			[]string{"permit_tls_all_clientcerts never matches"}, []string{warning, openRelay}},
		{"permit_tls_clientcerts", "inet_interfaces = all\nsmtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination\nsmtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = " + public + "\n",
			nil, []string{warning, openRelay}},
		{"intermediate only", "smtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = " + inter + "\n",
			[]string{"warning: parameter smtpd_tls_CAfile: no self-signed root certificate: no client certificate can be trusted"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.main, "/etc/ssl/certs") {
				if _, err := os.Stat(system); err != nil {
					t.Skipf("no system trust store: %v", err)
				}
			}
			cdir := t.TempDir()
			os.WriteFile(filepath.Join(cdir, "main.cf"), []byte("myhostname = mail.example.test\nsmtpd_tls_chain_files = "+server+"\n"+tc.main), 0o644)
			os.WriteFile(filepath.Join(cdir, "master.cf"), []byte("smtp inet n - y - - smtpd\n"), 0o644)
			queue := t.TempDir()
			testperm.OpenDirs(queue)
			rep := Run(cdir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
				Overrides: map[string]string{"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
			var out bytes.Buffer
			rep.Write(&out, false)
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
		})
	}
}

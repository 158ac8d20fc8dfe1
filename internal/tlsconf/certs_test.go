package tlsconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Chain files as Postfix reads them: each key followed by its chain, in
// one file or split over consecutive files.
func TestLoadChain(t *testing.T) {
	dir := t.TempDir()
	rsaPEM := serverPEM(t, "rsa", "mx.example")
	ecPEM := serverPEM(t, "ecdsa", "mx.example")
	ecKey, ecCert := splitPEM(t, ecPEM)
	f := func(name string, data []byte) string { return writeFile(t, filepath.Join(dir, name), data) }
	both := f("both.pem", append(append([]byte(nil), rsaPEM...), ecPEM...))
	rsaFile := f("rsa.pem", rsaPEM)
	keyOnly := f("ec.key", ecKey)
	certOnly := f("ec.crt", ecCert)
	withCA := f("rsa-ca.pem", append(append([]byte(nil), rsaPEM...), ca(t).pem...))
	mismatch := f("mismatch.pem", append(append([]byte(nil), ecKey...), rsaPEM[strings.Index(string(rsaPEM), "-----BEGIN CERTIFICATE"):]...))
	junk := f("junk.pem", []byte("not pem\n"))
	for _, tc := range []struct {
		name  string
		files []string
		kinds string // r for RSA, e for ECDSA, in order
		err   string
	}{
		{"one file, two keys", []string{both}, "re", ""},
		{"two files", []string{rsaFile, keyOnly, certOnly}, "re", ""},
		{"chain with CA", []string{withCA}, "r", ""},
		{"cert before key", []string{certOnly, keyOnly}, "", "before its private key"},
		{"key without cert", []string{keyOnly}, "", "without a certificate"},
		{"mismatch", []string{mismatch}, "", "does not match"},
		{"not PEM", []string{junk}, "", "no PEM data"},
		{"missing", []string{filepath.Join(dir, "nope")}, "", "no such file"},
	} {
		certs, err := Source{Param: "smtpd_tls_chain_files", Chain: tc.files}.Load()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var kinds string
		for _, c := range certs {
			switch c.PrivateKey.(type) {
			case *rsa.PrivateKey:
				kinds += "r"
			case *ecdsa.PrivateKey:
				kinds += "e"
			}
			if c.Leaf == nil {
				t.Errorf("%s: no Leaf", tc.name)
			}
		}
		if kinds != tc.kinds {
			t.Errorf("%s: keys %q, want %q", tc.name, kinds, tc.kinds)
		}
	}
	if certs, _ := (Source{Param: "p", Chain: []string{withCA}}).Load(); len(certs) == 1 && len(certs[0].Certificate) != 2 {
		t.Errorf("chain with CA: %d certificates, want 2", len(certs[0].Certificate))
	}
}

func TestExpired(t *testing.T) {
	k, c := ca(t).leaf(t, "ecdsa", time.Now().Add(-time.Minute), x509.ExtKeyUsageServerAuth, "old.example")
	path := writeFile(t, dirFile(t, "old.pem"), append(k, c...))
	certs, err := Source{Param: "p", Chain: []string{path}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := Expired(certs, time.Now()); err == nil || !strings.Contains(err.Error(), "old.example expired") {
		t.Errorf("Expired: %v", err)
	}
	if err := Expired(certs, time.Now().Add(-time.Hour)); err != nil {
		t.Errorf("Expired an hour ago: %v", err)
	}
}

// splitPEM returns the key block and the certificate blocks.
func splitPEM(t testing.TB, data []byte) (key, certs []byte) {
	i := strings.Index(string(data), "-----BEGIN CERTIFICATE")
	if i < 0 {
		t.Fatal("no certificate")
	}
	return data[:i], data[i:]
}

// A file read while it is rewritten in place is refused, whatever the
// point where the writer stopped inside a PEM block: loading the key and
// leaf without the rest of the chain would serve a broken chain until
// the next change. Text outside the blocks is allowed, as in OpenSSL.
func TestLoadIncomplete(t *testing.T) {
	dir := t.TempDir()
	full := append(serverPEM(t, "ecdsa", "mx.example"), ca(t).pem...) // key, leaf, CA
	key, chain := splitPEM(t, full)
	last := bytes.LastIndex(full, []byte("-----BEGIN CERTIFICATE-----"))
	f := func(name string, data []byte) string { return writeFile(t, filepath.Join(dir, name), data) }
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"complete", full, true},
		{"comments", append(append([]byte("# mx.example\n"), full...), "# end\n"...), true},
		{"cut in the last block", full[:last+(len(full)-last)/2], false},
		{"cut after the BEGIN line", full[:last+len("-----BEGIN CERTIFICATE-----\n")], false},
		{"cut in the BEGIN line", full[:last+len("-----BEG")], false},
		{"cut at a dash", full[:last+1], false},
		{"cut in the END line", full[:len(full)-len("CATE-----\n")], false},
		{"damaged middle block", bytes.Replace(full, chain[30:40], []byte("!!!!!!!!!!"), 1), false},
	}
	for _, tc := range cases {
		p := f("chain.pem", tc.data)
		certs, err := Source{Param: "smtpd_tls_chain_files", Chain: []string{p}}.Load()
		if tc.ok != (err == nil) {
			t.Errorf("chain file %s: error %v, want ok %v", tc.name, err, tc.ok)
		} else if err == nil && len(certs[0].Certificate) != 2 {
			t.Errorf("chain file %s: %d certificates", tc.name, len(certs[0].Certificate))
		}
		// the legacy pair: the same certificate file, the key apart
		k := f("key.pem", key)
		c := f("cert.pem", tc.data[min(len(key), len(tc.data)):])
		pair := Source{Param: "smtpd_tls_cert_file", Pairs: []Pair{{CertParam: "smtpd_tls_cert_file", Cert: c, KeyParam: "smtpd_tls_key_file", Key: k}}}
		if _, err := pair.Load(); tc.ok != (err == nil) && tc.name != "comments" {
			t.Errorf("cert file %s: error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	// a key file cut short
	k := f("key.pem", key[:len(key)-20])
	c := f("cert.pem", chain)
	pair := Source{Param: "smtpd_tls_cert_file", Pairs: []Pair{{CertParam: "smtpd_tls_cert_file", Cert: c, KeyParam: "smtpd_tls_key_file", Key: k}}}
	if _, err := pair.Load(); err == nil || !strings.Contains(err.Error(), "smtpd_tls_key_file") {
		t.Errorf("key file cut short: %v", err)
	}
}

// A chain file rewritten in place: the half-written file keeps the old
// certificate and is logged; the completed write is picked up.
func TestReloadHalfWritten(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "mx.pem"), serverPEM(t, "ecdsa", "old.example"))
	s := newServer(t, "smtpd_tls_chain_files = "+p+"\n")
	rec := &logRecorder{}
	s.Log = slog.New(rec)
	name := func() string {
		c, err := s.getCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.DNSNames[0] + fmt.Sprint(len(c.Certificate))
	}
	full := append(serverPEM(t, "ecdsa", "new.example"), ca(t).pem...)
	last := bytes.LastIndex(full, []byte("-----BEGIN CERTIFICATE-----"))
	writeFile(t, p, full[:last+100]) // in place: same inode
	if got := name(); got != "old.example1" {
		t.Errorf("half written: serving %s, want the old certificate", got)
	}
	if rec.count("WARN cannot reload") != 1 {
		t.Errorf("log: %q", rec.msgs)
	}
	writeFile(t, p, full)
	if got := name(); got != "new.example2" {
		t.Errorf("completed: serving %s, want new.example with its chain", got)
	}
}

package tlsconf

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// RSA and ECDSA side by side: each client gets the certificate it
// supports, an ECDSA-capable one the ECDSA certificate.
func TestChooseByClient(t *testing.T) {
	dir := t.TempDir()
	rsaFile := writeFile(t, filepath.Join(dir, "rsa.pem"), serverPEM(t, "rsa", "mx.example"))
	ecFile := writeFile(t, filepath.Join(dir, "ec.pem"), serverPEM(t, "ecdsa", "mx.example"))
	for _, main := range []string{
		fmt.Sprintf("smtpd_tls_chain_files = %s, %s\n", rsaFile, ecFile),
		fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_eccert_file = %s\n", rsaFile, ecFile),
	} {
		s := newServer(t, main)
		for _, tc := range []struct {
			suites []uint16
			max    uint16
			want   string
		}{
			{nil, 0, "ecdsa"},
			{[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12, "rsa"},
			{[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12, "ecdsa"},
		} {
			c := clientFor(t, "mx.example")
			c.CipherSuites, c.MaxVersion = tc.suites, tc.max
			cs, err := handshake(t, s, c)
			if err != nil {
				t.Fatalf("%s: %v", main, err)
			}
			got := "ecdsa"
			if _, ok := cs.PeerCertificates[0].PublicKey.(*rsa.PublicKey); ok {
				got = "rsa"
			} else if _, ok := cs.PeerCertificates[0].PublicKey.(*ecdsa.PublicKey); !ok {
				got = "?"
			}
			if got != tc.want {
				t.Errorf("%s suites %x: got %s certificate, want %s", main, tc.suites, got, tc.want)
			}
		}
	}
}

// tls_server_sni_maps: the exact name, then parent domains with a
// leading dot; an unknown name gets the default certificate.
func TestSNI(t *testing.T) {
	dir := t.TempDir()
	def := writeFile(t, filepath.Join(dir, "default.pem"), serverPEM(t, "ecdsa", "mx.example"))
	a := writeFile(t, filepath.Join(dir, "a.pem"), serverPEM(t, "ecdsa", "mail.a.example"))
	b := writeFile(t, filepath.Join(dir, "b.pem"), serverPEM(t, "ecdsa", "b.example", "*.b.example"))
	sni := writeFile(t, filepath.Join(dir, "sni"), []byte(fmt.Sprintf("mail.a.example %s\n.b.example %s\n", a, b)))
	s := newServer(t, fmt.Sprintf("smtpd_tls_chain_files = %s\ntls_server_sni_maps = texthash:%s\n", def, sni))
	for _, tc := range []struct{ name, want string }{
		{"mail.a.example", "mail.a.example"},
		{"MAIL.A.Example", "mail.a.example"},
		{"x.b.example", "b.example,*.b.example"},
		{"b.example", "mx.example"}, // ".b.example" covers subdomains only
		{"a.example", "mx.example"},
		{"other.example", "mx.example"},
		{"", "mx.example"},
	} {
		c := clientFor(t, tc.name)
		c.InsecureSkipVerify = true
		cs, err := handshake(t, s, c)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := leafName(cs); got != tc.want {
			t.Errorf("SNI %q: certificate for %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Protocols: the default floor is TLS 1.2; level encrypt uses the
// mandatory list, may the other.
func TestProtocolsApplied(t *testing.T) {
	dir := t.TempDir()
	pem := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	base := "smtpd_tls_chain_files = " + pem + "\n"
	for _, tc := range []struct {
		main   string
		client uint16
		ok     bool
	}{
		{"", tls.VersionTLS12, true},
		{"", tls.VersionTLS11, false},
		{"smtpd_tls_protocols = !SSLv2, !SSLv3\n", tls.VersionTLS10, true},
		{"smtpd_tls_protocols = >=TLSv1.3\n", tls.VersionTLS12, false},
		{"smtpd_tls_security_level = encrypt\nsmtpd_tls_protocols = >=TLSv1.3\n", tls.VersionTLS12, true},
		{"smtpd_tls_security_level = encrypt\nsmtpd_tls_mandatory_protocols = >=TLSv1.3\n", tls.VersionTLS12, false},
		{"smtpd_enforce_tls = yes\nsmtpd_tls_mandatory_protocols = >=TLSv1.3\n", tls.VersionTLS12, false},
	} {
		s := newServer(t, base+tc.main)
		c := clientFor(t, "mx.example")
		c.MinVersion, c.MaxVersion = tc.client, tc.client
		_, err := handshake(t, s, c)
		if (err == nil) != tc.ok {
			t.Errorf("%q with a TLS %x client: err %v, want ok %v", tc.main, tc.client, err, tc.ok)
		}
	}
}

func TestCiphersApplied(t *testing.T) {
	dir := t.TempDir()
	pem := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	base := "smtpd_tls_chain_files = " + pem + "\n"
	for _, tc := range []struct {
		main  string
		suite uint16
		ok    bool
	}{
		{"", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, true},
		{"smtpd_tls_exclude_ciphers = CBC\n", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{"smtpd_tls_exclude_ciphers = CBC\n", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{"", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false},
		{"smtpd_tls_ciphers = low\n", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, true},
		{"smtpd_tls_security_level = encrypt\nsmtpd_tls_mandatory_exclude_ciphers = AESGCM\n", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false},
		{"smtpd_tls_mandatory_exclude_ciphers = AESGCM\n", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
	} {
		s := newServer(t, base+tc.main)
		c := clientFor(t, "mx.example")
		c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tc.suite}
		_, err := handshake(t, s, c)
		if (err == nil) != tc.ok {
			t.Errorf("%q with %s: err %v, want ok %v", tc.main, tls.CipherSuiteName(tc.suite), err, tc.ok)
		}
	}
}

// Settings New refuses, and a service without certificates.
func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	pem := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	base := "smtpd_tls_chain_files = " + pem + "\n"
	for _, tc := range []struct{ main, err string }{
		{"smtpd_tls_security_level = encrypt\n", "needs a certificate"},
		{"smtpd_tls_wrappermode = yes\n", "needs a certificate"},
		{base + "smtpd_tls_dcert_file = /etc/ssl/dsa.pem\n", "DSA"},
		{base + "smtpd_tls_protocols = !TLSv1.2\n", "gap"},
		{base + "smtpd_tls_ciphers = null\n", "null"},
		{base + "smtpd_tls_exclude_ciphers = TLS_AES_128_GCM_SHA256\n", "TLS 1.3"},
		{base + "smtpd_tls_exclude_ciphers = ECDHE\n", "excludes every TLS 1.2 cipher suite"},
		{"smtpd_tls_chain_files = " + filepath.Join(dir, "missing") + "\n", "no such file"},
		{base + "tls_server_sni_maps = bogus:x\n", "tls_server_sni_maps"},
	} {
		_, err := New(config.New("", config.ParseMain("main.cf", tc.main)))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.main, err, tc.err)
		}
	}
	for _, main := range []string{"", "smtpd_tls_security_level = may\n", "smtpd_use_tls = yes\n"} {
		if s, err := New(config.New("", config.ParseMain("main.cf", main))); s != nil || err != nil {
			t.Errorf("%q: got %v, %v; want no TLS", main, s, err)
		}
	}
	// TLS 1.3 only: no TLS 1.2 suite is needed.
	newServer(t, base+"smtpd_tls_protocols = TLSv1.3\nsmtpd_tls_exclude_ciphers = ECDHE\n")
	// unknown exclusions are warnings
	s := newServer(t, base+"smtpd_tls_exclude_ciphers = RC4, SNAKEOIL\n")
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "SNAKEOIL") {
		t.Errorf("warnings %q", w)
	}
}

// Session tickets: off by default; tls_session_ticket_cipher turns them
// on; smtpd_tls_session_cache_timeout bounds their age (0: off).
func TestSessionTickets(t *testing.T) {
	dir := t.TempDir()
	pem := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	base := "smtpd_tls_chain_files = " + pem + "\n"
	for _, tc := range []struct {
		main   string
		later  time.Duration
		resume bool
	}{
		{"", 0, false},
		{"tls_session_ticket_cipher = aes-256-cbc\n", 0, true},
		{"tls_session_ticket_cipher = aes-256-cbc\n", 3599 * time.Second, true},
		{"tls_session_ticket_cipher = aes-256-cbc\n", 3601 * time.Second, false},
		{"tls_session_ticket_cipher = aes-256-cbc\nsmtpd_tls_session_cache_timeout = 0\n", 0, false},
	} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			now := time.Now()
			s, err := newAt(config.New("", config.ParseMain("main.cf", base+tc.main)), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			c := clientFor(t, "mx.example")
			c.MaxVersion = ver
			c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			if _, err := handshake(t, s, c); err != nil {
				t.Fatal(err)
			}
			now = now.Add(tc.later)
			cs, err := handshake(t, s, c)
			if err != nil {
				t.Fatal(err)
			}
			if cs.DidResume != tc.resume {
				t.Errorf("%q TLS %x after %v: resumed %v, want %v", tc.main, ver, tc.later, cs.DidResume, tc.resume)
			}
		}
	}
}

// Client certificates: requested when asked for, never a handshake
// failure; VerifyClient checks them against smtpd_tls_CAfile.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	pem := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), ca(t).pem)
	k, c := ca(t).leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth, "client.example")
	clientCert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	ks, cs := ca(t).leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth, "server-only.example")
	serverOnly, _ := tls.X509KeyPair(cs, ks)
	selfSigned := mustSelfSigned(t)

	s := newServer(t, "smtpd_tls_chain_files = "+pem+"\nsmtpd_tls_ask_ccert = yes\nsmtpd_tls_CAfile = "+caFile+"\n")
	if s.Config().ClientAuth != tls.RequestClientCert {
		t.Fatalf("ClientAuth = %v", s.Config().ClientAuth)
	}
	for _, tc := range []struct {
		name    string
		cert    *tls.Certificate
		trusted bool
	}{
		{"trusted", &clientCert, true},
		{"server usage only", &serverOnly, false},
		{"self-signed", &selfSigned, false},
		{"none", nil, false},
	} {
		cc := clientFor(t, "mx.example")
		if tc.cert != nil {
			cc.Certificates = []tls.Certificate{*tc.cert}
		}
		var peer []*x509.Certificate
		srvCfg := s.Config().Clone()
		srvCfg.VerifyConnection = func(st tls.ConnectionState) error { peer = st.PeerCertificates; return nil }
		s2 := *s
		s2.tc = srvCfg
		if _, err := handshake(t, &s2, cc); err != nil {
			t.Errorf("%s: handshake failed: %v", tc.name, err)
			continue
		}
		if err := s.VerifyClient(peer); (err == nil) != tc.trusted {
			t.Errorf("%s: VerifyClient = %v, want trusted %v", tc.name, err, tc.trusted)
		}
	}
	// smtpd_tls_CApath: a directory of CA files
	caDir := filepath.Join(dir, "certs")
	os.Mkdir(caDir, 0o755)
	writeFile(t, filepath.Join(caDir, "0a1b2c3d.0"), ca(t).pem)
	sp := newServer(t, "smtpd_tls_chain_files = "+pem+"\nsmtpd_tls_CApath = "+caDir+"\n")
	if err := sp.VerifyClient([]*x509.Certificate{clientCert.Leaf}); err != nil {
		t.Errorf("CApath: %v", err)
	}
	// verify depth 0: the leaf itself would have to be trusted.
	s0 := newServer(t, "smtpd_tls_chain_files = "+pem+"\nsmtpd_tls_CAfile = "+caFile+"\nsmtpd_tls_ccert_verifydepth = 0\n")
	if err := s0.VerifyClient([]*x509.Certificate{clientCert.Leaf}); err == nil || !strings.Contains(err.Error(), "verifydepth") {
		t.Errorf("depth 0: %v", err)
	}
	// no CA configured: nothing is trusted; no request either.
	sn := newServer(t, "smtpd_tls_chain_files = "+pem+"\n")
	if err := sn.VerifyClient([]*x509.Certificate{clientCert.Leaf}); err == nil {
		t.Error("trusted without a CA")
	}
	if sn.Config().ClientAuth != tls.NoClientCert {
		t.Errorf("ClientAuth without ask_ccert: %v", sn.Config().ClientAuth)
	}
	if sr := newServer(t, "smtpd_tls_chain_files = "+pem+"\nsmtpd_tls_req_ccert = yes\n"); sr.Config().ClientAuth != tls.RequestClientCert {
		t.Errorf("req_ccert: ClientAuth = %v", sr.Config().ClientAuth)
	}
}

// An SNI name that is not a valid host name is not looked up: the
// default certificate, a warning with the name cut short. A 60 KB name
// of 30000 labels would otherwise cost a table lookup per parent domain.
func TestSNIInvalid(t *testing.T) {
	dir := t.TempDir()
	def := writeFile(t, filepath.Join(dir, "default.pem"), serverPEM(t, "ecdsa", "mx.example"))
	b := writeFile(t, filepath.Join(dir, "b.pem"), serverPEM(t, "ecdsa", "b.example", "*.b.example"))
	sni := writeFile(t, filepath.Join(dir, "sni"), []byte(fmt.Sprintf(".b.example %s\n", b)))
	s := newServer(t, fmt.Sprintf("smtpd_tls_chain_files = %s\ntls_server_sni_maps = texthash:%s\n", def, sni))
	rec := &logRecorder{}
	s.Log = slog.New(rec)
	long := strings.Repeat("a.", 30000) + "b.example"
	for _, tc := range []struct {
		name, want string
		valid      bool
	}{
		{"x.b.example", "b.example", true},
		{"X_1.B.example.", "b.example", true}, // underscore, case, trailing dot
		{long, "mx.example", false},
		{strings.Repeat("a", 64) + ".b.example", "mx.example", false},
		{"bad!.b.example", "mx.example", false},
		{"x..b.example", "mx.example", false},
		{"-x.b.example", "mx.example", false},
		{"x-.b.example", "mx.example", false},
		{"x.b.example\x00evil", "mx.example", false},
		{"x.b.example..", "mx.example", false},
	} {
		before := rec.count("WARN TLS SNI")
		cert, err := s.getCertificate(&tls.ClientHelloInfo{ServerName: tc.name})
		if err != nil {
			t.Errorf("%.40q: %v", tc.name, err)
			continue
		}
		if got := cert.Leaf.DNSNames[0]; got != tc.want {
			t.Errorf("SNI %.40q: certificate for %s, want %s", tc.name, got, tc.want)
		}
		if warned := rec.count("WARN TLS SNI") > before; warned == tc.valid {
			t.Errorf("SNI %.40q: warned %v", tc.name, warned)
		}
	}
	for _, m := range rec.msgs {
		if len(m) > 300 {
			t.Errorf("warning of %d bytes: %.120s", len(m), m)
		}
	}
	if !slices.ContainsFunc(rec.msgs, func(m string) bool {
		return strings.HasPrefix(m, "WARN TLS SNI from unknown is invalid: 60009 bytes long, more than 255: \"a.a.")
	}) {
		t.Errorf("no warning for the long name: %q", rec.msgs)
	}
}

// An expired certificate at start (or postern reload) is served with a
// warning, as Postfix serves it: the daemon, plaintext port 25 too, must
// not refuse to start. Replaced by a new expired one while running, it
// is not taken (TestRotationUnderLoad): the one in use is kept.
func TestExpiredAtStart(t *testing.T) {
	dir := t.TempDir()
	k, c := ca(t).leaf(t, "ecdsa", time.Now().Add(-time.Hour), x509.ExtKeyUsageServerAuth, "old.example")
	old := writeFile(t, filepath.Join(dir, "old.pem"), append(k, c...))
	sni := writeFile(t, filepath.Join(dir, "sni"), []byte("old.example "+old+"\n"))
	def := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	s := newServer(t, "smtpd_tls_chain_files = "+old+"\n")
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "smtpd_tls_chain_files: certificate old.example expired on") {
		t.Errorf("warnings %q", w)
	}
	c2 := clientFor(t, "old.example")
	c2.InsecureSkipVerify = true
	if cs, err := handshake(t, s, c2); err != nil || leafName(cs) != "old.example" {
		t.Errorf("handshake: %s, %v", leafName(cs), err)
	}
	// an SNI certificate loaded on first use: served and logged
	s = newServer(t, "smtpd_tls_chain_files = "+def+"\ntls_server_sni_maps = texthash:"+sni+"\n")
	rec := &logRecorder{}
	s.Log = slog.New(rec)
	if cs, err := handshake(t, s, c2); err != nil || leafName(cs) != "old.example" {
		t.Errorf("SNI handshake: %s, %v", leafName(cs), err)
	}
	if rec.count("WARN tls_server_sni_maps: certificate old.example expired") != 1 {
		t.Errorf("log %q", rec.msgs)
	}
}

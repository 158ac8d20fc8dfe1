package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// testCA signs test certificates.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

var (
	caOnce   sync.Once
	sharedCA *testCA
	rsaOnce  sync.Once
	rsaKeys  []*rsa.PrivateKey
)

// rsaKey returns one of a few RSA keys made once per test binary: RSA
// key generation is slow on a shared 2-core machine.
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	return rsaKeys[i%len(rsaKeys)]
}

func ca(t testing.TB) *testCA {
	caOnce.Do(func() {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "postern test CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			panic(err)
		}
		c, _ := x509.ParseCertificate(der)
		sharedCA = &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	})
	return sharedCA
}

var serial struct {
	sync.Mutex
	n int64
}

// leaf makes a certificate for names signed by the CA: key "rsa" or
// "ecdsa"; it returns the key PEM and the certificate PEM.
func (c *testCA) leaf(t testing.TB, kind string, notAfter time.Time, usage x509.ExtKeyUsage, names ...string) (keyPEM, certPEM []byte) {
	t.Helper()
	var key crypto.Signer
	switch kind {
	case "rsa":
		serial.Lock()
		key = rsaKey(t, int(serial.n))
		serial.Unlock()
	default:
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	serial.Lock()
	serial.n++
	sn := serial.n + 1
	serial.Unlock()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(sn), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// serverPEM is a key followed by its certificate, valid for a day.
func serverPEM(t testing.TB, kind string, names ...string) []byte {
	k, c := ca(t).leaf(t, kind, time.Now().Add(24*time.Hour), x509.ExtKeyUsageServerAuth, names...)
	return append(k, c...)
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// replaceFile writes data next to path and renames it over path.
func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// newServer builds a Server from main.cf text.
func newServer(t testing.TB, main string) *Server {
	t.Helper()
	s, err := New(config.New("", config.ParseMain("main.cf", main)))
	if err != nil {
		t.Fatalf("New: %v\nmain.cf:\n%s", err, main)
	}
	if s == nil {
		t.Fatal("New returned no server")
	}
	return s
}

// handshake runs one TLS handshake over a pipe and returns what the
// client saw.
func handshake(t testing.TB, s *Server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	a, b := net.Pipe()
	deadline := time.Now().Add(20 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	srv := tls.Server(a, s.Config())
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		if err == nil {
			// TLS 1.3 tickets are sent after the handshake: read so that
			// the client's read sees them, then close.
			buf := make([]byte, 1)
			if _, err := srv.Read(buf); err == nil {
				srv.Write(buf)
			}
		}
		a.Close() // not srv.Close: its close_notify would wait for a reader
		done <- err
	}()
	cli := tls.Client(b, client)
	err := cli.Handshake()
	var cs tls.ConnectionState
	if err == nil {
		cs = cli.ConnectionState()
		cli.Write([]byte("x"))
		cli.Read(make([]byte, 1))
	}
	b.Close()
	if serr := <-done; err == nil && serr != nil {
		err = serr
	}
	return cs, err
}

// clientFor trusts the test CA and asks for name.
func clientFor(t testing.TB, name string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca(t).cert)
	return &tls.Config{RootCAs: pool, ServerName: name}
}

func leafName(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return strings.Join(cs.PeerCertificates[0].DNSNames, ",")
}

func dirFile(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

func mustSelfSigned(t testing.TB) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "self"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

package smtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/queue"
)

// fakeDNS is a Resolver with fixed answers; names are looked up without
// the trailing dot. A name in fail answers SERVFAIL.
type fakeDNS struct {
	mx   map[string][]*net.MX
	addr map[string][]netip.Addr
	fail map[string]bool
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	name = strings.TrimSuffix(name, ".")
	if f.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if mx, ok := f.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(host, ".")
	if f.fail[host] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
	}
	var out []netip.Addr
	for _, a := range f.addr[host] {
		if network == "ip" || network == "ip4" && a.Is4() || network == "ip6" && a.Is6() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func mx(pref uint16, host string) *net.MX { return &net.MX{Host: host + ".", Pref: pref} }

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// logBuffer collects the agent's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testConfig is a configuration for loopback tests; it logs into log.
func testConfig(dns Resolver, log io.Writer) Config {
	cfg := DefaultConfig()
	cfg.MyHostname = "client.test"
	cfg.Protocols = inetaddr.Protocols{IPv4: true}
	cfg.Resolver = dns
	cfg.Timeouts.Connect = 2 * time.Second
	cfg.Timeouts.Helo = 5 * time.Second
	if log != nil {
		cfg.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	return cfg
}

func newAgent(t *testing.T, cfg Config) *Agent {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

const testBody = "Subject: test\r\n\r\nhello\r\n.leading dot\r\n"

// request builds a request for the recipients, all of them to deliver.
func request(nexthop string, rcpts ...string) *deliver.Request {
	env := &queue.Envelope{ID: "TESTQ", Sender: "sender@example.org", Arrival: time.Now()}
	req := &deliver.Request{ID: "TESTQ", Env: env, Nexthop: nexthop, Size: int64(len(testBody))}
	for i, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
		req.Rcpts = append(req.Rcpts, i)
	}
	req.Content = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testBody)), nil }
	return req
}

// deliverOne runs one delivery with a time limit.
func deliverOne(t *testing.T, a *Agent, req *deliver.Request) []deliver.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := a.Deliver(ctx, req)
	if len(res) != len(req.Rcpts) {
		t.Fatalf("%d results for %d recipients", len(res), len(req.Rcpts))
	}
	return res
}

// testPKI is a CA and a server certificate it signed.
type testPKI struct {
	caFile string
	server *tls.Config
}

// newPKI makes a CA (written to a PEM file) and a server certificate for
// the given DNS names.
func newPKI(t *testing.T, names ...string) testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, server: &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}},
	}}
}

// mapTable is a maps.Table for password lookups.
type mapTable map[string]string

func (m mapTable) Lookup(key string) (string, bool, error) {
	v, ok := m[key]
	return v, ok, nil
}

func (m mapTable) Name() string { return "test:passwords" }

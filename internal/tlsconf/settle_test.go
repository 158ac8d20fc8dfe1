package tlsconf

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// certbot renews by swapping its live/ links one at a time: privkey.pem
// first, then fullchain.pem. A handshake between the two swaps sees the
// new key with the old certificate; the store waits for the set to
// settle, loads the finished renewal and logs no warning. A set that
// stays broken is still refused, with one warning.
func TestCertbotLinksSwappedOneByOne(t *testing.T) {
	dir := t.TempDir()
	live, archive := filepath.Join(dir, "live"), filepath.Join(dir, "archive")
	os.Mkdir(live, 0o755)
	os.Mkdir(archive, 0o755)
	link := func(name string, gen int) {
		tmp := filepath.Join(live, name+".new")
		if err := os.Symlink(filepath.Join("..", "archive", fmt.Sprintf("%s%d.pem", name, gen)), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(live, name+".pem")); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(gen int) {
		k, c := ca(t).leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth, fmt.Sprintf("gen%d.example", gen), "mx.example")
		writeFile(t, filepath.Join(archive, fmt.Sprintf("privkey%d.pem", gen)), k)
		writeFile(t, filepath.Join(archive, fmt.Sprintf("fullchain%d.pem", gen)), c)
	}
	issue(1)
	link("privkey", 1)
	link("fullchain", 1)
	rec := &logRecorder{}
	s := newServer(t, fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n",
		filepath.Join(live, "fullchain.pem"), filepath.Join(live, "privkey.pem")))
	s.Log = slog.New(rec)
	presented := func() string { // the leaf's first name
		t.Helper()
		cs, err := handshake(t, s, clientFor(t, "mx.example"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(leafName(cs), ",")[0]
	}
	if got := presented(); got != "gen1.example" {
		t.Fatalf("first certificate %q", got)
	}

	// Renewal: the handshake comes between the two swaps; certbot
	// swaps the second link while the store waits.
	issue(2)
	link("privkey", 2)
	waits := 0
	s.certs.settle = func() {
		if waits++; waits == 1 {
			link("fullchain", 2)
		}
	}
	if got := presented(); got != "gen2.example" {
		t.Errorf("handshake during the renewal presented %q, want the renewed gen2.example", got)
	}
	if n := rec.count("WARN"); n != 0 {
		t.Errorf("warnings about a renewal half done: %q", rec.msgs)
	}

	// A key that really does not match stays refused, logged once.
	issue(3)
	link("privkey", 3)
	for range 3 {
		if got := presented(); got != "gen2.example" {
			t.Errorf("with a mismatched key, %q presented, want the previous gen2.example", got)
		}
	}
	if n := rec.count("WARN cannot reload"); n != 1 {
		t.Errorf("%d warnings about the mismatched key, want 1: %q", n, rec.msgs)
	}
}

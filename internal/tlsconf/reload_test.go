package tlsconf

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logRecorder keeps the messages logged to it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// layout places certificate generations where a server reads them.
type layout struct {
	name    string
	main    func(dir string) string
	install func(t *testing.T, dir string, gen int, keyPEM, certPEM []byte)
}

var layouts = []layout{
	{
		// certbot: live/ links to archive/ files, swapped with a
		// rename; every other generation is a plain file renamed over.
		name: "chain-file-symlink-and-rename",
		main: func(dir string) string {
			return "smtpd_tls_chain_files = " + filepath.Join(dir, "live", "mx.pem") + "\n"
		},
		install: func(t *testing.T, dir string, gen int, keyPEM, certPEM []byte) {
			live := filepath.Join(dir, "live", "mx.pem")
			os.MkdirAll(filepath.Dir(live), 0o755)
			os.MkdirAll(filepath.Join(dir, "archive"), 0o755)
			data := append(append([]byte(nil), keyPEM...), certPEM...)
			if gen%2 == 1 {
				replaceFile(t, live, data)
				return
			}
			target := writeFile(t, filepath.Join(dir, "archive", fmt.Sprintf("mx%d.pem", gen)), data)
			tmp := live + ".link"
			if err := os.Symlink(target, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, live); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		// A Kubernetes secret volume: tls.crt and tls.key link through
		// ..data, which is swapped to a new timestamped directory.
		name: "kubernetes-data-swap",
		main: func(dir string) string {
			return fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n",
				filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
		},
		install: func(t *testing.T, dir string, gen int, keyPEM, certPEM []byte) {
			ts := fmt.Sprintf("..2026_%d", gen)
			os.MkdirAll(filepath.Join(dir, ts), 0o755)
			writeFile(t, filepath.Join(dir, ts, "tls.crt"), certPEM)
			writeFile(t, filepath.Join(dir, ts, "tls.key"), keyPEM)
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink(ts, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"tls.crt", "tls.key"} {
				if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
					os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f))
				}
			}
		},
	},
}

type result struct {
	gen  int64 // the generation installed when the handshake began
	seen int   // the generation of the certificate presented
	err  error
}

// Certificates replaced under load: 20 goroutines shake hands in a loop
// while the files are replaced; every handshake succeeds, and once a
// replacement is complete every new handshake presents the new
// certificate. Bad replacements keep the previous certificate and are
// logged once each.
func TestRotationUnderLoad(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { rotate(t, l) })
	}
}

func rotate(t *testing.T, l layout) {
	dir := t.TempDir()
	genCert := func(gen int) ([]byte, []byte) {
		return ca(t).leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth, fmt.Sprintf("gen%d.example", gen), "mx.example")
	}
	k, c := genCert(0)
	l.install(t, dir, 0, k, c)
	rec := &logRecorder{}
	s := newServer(t, l.main(dir))
	s.Log = slog.New(rec)

	var gen atomic.Int64
	results := make(chan result, 100)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				g := gen.Load()
				cs, err := handshake(t, s, clientFor(t, "mx.example"))
				r := result{gen: g, err: err, seen: -1}
				if err == nil {
					fmt.Sscanf(leafName(cs), "gen%d.example", &r.seen)
				}
				select {
				case results <- r:
				case <-stop:
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// await reads results until n handshakes begun at generation g
	// (or later) finished, checking each against want.
	await := func(g int64, want int, n int) {
		t.Helper()
		timeout := time.After(2 * time.Minute)
		for n > 0 {
			select {
			case r := <-results:
				if r.err != nil {
					t.Fatalf("handshake failed: %v", r.err)
				}
				if r.gen >= g {
					if r.seen != want {
						t.Fatalf("handshake begun after replacement %d presented generation %d, want %d", g, r.seen, want)
					}
					n--
				}
			case <-timeout:
				t.Fatal("no handshakes")
			}
		}
	}
	await(0, 0, 40)
	for i := 1; i <= 6; i++ {
		k, c := genCert(i)
		l.install(t, dir, i, k, c)
		gen.Store(int64(i))
		await(int64(i), i, 60)
	}
	if n := rec.count("WARN"); n != 0 {
		t.Fatalf("warnings after good replacements: %q", rec.msgs)
	}
	if n := rec.count("INFO reloaded"); n != 6 {
		t.Errorf("%d reloads logged, want 6: %q", n, rec.msgs)
	}

	// Bad replacements: the generation-6 certificate stays, each
	// change logged once however many handshakes see it.
	last := int64(6)
	expiredKey, expiredCert := ca(t).leaf(t, "ecdsa", time.Now().Add(-time.Minute), x509.ExtKeyUsageServerAuth, "gen7.example", "mx.example")
	otherKey, _ := genCert(8)
	_, cert9 := genCert(9)
	for i, bad := range []struct{ key, cert []byte }{
		{expiredKey, expiredCert},                      // expired
		{otherKey, cert9},                              // key mismatch
		{expiredKey, expiredCert[:len(expiredCert)/2]}, // half-written
	} {
		l.install(t, dir, 7+i, bad.key, bad.cert)
		last++
		gen.Store(last)
		await(last, 6, 60)
		if n := rec.count("WARN"); n != i+1 {
			t.Fatalf("after bad replacement %d: %d warnings, want %d: %q", i+1, n, i+1, rec.msgs)
		}
	}
	// and a good one after the bad ones is taken
	k, c = genCert(10)
	l.install(t, dir, 10, k, c)
	gen.Store(last + 1)
	await(last+1, 10, 60)
}

package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// chainPEM is a smtpd_tls_chain_files file: the private key of key,
// then the certificate of cert (the same one, or another: a mismatch).
func chainPEM(t *testing.T, key, cert tls.Certificate) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})...)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// rotationClient is one SMTP session over STARTTLS.
type rotationClient struct {
	conn net.Conn
	br   *bufio.Reader
	leaf string // fingerprint of the certificate the server presented
}

// dialSTARTTLS connects, says EHLO, STARTTLS, shakes hands and says
// EHLO again.
func dialSTARTTLS(addr string) (*rotationClient, error) {
	raw, err := net.DialTimeout("tcp4", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Now().Add(2 * time.Minute))
	c := &rotationClient{conn: raw, br: bufio.NewReader(raw)}
	if err := c.expect(220); err != nil {
		raw.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.cmd("EHLO client.example", 250); err != nil {
		raw.Close()
		return nil, err
	}
	if err := c.cmd("STARTTLS", 220); err != nil {
		raw.Close()
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	c.leaf = fingerprint(tc.ConnectionState().PeerCertificates[0].Raw)
	if err := c.cmd("EHLO client.example", 250); err != nil {
		tc.Close()
		return nil, err
	}
	return c, nil
}

func (c *rotationClient) expect(want int) error {
	code, line, err := readReply(c.br)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("got %q, want %d", line, want)
	}
	return nil
}

func (c *rotationClient) cmd(line string, want int) error {
	c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", line); err != nil {
		return err
	}
	if err := c.expect(want); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(line)[0], err)
	}
	return nil
}

func (c *rotationClient) send(rcpt string, body []byte) error {
	if err := c.cmd("MAIL FROM:<load@client.example>", 250); err != nil {
		return err
	}
	if err := c.cmd("RCPT TO:<"+rcpt+">", 250); err != nil {
		return err
	}
	if err := c.cmd("DATA", 354); err != nil {
		return err
	}
	if _, err := c.conn.Write(append(body, ".\r\n"...)); err != nil {
		return err
	}
	return c.expect(250)
}

// Certificates replaced on disk while 20 sessions send mail over
// STARTTLS: the file renamed over (as most tools write), a certbot-style
// live/ symlink swapped, a Kubernetes secret's ..data link swapped (the
// configured name itself unchanged), renamed over again, then a
// replacement whose key does not match its certificate, then a good one. After each good
// replacement the next handshake presents the new certificate; after
// the bad one the previous certificate stays and one warning is logged;
// no session is dropped (ten of them last the whole test, ten reconnect
// after every second message) and every message accepted is delivered
// exactly once.
func TestCertificateRotationUnderLoad(t *testing.T) {
	const workers, longLived = 20, 10
	dir := t.TempDir()
	archive, live := filepath.Join(dir, "archive"), filepath.Join(dir, "live")
	os.Mkdir(archive, 0o755)
	os.Mkdir(live, 0o755)
	liveFile := filepath.Join(live, "mx.pem")

	var certs []tls.Certificate
	fps := map[string]int{} // fingerprint -> generation
	newGen := func() int {
		c := smtptest.NewCert(t, "mx.example.test")
		certs = append(certs, c)
		fps[fingerprint(c.Certificate[0])] = len(certs) - 1
		return len(certs) - 1
	}
	archiveFile := func(gen int) string {
		f := filepath.Join(archive, fmt.Sprintf("mx%d.pem", gen))
		if err := os.WriteFile(f, chainPEM(t, certs[gen], certs[gen]), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// renameOver writes content beside the live name and renames it over.
	renameOver := func(content []byte) {
		tmp := filepath.Join(live, ".mx.pem.new")
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, liveFile); err != nil {
			t.Fatal(err)
		}
	}
	// symlinkSwap points the live name at archive/mxGEN.pem as certbot
	// does: a new symlink renamed over the old name.
	symlinkSwap := func(gen int) {
		f := archiveFile(gen)
		tmp := filepath.Join(live, ".mx.pem.link")
		if err := os.Symlink(filepath.Join("..", "archive", filepath.Base(f)), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, liveFile); err != nil {
			t.Fatal(err)
		}
	}
	// kubeSwap updates a mounted Kubernetes secret: live/mx.pem links to
	// ..data/mx.pem, and the ..data link is swapped to a new directory;
	// live/mx.pem itself does not change.
	kubeSwap := func(gen int) {
		d := fmt.Sprintf("..gen%d", gen)
		os.Mkdir(filepath.Join(live, d), 0o755)
		if err := os.WriteFile(filepath.Join(live, d, "mx.pem"), chainPEM(t, certs[gen], certs[gen]), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, l := range [][2]string{{d, "..data"}, {filepath.Join("..data", "mx.pem"), "mx.pem"}} {
			if target, err := os.Readlink(filepath.Join(live, l[1])); err == nil && target == l[0] {
				continue
			}
			tmp := filepath.Join(live, ".link.new")
			if err := os.Symlink(l[0], tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(live, l[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	symlinkSwap(newGen())

	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	in, maildir := mailInstance(t, "smtpd_tls_chain_files = "+liveFile+"\nsmtpd_tls_security_level = may\n")
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	// The load: each worker sends numbered messages until stop closes.
	var (
		seq      atomic.Int64
		accepted sync.Map // message number -> true
		progress [workers]atomic.Int64
		wake     = make(chan struct{}, 1)
		stop     = make(chan struct{})
		errs     = make(chan error, workers)
		wg       sync.WaitGroup
		seenMu   sync.Mutex
		seen     = map[string]int{} // fingerprints presented to the workers
	)
	note := func(fp string) {
		seenMu.Lock()
		seen[fp]++
		seenMu.Unlock()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *rotationClient
			defer func() {
				if c != nil {
					c.conn.Close()
				}
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					if c != nil {
						if err := c.cmd("QUIT", 221); err != nil {
							errs <- fmt.Errorf("worker %d: %w", w, err)
						}
					}
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = dialSTARTTLS(addr); err != nil {
						errs <- fmt.Errorf("worker %d: %w", w, err)
						return
					}
					note(c.leaf)
				}
				num := int(seq.Add(1))
				if err := c.send(rcpt, numberedMessage(num, 2048)); err != nil {
					errs <- fmt.Errorf("worker %d, message %d (session presented %s): %w", w, num, c.leaf, err)
					return
				}
				accepted.Store(num, true)
				progress[w].Add(1)
				select {
				case wake <- struct{}{}:
				default:
				}
				if w >= longLived && n%2 == 1 {
					if err := c.cmd("QUIT", 221); err != nil {
						errs <- fmt.Errorf("worker %d: %w", w, err)
						return
					}
					c.conn.Close()
					c = nil
				}
			}
		}()
	}
	// stopLoad ends the load once: at the end, or when the test fails
	// (the workers QUIT before the daemon is stopped).
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopLoad()
	// loadMoves waits until every worker has sent two more messages (a
	// reconnecting one has shaken hands again): the event that shows the
	// load went on across a replacement.
	loadMoves := func(what string) {
		t.Helper()
		var mark [workers]int64
		for w := range mark {
			mark[w] = progress[w].Load()
		}
		deadline := time.After(3 * time.Minute)
		for {
			behind := 0
			for w := range mark {
				if progress[w].Load() < mark[w]+2 {
					behind++
				}
			}
			if behind == 0 {
				return
			}
			select {
			case <-wake:
			case err := <-errs:
				t.Fatalf("%s: %v", what, err)
			case <-deadline:
				t.Fatalf("%s: %d workers sent nothing for 3 minutes", what, behind)
			}
		}
	}
	// probe shakes hands once and returns the certificate's generation.
	probe := func(what string) int {
		t.Helper()
		c, err := dialSTARTTLS(addr)
		if err != nil {
			t.Fatalf("%s: probe: %v", what, err)
		}
		c.cmd("QUIT", 221)
		c.conn.Close()
		gen, ok := fps[c.leaf]
		if !ok {
			t.Fatalf("%s: the server presented an unknown certificate %s", what, c.leaf)
		}
		return gen
	}

	loadMoves("before any replacement")
	if gen := probe("first"); gen != 0 {
		t.Fatalf("first certificate: generation %d", gen)
	}
	const reloaded = "reloaded the certificates of smtpd_tls_chain_files"
	steps := []struct {
		what    string
		replace func(gen int)
	}{
		{"renamed over", func(gen int) { renameOver(chainPEM(t, certs[gen], certs[gen])) }},
		{"symlink swapped", symlinkSwap},
		{"a Kubernetes secret mounted", kubeSwap},
		{"the Kubernetes secret's ..data swapped", kubeSwap},
		{"renamed over again", func(gen int) { renameOver(chainPEM(t, certs[gen], certs[gen])) }},
	}
	for _, st := range steps {
		gen := newGen()
		st.replace(gen)
		if got := probe(st.what); got != gen {
			t.Fatalf("%s: the next handshake presented generation %d, want %d", st.what, got, gen)
		}
		loadMoves(st.what)
		if got := probe(st.what + ", under load"); got != gen {
			t.Fatalf("%s: a handshake under load presented generation %d, want %d", st.what, got, gen)
		}
	}
	good := len(certs) - 1

	// A bad replacement: the new certificate with another key.
	bad := newGen()
	renameOver(chainPEM(t, smtptest.NewCert(t, "mx.example.test"), certs[bad]))
	if got := probe("key mismatch"); got != good {
		t.Fatalf("after a key mismatch the server presented generation %d, want the previous %d", got, good)
	}
	loadMoves("key mismatch")
	probe("key mismatch, under load")
	const refused = "cannot reload the certificates of smtpd_tls_chain_files"
	if n := strings.Count(in.maillog(t), refused); n != 1 {
		t.Fatalf("%d lines %q after the key mismatch, want 1:\n%s", n, refused, in.maillog(t))
	}
	if !strings.Contains(in.maillog(t), "private key does not match public key") {
		t.Errorf("the warning does not give the reason:\n%s", in.maillog(t))
	}

	// And a good one after it.
	last := newGen()
	symlinkSwap(last)
	if got := probe("after the bad one"); got != last {
		t.Fatalf("a good replacement after a bad one: generation %d presented, want %d", got, last)
	}
	loadMoves("after the bad one")

	stopLoad()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if strings.Count(in.maillog(t), reloaded) != len(steps)+1 {
		t.Errorf("%d %q lines, want %d", strings.Count(in.maillog(t), reloaded), reloaded, len(steps)+1)
	}
	for fp, n := range seen {
		if fps[fp] == bad {
			t.Errorf("%d sessions were presented the mismatched certificate", n)
		}
	}
	if len(seen) != len(certs)-1 {
		t.Errorf("the workers' handshakes saw %d certificates, want all %d good ones", len(seen), len(certs)-1)
	}

	// Every accepted message is in the Maildir once.
	want := 0
	accepted.Range(func(any, any) bool { want++; return true })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		copies, strays := maildirCopies(t, maildir)
		if len(copies) >= want || time.Now().After(deadline) {
			for n := range accepted.Range {
				if len(copies[n.(int)]) != 1 {
					t.Errorf("message %d: %d copies", n, len(copies[n.(int)]))
				}
			}
			if len(copies) != want || len(strays) != 0 {
				t.Errorf("%d messages delivered (and %d strays), %d accepted", len(copies), len(strays), want)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d messages over %d sessions, %d certificate generations", want, workers, len(certs))
}

package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Certificate rotation under load, through the daemon: 20 sessions send
// 4 KB messages over STARTTLS in a loop while the certificate file is
// replaced (renamed over, as certbot and Kubernetes do). Every session
// completes and every message is delivered; every handshake that began
// after the replacement presents the new certificate.
func TestCertRotationUnderLoad(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	certDir := t.TempDir()
	chain := filepath.Join(certDir, "chain.pem")
	if err := os.WriteFile(chain, certPEM(t, "mx.example.test"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, "smtpd_tls_security_level = may\nsmtpd_tls_chain_files = "+chain+"\n")
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	rcpt := u.Username + "@mx.example.test"
	body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\r\n"), 64) // 4 KiB

	newPEM := certPEM(t, "mx.example.test")
	newBlock, _ := tls.X509KeyPair(newPEM, newPEM)
	newLeaf := newBlock.Certificate[0]

	const sessions = 20
	var (
		rotated  atomic.Bool
		total    atomic.Int64
		after    [sessions]atomic.Int64 // sessions begun after the rotation, per sender
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		errs     = make(chan error, sessions)
		sent     atomic.Int64
		progress = make(chan struct{}, 1)
	)
	session := func(i, n int) error {
		began := rotated.Load()
		conn, err := net.DialTimeout("tcp4", addr, 10*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		c, err := smtp.NewClient(conn, "mx.example.test")
		if err != nil {
			return err
		}
		if err := c.Hello("load.example"); err != nil {
			return err
		}
		if err := c.StartTLS(&tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		st, _ := c.TLSConnectionState()
		if began && !bytes.Equal(st.PeerCertificates[0].Raw, newLeaf) {
			return fmt.Errorf("sender %d, session %d: began after the replacement, got the old certificate", i, n)
		}
		if err := c.Mail("load@client.example"); err != nil {
			return err
		}
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Subject: load %d.%d\r\n\r\n", i, n)
		w.Write(body)
		if err := w.Close(); err != nil {
			return err
		}
		sent.Add(1)
		return c.Quit()
	}
	for i := range sessions {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				began := rotated.Load()
				if err := session(i, n); err != nil {
					errs <- err
					return
				}
				if began {
					after[i].Add(1)
				}
				total.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		})
	}
	// Events: some sessions before the replacement, then one begun
	// after it by every sender.
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(120 * time.Second)
		for !cond() {
			select {
			case <-progress:
			case err := <-errs:
				close(stop)
				wg.Wait()
				t.Fatal(err)
			case <-deadline:
				close(stop)
				wg.Wait()
				t.Fatalf("%s: never (%d sessions)", what, total.Load())
			}
		}
	}
	waitUntil("40 sessions", func() bool { return total.Load() >= 2*sessions })
	tmp := chain + ".new"
	if err := os.WriteFile(tmp, newPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, chain); err != nil {
		t.Fatal(err)
	}
	before := total.Load()
	rotated.Store(true)
	waitUntil("a session after the replacement from every sender", func() bool {
		for i := range after {
			if after[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := int(sent.Load())
	t.Logf("%d sessions, %d before the replacement", n, before)
	files := waitFiles(t, filepath.Join(maildir, "new"), n)
	for _, f := range files {
		if !strings.Contains(f, "ESMTPS id ") || !strings.Contains(f, "0123456789abcdef") {
			t.Fatalf("delivered message:\n%s", firstLines(f, 12))
		}
	}
	if log := in.maillog(t); !strings.Contains(log, "reloaded the certificates of smtpd_tls_chain_files") {
		t.Errorf("no reload logged:\n%s", log)
	}
}

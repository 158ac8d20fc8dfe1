package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
	"github.com/postern-mta/postern/internal/testperm"
)

// certPEM is a self-signed ECDSA key and certificate for name.
func certPEM(t *testing.T, name string) []byte {
	return certPEMUntil(t, name, time.Now().AddDate(1, 0, 0))
}

// certPEMUntil is certPEM valid until notAfter.
func certPEMUntil(t *testing.T, name string, notAfter time.Time) []byte {
	key, cert := smtptest.PEM(t, smtptest.NewCertValid(t, name, notAfter.Add(-48*time.Hour), notAfter))
	return append(key, cert...)
}

// The daemon reads certificates after it dropped root (at reload, and
// when they change): one mail_owner can read through its group loads;
// one only root can read makes `postern check` warn and reload refuse,
// and the running configuration stays.
func TestCertificateReadAsMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to test dropping root (CI runs as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	gid, _ := strconv.Atoi(nobody.Gid)
	main := "inet_interfaces = loopback-only\ninet_protocols = ipv4\nmail_owner = nobody\n"
	in := newInstance(t, main)
	certDir := filepath.Join(in.dir, "certs")
	os.Mkdir(certDir, 0o755)
	cert := filepath.Join(certDir, "mx.pem")
	os.WriteFile(cert, certPEM(t, "mx.example.test"), 0o640)
	os.Chown(cert, 0, gid)
	in.writeMain(t, main+"smtpd_tls_chain_files = "+cert)
	testperm.OpenDirs(in.dir)
	in.start(t)
	if out, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload with a certificate nobody's group reads: exit %d %s%s", code, out, e)
	}
	os.Chmod(cert, 0o600)
	out, e, _ := in.run(t, "check")
	if want := cert + ": nobody cannot read it (mode 600, owner root)"; !strings.Contains(out+e, want) {
		t.Errorf("check does not say %q:\n%s%s", want, out, e)
	}
	out, e, code := in.run(t, "reload")
	if code == 0 || !strings.Contains(out+e, "permission denied") {
		t.Errorf("reload with a certificate only root reads: exit %d %s%s", code, out, e)
	}
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

// An expired certificate does not keep the daemon (plaintext port 25
// too) from starting: it is served with a warning, as Postfix serves
// it, and postern check warns rather than failing.
func TestExpiredCertificateAtStart(t *testing.T) {
	in := newInstance(t, "")
	cert := filepath.Join(in.dir, "mx.pem")
	os.WriteFile(cert, certPEMUntil(t, "mx.example.test", time.Now().Add(-24*time.Hour)), 0o600)
	in.writeMain(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nsmtpd_tls_security_level = may\nsmtpd_tls_chain_files = "+cert)
	out, e, _ := in.run(t, "check")
	if want := "warning: parameter smtpd_tls_chain_files: the certificate for mx.example.test expired on"; !strings.Contains(out+e, want) {
		t.Errorf("check does not say %q:\n%s%s", want, out, e)
	}
	in.start(t)
	waitLog(t, in, "smtpd_tls_chain_files: certificate mx.example.test expired on")
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", in.port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	say := func(line, want string) string {
		t.Helper()
		if line != "" {
			fmt.Fprintf(conn, "%s\r\n", line)
		}
		var text string
		for {
			l, err := br.ReadString('\n')
			text += l
			if err != nil || len(l) < 4 || l[3] != '-' {
				break
			}
		}
		if !strings.Contains(text, want) {
			t.Fatalf("%q: got %q; want %q", line, text, want)
		}
		return text
	}
	say("", "220 ")
	say("EHLO client.example", "STARTTLS")
	say("STARTTLS", "220 ")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if leaf := tc.ConnectionState().PeerCertificates[0]; time.Now().Before(leaf.NotAfter) {
		t.Errorf("served a certificate valid until %s", leaf.NotAfter)
	}
	fmt.Fprintf(tc, "QUIT\r\n")
	if _, _, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop failed")
	}
}

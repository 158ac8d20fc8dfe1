package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// tlsMailInstance is mailInstance with a fresh certificate for
// mx.example.test and the extra TLS settings.
func tlsMailInstance(t *testing.T, extra string) (*instance, string, string) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	in, maildir := mailInstance(t, smtptest.TLSConf(t, t.TempDir())+extra)
	return in, maildir, u.Username + "@mx.example.test"
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps)", name)
	}
	return p
}

// STARTTLS with three real clients: openssl s_client -starttls smtp
// (driven line by line, without pipelining), swaks --tls and Python's
// smtplib starttls(). Each message is delivered with "with ESMTPS",
// and smtpd_tls_loglevel = 1 logs each handshake as Postfix does.
func TestSTARTTLSRealClients(t *testing.T) {
	openssl := needTool(t, "openssl")
	swaks := needTool(t, "swaks")
	in, maildir, rcpt := tlsMailInstance(t, "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n")
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	// openssl s_client: it sends EHLO and STARTTLS itself.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-starttls", "smtp", "-servername", "mx.example.test",
		"-quiet", "-nocommands", "-crlf")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	say := func(line, want string) {
		t.Helper()
		io.WriteString(stdin, line+"\n")
		if line == "." || !strings.HasPrefix(want, "-") {
			_, last, err := readReply(br)
			if err != nil || !strings.HasPrefix(last, want) {
				t.Fatalf("openssl s_client: %q got %q, %v; want %q…", line, last, err, want)
			}
		}
	}
	say("EHLO client.example", "250 ")
	say("MAIL FROM:<openssl@client.example>", "250 ")
	say("RCPT TO:<"+rcpt+">", "250 ")
	say("DATA", "354 ")
	say("Subject: via openssl", "-")
	say("", "-")
	say(".", "250 2.0.0 Ok: queued as ")
	say("QUIT", "221 ")
	stdin.Close()
	cmd.Wait()

	out, err := exec.Command(swaks, "--server", addr, "--tls", "--from", "swaks@client.example", "--to", rcpt,
		"--header", "Subject: via swaks").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<~  250 2.0.0 Ok: queued as ") || !strings.Contains(string(out), "<-  220 2.0.0 Ready to start TLS") {
		t.Fatalf("swaks --tls: %v\n%s", err, out)
	}

	py := `import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), local_hostname="client.example")
s.starttls(context=ctx)
s.sendmail("python@client.example", [sys.argv[3]], "Subject: via smtplib\r\n\r\nhello\r\n")
s.quit()
`
	if out, err := exec.Command("/usr/bin/python3", "-c", py, "127.0.0.1", fmt.Sprint(in.port), rcpt).CombinedOutput(); err != nil {
		t.Fatalf("python smtplib: %v\n%s", err, out)
	}

	files := waitFiles(t, filepath.Join(maildir, "new"), 3)
	for _, subject := range []string{"via openssl", "via swaks", "via smtplib"} {
		found := false
		for _, f := range files {
			if strings.Contains(f, "Subject: "+subject+"\n") {
				found = true
				if !strings.Contains(f, "\tby mx.example.test (postern) with ESMTPS id ") {
					t.Errorf("%s: not received with ESMTPS:\n%s", subject, f)
				}
			}
		}
		if !found {
			t.Errorf("no message %q delivered", subject)
		}
	}
	if n := strings.Count(in.maillog(t), "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher TLS_"); n != 3 {
		t.Errorf("%d handshake lines, want 3:\n%s", n, in.maillog(t))
	}
}

// smtps (port 465): smtpd_tls_wrappermode = yes in main.cf. swaks
// --tlsc delivers; a plaintext client gets no greeting.
func TestWrapperModeSwaks(t *testing.T) {
	swaks := needTool(t, "swaks")
	in, maildir, rcpt := tlsMailInstance(t, "smtpd_tls_wrappermode = yes\nsmtpd_tls_received_header = yes\n")
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	out, err := exec.Command(swaks, "--server", addr, "--tlsc", "--from", "swaks@client.example", "--to", rcpt,
		"--header", "Subject: via smtps").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<~  250 2.0.0 Ok: queued as ") {
		t.Fatalf("swaks --tlsc: %v\n%s", err, out)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{"\t(using TLSv1.3 with cipher TLS_", "\t(No client certificate requested)\n", " with ESMTPS id ", "Subject: via smtps\n"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}

	c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "EHLO client.example\r\n")
	if l, _ := bufio.NewReader(c).ReadString('\n'); strings.HasPrefix(l, "220") || strings.HasPrefix(l, "250") {
		t.Errorf("plaintext client answered in wrapper mode: %q", l)
	}
	tc, err := tls.Dial("tcp4", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("a TLS client after the failed one: %v", err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	if l, _ := bufio.NewReader(tc).ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Errorf("greeting over TLS: %q", l)
	}
}

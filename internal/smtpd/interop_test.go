package smtpd_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// need finds a real client program; CI installs them all
// (scripts/install-test-deps), so there a missing one is a failure.
func need(t *testing.T, prog string) string {
	t.Helper()
	for _, p := range []string{prog, "/usr/sbin/" + prog} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed but CI must run this test", prog)
	}
	t.Skipf("%s is not installed (scripts/install-test-deps)", prog)
	return ""
}

func TestSwaks(t *testing.T) {
	swaks := need(t, "swaks")
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	out, err := exec.Command(swaks, "--server", s.Addr, "--from", "alice@example.test",
		"--to", "bob@mx.example.test,carol@remote.example", "--pipeline", "--timeout", "10").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "250 2.0.0 Ok: queued as ") {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if m := s.Queue.Messages(); len(m) != 1 || len(m[0].Envelope.Recipients) != 2 {
		t.Errorf("queued %+v", m)
	}
	noImproperPipelining(t, s)
}

// noImproperPipelining: a client that pipelines as RFC 2920 allows never
// trips smtpd_forbid_unauth_pipelining (on by default).
func noImproperPipelining(t *testing.T, s *smtptest.Server) {
	t.Helper()
	if strings.Contains(s.Logged(), "improper command pipelining") {
		t.Errorf("a legitimate client was taken for an improper pipeliner:\n%s", s.Logged())
	}
}

func TestPythonSmtplib(t *testing.T) {
	py := need(t, "python3")
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	host, port, _ := strings.Cut(s.Addr, ":")
	script := `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "app@example.test"; m["To"] = "user@remote.example"; m["Subject"] = "smtplib"
m.set_content("h\u00e9llo from python\n.leading dot\n")
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10) as c:
    c.ehlo("app.example.test")
    c.send_message(m)
    try:
        c.sendmail("app@example.test", ["x@remote.example"], "Subject: y\r\n\r\nz\r\n")
    except smtplib.SMTPRecipientsRefused:
        pass
`
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	noImproperPipelining(t, s)
	msgs := s.Queue.Messages()
	if len(msgs) != 2 || !strings.Contains(string(msgs[0].Body), "\r\n.leading dot\r\n") {
		t.Errorf("queued %d messages: %+v", len(msgs), msgs)
	}
}

// Postfix's own load generator: 1,000 messages in 10 parallel sessions.
func TestSmtpSource(t *testing.T) {
	src := need(t, "smtp-source")
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
	start := time.Now()
	out, err := exec.Command(src, "-s", "10", "-m", "1000", "-l", "2048", "-f", "load@example.test",
		"-t", "sink@mx.example.test", s.Addr).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	if n := len(s.Queue.Messages()); n != 1000 {
		t.Errorf("%d of 1000 messages queued\n%s", n, out)
	}
	t.Logf("smtp-source: 1000 messages in 10 sessions in %v", time.Since(start))
	noImproperPipelining(t, s)
}

package main

import (
	"fmt"
	"net/smtp"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tools written for Postfix's logs read ours: Debian's pflogsumm counts
// the messages received, delivered and bounced, told our syslog name, or
// untold when syslog_name = postfix.
func TestPflogsummReadsOurLog(t *testing.T) {
	if _, err := exec.LookPath("pflogsumm"); err != nil {
		t.Skip("pflogsumm is not installed (scripts/install-test-deps installs it)")
	}
	for _, c := range []struct{ cf, flag string }{
		{"", "--syslog-name=postern"},
		{"syslog_name = postfix\n", ""}, // pflogsumm's default name
	} {
		out := pflogsumm(t, c.cf, c.flag)
		for _, want := range []string{`(?m)^\s+4\s+received$`, `(?m)^\s+4\s+delivered$`, `(?m)^\s+1\s+bounced$`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("%q: pflogsumm report lacks %s:\n%s", c.cf, want, out)
			}
		}
	}
}

// pflogsumm sends four messages through an instance with main.cf lines
// cf (one bounces) and returns pflogsumm's report on its maillog.
func pflogsumm(t *testing.T, cf, flag string) string {
	in, maildir := mailInstance(t, "local_recipient_maps =\n"+cf)
	u, _ := user.Current()
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for i := range 3 {
		msg := fmt.Sprintf("Subject: %d\r\n\r\nhello\r\n", i)
		if err := smtp.SendMail(addr, nil, u.Username+"@mx.example.test", []string{u.Username + "@mx.example.test"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if err := smtp.SendMail(addr, nil, u.Username+"@mx.example.test", []string{"nobody-here@mx.example.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFiles(t, filepath.Join(maildir, "new"), 4) // three messages and the non-delivery notice
	waitLog(t, in, "status=bounced")
	for deadline := time.Now().Add(30 * time.Second); strings.Count(in.maillog(t), "status=sent") < 4 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // the log line follows the file
	}
	args := []string{filepath.Join(in.data, "maillog")}
	if flag != "" {
		args = append([]string{flag}, args...)
	}
	out, err := exec.Command("pflogsumm", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pflogsumm: %v\n%s", err, out)
	}
	in.run(t, "stop")
	return string(out)
}

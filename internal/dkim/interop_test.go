package dkim

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// dkimpy runs Debian's python3-dkim on msg (scripts/install-test-deps
// installs it) and returns its verdict per signature.
func dkimpy(t *testing.T, msg string, dns map[string]string) []string {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, nacl").Run(); err != nil {
		t.Skip("python3-dkim not installed (scripts/install-test-deps installs it)")
	}
	records, _ := json.Marshal(dns)
	cmd := exec.Command("/usr/bin/python3", "testdata/dkimpy-verify.py", string(records))
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestDkimpyInterop: every signature we make verifies with dkimpy, and a
// modified body fails there too.
func TestDkimpyInterop(t *testing.T) {
	s, dns := dualSigner(t)
	msgs := map[string]string{
		"plain":   plainMsg,
		"rfc8463": rfc8463Msg,
		"lists and MIME": "From: List <l@example.com>\r\nFrom: Second <s@example.com>\r\nSender: l@example.com\r\n" +
			"To: a@example.net\r\nCc: b@example.net,\r\n  c@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" +
			"List-Id: <l.example.com>\r\nList-Unsubscribe: <mailto:u@example.com>\r\n" +
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n" +
			"caf\xc3\xa9  \t \r\ntrailing blanks   \r\n\r\n\r\n",
		"no body": "From: a@example.com\r\nSubject: empty\r\n\r\n",
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			signed := sign(t, s, msg) + msg
			got := dkimpy(t, signed, dns)
			if strings.Join(got, ",") != "0 pass,1 pass" {
				t.Errorf("dkimpy: %q\n%s", got, signed)
			}
			bad := signed + "added line\r\n"
			for _, line := range dkimpy(t, bad, dns) {
				if !strings.Contains(line, "fail") {
					t.Errorf("modified body: dkimpy says %q", line)
				}
			}
		})
	}
}

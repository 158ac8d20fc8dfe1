package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dkim"
	"github.com/postern-mta/postern/internal/dnstest"
)

// dkimpyVerify verifies every DKIM-Signature of msg with Debian's
// python3-dkim, the DNS being records ({name: TXT}); one line per
// signature, "0 pass".
func dkimpyVerify(t *testing.T, msg string, records map[string]string) []string {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, nacl").Run(); err != nil {
		t.Skip("python3-dkim not installed (scripts/install-test-deps installs it)")
	}
	js, _ := json.Marshal(records)
	cmd := exec.Command("/usr/bin/python3", "../../internal/dkim/testdata/dkimpy-verify.py", string(js))
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// opendkimVerify verifies msg with OpenDKIM's opendkim-testmsg (libopendkim),
// which takes its keys from the DNS through the system resolver
// (/etc/resolv.conf, port 53) and has no option for test keys: it runs
// in a private mount namespace whose /etc/resolv.conf names a loopback
// address where a relay to a dnstest server serving records listens on
// port 53. It returns opendkim-testmsg's exit status and output (none
// when every signature verifies).
func opendkimVerify(t *testing.T, msg string, records map[string]string) (int, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("opendkim-testmsg needs a private /etc/resolv.conf: a mount namespace, as root")
	}
	bin, err := exec.LookPath("opendkim-testmsg")
	if err != nil {
		t.Skip("opendkim-testmsg not installed (scripts/install-test-deps installs opendkim-tools)")
	}
	zone := dnstest.Zone{}
	for name, rec := range records {
		zone[name] = []dnstest.Record{dnstest.TXT(dkim.SplitTXT(rec)...)}
	}
	dns := dnstest.Start(t, zone)
	relay := startDNSRelay(t, dns.Addr())
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver "+relay+"\noptions timeout:2 attempts:1\n"), 0o644)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && exec "$2" -t "$3"`, "sh", resolv, bin, dir)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	if len(dns.Queries()) == 0 {
		t.Fatalf("opendkim-testmsg passed without asking the DNS:\n%s", out)
	}
	return 0, string(out)
}

// startDNSRelay listens on UDP port 53 of a loopback address of its own
// (not 127.0.0.1, where a real resolver may be) and relays each query to
// upstream. It returns the address.
func startDNSRelay(t *testing.T, upstream string) string {
	t.Helper()
	var pc net.PacketConn
	var addr string
	var err error
	for i := 2; i < 40; i++ {
		addr = fmt.Sprintf("127.83.75.%d", i)
		if pc, err = net.ListenPacket("udp4", addr+":53"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("dns relay: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			go func() {
				c, err := net.Dial("udp4", upstream)
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write(q)
				resp := make([]byte, 65535)
				if n, err := c.Read(resp); err == nil {
					pc.WriteTo(resp[:n], from)
				}
			}()
		}
	}()
	return addr
}

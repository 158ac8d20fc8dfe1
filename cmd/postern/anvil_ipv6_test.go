package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// greetings connects inside the namespace to [2001:db8::1]:port from
// each source address in turn, keeping every connection open, and
// returns the first reply line of each.
func (n *netns) greetings(port int, sources ...string) []string {
	n.t.Helper()
	const script = `import socket, sys
held = []
for src in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6)
    s.settimeout(20)
    s.bind((src, 0))
    s.connect(("2001:db8::1", int(sys.argv[1])))
    print(s.makefile().readline().strip(), flush=True)
    held.append(s)
`
	args := append([]string{"netns", "exec", n.name, "/usr/bin/python3", "-c", script, fmt.Sprint(port)}, sources...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("clients: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// IPv6 clients are counted per anvil_ipv6_prefix_length: with the
// default /64, a second address of the same network is the same client
// for smtpd_client_connection_count_limit; with 128, it is another.
func TestIPv6PrefixE2E(t *testing.T) {
	n := newNetns(t)
	n.sh(`ip addr add 2001:db8::2/64 dev eth0 nodad
ip addr add 2001:db8::3/64 dev eth0 nodad`)
	const port = 2525
	in := newInstance(t, "inet_interfaces = 2001:db8::1\nmynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 1")
	os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", port)), 0o644)
	if out, code := n.postern("start", "-c", in.dir); code != 0 {
		t.Fatalf("start: exit %d %s", code, out)
	}
	defer n.postern("stop", "-c", in.dir)
	got := n.greetings(port, "2001:db8::2", "2001:db8::3")
	if len(got) != 2 || !strings.HasPrefix(got[0], "220 ") ||
		got[1] != "421 4.7.0 mx.example.test Error: too many connections from 2001:db8::3" {
		t.Fatalf("two addresses of one /64: %q", got)
	}
	waitLog(t, in, fmt.Sprintf("warning: Connection concurrency limit exceeded: 2 from unknown[2001:db8::3] for service %d", port))

	in.writeMain(t, "inet_interfaces = 2001:db8::1\nmynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 1\nanvil_ipv6_prefix_length = 128")
	if out, code := n.postern("reload", "-c", in.dir); code != 0 {
		t.Fatalf("reload: %s", out)
	}
	waitLog(t, in, "reload -- version")
	got = n.greetings(port, "2001:db8::2", "2001:db8::3")
	if len(got) != 2 || !strings.HasPrefix(got[0], "220 ") || !strings.HasPrefix(got[1], "220 ") {
		t.Fatalf("two addresses counted apart (prefix 128): %q", got)
	}
}

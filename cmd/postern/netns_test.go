package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// netns is a network namespace of the test's own with two interfaces,
// eth0 (192.0.2.1/24, 2001:db8::1/64) and eth1 (198.51.100.1/24): veth
// pairs, documentation addresses only, and a hosts file of its own.
type netns struct {
	t    *testing.T
	name string
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespace tests need root (CI runs them as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace tests need ip(8) from iproute2")
	}
	n := &netns{t: t, name: fmt.Sprintf("postern-test-%d", os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.name).Run()
		os.RemoveAll(filepath.Join("/etc/netns", n.name))
	})
	hosts := filepath.Join("/etc/netns", n.name)
	os.MkdirAll(hosts, 0o755)
	os.WriteFile(filepath.Join(hosts, "hosts"), []byte("127.0.0.1 localhost\n192.0.2.1 mx.ns.example\n"), 0o644)
	n.sh(`ip link set lo up
ip link add eth0 type veth peer name eth0p
ip link add eth1 type veth peer name eth1p
ip addr add 192.0.2.1/24 dev eth0
ip addr add 2001:db8::1/64 dev eth0 nodad
ip addr add 198.51.100.1/24 dev eth1
for i in eth0 eth0p eth1 eth1p; do ip link set $i up; done`)
	return n
}

// sh runs a shell script inside the namespace and fails the test on error.
func (n *netns) sh(script string) string {
	n.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", n.name, "sh", "-ec", script).CombinedOutput()
	if err != nil {
		n.t.Fatalf("in namespace: %v\n%s\n%s", err, script, out)
	}
	return string(out)
}

// postern runs the binary inside the namespace.
func (n *netns) postern(args ...string) (string, int) {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, filepath.Join(binDir, "postern")}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatal(err)
	}
	return string(out), code
}

func (n *netns) listening(port int) []string {
	return parseProcNetTCP(n.sh("cat /proc/net/tcp /proc/net/tcp6"), port)
}

// connects reports whether a TCP connection to addr:port inside the
// namespace gets the banner.
func (n *netns) connects(addr string, port int) bool {
	out, err := exec.Command("ip", "netns", "exec", n.name, "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && head -c 3 <&3", addr, port)).CombinedOutput()
	return err == nil && string(out) == "220"
}

func TestInterfacesInNamespace(t *testing.T) {
	n := newNetns(t)
	const port = 2525
	in := newInstance(t, "inet_interfaces = eth0\ninet_protocols = ipv4")
	os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", port)), 0o644)
	stop := func() { n.postern("stop", "-c", in.dir) }
	if out, code := n.postern("start", "-c", in.dir); code != 0 {
		t.Fatalf("start: exit %d %s", code, out)
	}
	defer stop()
	if got := n.listening(port); !slices.Equal(got, []string{"192.0.2.1:2525"}) {
		t.Errorf("inet_interfaces = eth0: listening on %v", got)
	}
	if !n.connects("192.0.2.1", port) || n.connects("198.51.100.1", port) || n.connects("127.0.0.1", port) {
		t.Error("eth0 must accept and eth1 and loopback refuse")
	}

	// Both protocols: eth0's IPv6 address too (not its link-local one).
	in.writeMain(t, "inet_interfaces = eth0")
	if out, code := n.postern("reload", "-c", in.dir); code != 0 {
		t.Fatalf("reload: %s", out)
	}
	got := n.listening(port)
	if !slices.Equal(got, []string{"192.0.2.1:2525", "[2001:db8::1]:2525"}) {
		t.Errorf("eth0, all protocols: listening on %v", got)
	}

	// Moved live to the other interface by reload.
	in.writeMain(t, "inet_interfaces = eth1\ninet_protocols = ipv4")
	if out, code := n.postern("reload", "-c", in.dir); code != 0 {
		t.Fatalf("reload to eth1: %s", out)
	}
	if got := n.listening(port); !slices.Equal(got, []string{"198.51.100.1:2525"}) {
		t.Errorf("after reload to eth1: listening on %v", got)
	}

	// A hostname from the namespace's hosts file.
	in.writeMain(t, "inet_interfaces = mx.ns.example\ninet_protocols = ipv4")
	if out, code := n.postern("reload", "-c", in.dir); code != 0 {
		t.Fatalf("reload to mx.ns.example: %s", out)
	}
	if got := n.listening(port); !slices.Equal(got, []string{"192.0.2.1:2525"}) {
		t.Errorf("inet_interfaces = mx.ns.example: listening on %v", got)
	}

	// An address on no interface: a clear error, the old listener stays.
	in.writeMain(t, "inet_interfaces = 203.0.113.9\ninet_protocols = ipv4")
	out, code := n.postern("reload", "-c", in.dir)
	if code != 1 || !strings.Contains(out, "no local interface found for 203.0.113.9") {
		t.Errorf("reload to a foreign address: exit %d %s", code, out)
	}
	if !n.connects("192.0.2.1", port) {
		t.Error("the old listener stopped serving after a failed reload")
	}
	stop()
	out, code = n.postern("start", "-c", in.dir)
	if code != 1 || !strings.Contains(out, "no local interface found for 203.0.113.9") {
		t.Errorf("start on a foreign address: exit %d %s", code, out)
	}

	// Unless freebind is asked for: then it binds before the address is up.
	in.writeMain(t, "inet_interfaces = 203.0.113.9\ninet_protocols = ipv4\ninet_interfaces_freebind = yes")
	if out, code := n.postern("start", "-c", in.dir); code != 0 {
		t.Fatalf("start with freebind: exit %d %s", code, out)
	}
	if got := n.listening(port); !slices.Equal(got, []string{"203.0.113.9:2525"}) {
		t.Errorf("freebind: listening on %v", got)
	}
}

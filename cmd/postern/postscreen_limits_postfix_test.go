package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// postscreen_client_connection_count_limit and postscreen_pre_queue_limit
// against Debian's Postfix 3.7 postscreen, as TestPostscreenLikePostfix:
// a client's second connection while its first waits out the greet wait
// (count limit 1), a tenth client while nine wait (pre-queue limit 10,
// Postfix's minimum: it counts the new client), and an allowlisted
// client, which the full pre-queue does not stop. Same replies, same
// log lines of each client.
func TestPostscreenLimitsLikePostfix(t *testing.T) {
	needPostfix(t)
	common := "myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test\n" +
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nsmtpd_banner = $myhostname ESMTP\n" +
		"postscreen_greet_wait = 10s\n"
	const countOpts, queueOpts = "-o postscreen_client_connection_count_limit=1", "-o postscreen_pre_queue_limit=10"
	pfC, pfD := freePort(t), freePort(t)
	pf := startPostfixFront(t, common, pfC, fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s\n", pfC, countOpts)+
		fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s -o postscreen_cache_map=btree:$data_directory/psc_d\n", pfD, queueOpts)+
		"smtpd pass - - n - - smtpd\ndnsblog unix - - n - 0 dnsblog\ntlsproxy unix - - n - 0 tlsproxy\n")
	pt := newInstance(t, common)
	ptC, ptD := pt.port, freePort(t)
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s\n127.0.0.1:%d inet n - n - 1 postscreen %s\nsmtpd pass - - n - - smtpd\n",
		ptC, countOpts, ptD, queueOpts)
	if err := os.WriteFile(filepath.Join(pt.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	pt.start(t)

	type server struct {
		name string
		c, d int
		log  func() string
	}
	servers := []*server{{name: "Postfix", c: pfC, d: pfD, log: pf.maillog}, {name: "postern", c: ptC, d: ptD, log: func() string { return pt.maillog(t) }}}
	type result struct{ replies, log string }
	var results [2][3]result
	for i, s := range servers {
		held := holdSession(t, "127.0.0.20", s.c)
		results[i][0] = result{screenTranscript(t, "127.0.0.20", s.c, []string{"<EOF"}),
			screenLog(t, s.log, "127.0.0.20", "DISCONNECT ")}
		held.Close()
		var nine []net.Conn
		for j := 0; j < 9; j++ {
			nine = append(nine, holdSession(t, fmt.Sprintf("127.0.0.%d", 30+j), s.d))
		}
		results[i][1] = result{screenTranscript(t, "127.0.0.39", s.d, []string{"<EOF"}),
			screenLog(t, s.log, "127.0.0.39", "DISCONNECT ")}
		results[i][2] = result{screenTranscript(t, "127.0.0.1", s.d, []string{"<", "QUIT", "<"}), ""}
		for _, c := range nine {
			c.Close()
		}
	}
	for k, name := range []string{"count limit", "pre-queue limit", "pre-queue limit, allowlisted"} {
		want, got := results[0][k], results[1][k]
		if got != want {
			t.Errorf("%s:\npostern:\n%s%s\nPostfix:\n%s%s", name, got.replies, got.log, want.replies, want.log)
		}
		t.Logf("%s:\n%s%s", name, want.replies, want.log)
	}
}

// holdSession connects from the source address and reads postscreen's
// 220- line: the client then waits out the greet wait until closed.
func holdSession(t *testing.T, from string, port int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "220-mx.example.test ESMTP\r\n" {
		t.Fatalf("%s: %q (%v), want the 220- line", from, line, err)
	}
	return c
}

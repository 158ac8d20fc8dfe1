package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serviceSession connects to a loopback port and returns the greeting
// and the final reply line of EHLO and of each line sent.
func serviceSession(t *testing.T, port int, lines ...string) (string, []string) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string {
		_, line, err := readReply(br)
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		return line
	}
	greeting := reply()
	var out []string
	for _, l := range append([]string{"EHLO client.example.test"}, lines...) {
		fmt.Fprintf(c, "%s\r\n", l)
		out = append(out, reply())
	}
	fmt.Fprintf(c, "QUIT\r\n")
	reply()
	return greeting, out
}

// Two smtpd services of one daemon run with different settings: the
// plain one with main.cf's, the other with main.cf's overridden by its
// -o options ($name references to main.cf's user-defined
// $mua_client_restrictions and to $service_name expanded), logging as
// postern/submission/smtpd for -o syslog_name=postfix/submission. A
// reload applies a changed -o to new sessions of that service.
func TestServiceOverrides(t *testing.T) {
	mainCf := "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nsmtpd_banner = $myhostname ESMTP main\n" +
		"mua_client_restrictions = permit_sasl_authenticated, reject\nalias_maps =\nalias_database ="
	in := newInstance(t, mainCf)
	sub := freePort(t)
	master := func(overrides string) {
		text := fmt.Sprintf("%d inet n - n - - smtpd\n%d inet n - n - - smtpd\n%s", in.port, sub, overrides)
		if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	master("  -o syslog_name=postfix/submission\n  -o { smtpd_banner = $myhostname ESMTP on $service_name }\n" +
		"  -o smtpd_client_restrictions=$mua_client_restrictions\n")
	if out, e, code := in.run(t, "check"); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, e)
	}
	in.start(t)
	const rcpt = "RCPT TO:<postmaster@mx.example.test>"
	greeting, replies := serviceSession(t, in.port, "MAIL FROM:<a@example.test>", rcpt)
	if greeting != "220 mx.example.test ESMTP main" || replies[2] != "250 2.1.5 Ok" {
		t.Errorf("plain service: greeting %q, RCPT %q; want main.cf's banner and 250", greeting, replies[2])
	}
	greeting, replies = serviceSession(t, sub, "MAIL FROM:<a@example.test>", rcpt)
	if want := fmt.Sprintf("220 mx.example.test ESMTP on %d", sub); greeting != want {
		t.Errorf("service with -o: greeting %q, want %q", greeting, want)
	}
	if want := "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied"; replies[2] != want {
		t.Errorf("service with -o: RCPT %q, want %q", replies[2], want)
	}
	waitLog(t, in, "postern/submission/smtpd[")
	log := in.maillog(t)
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Client host rejected") && !strings.Contains(l, " postern/submission/smtpd[") {
			t.Errorf("the service's reject is not logged under its syslog_name: %s", l)
		}
	}
	if !strings.Contains(log, " postern/smtpd[") {
		t.Errorf("the plain service does not log as postern/smtpd:\n%s", log)
	}

	// A changed -o applies after a reload; the plain service is unchanged.
	master("  -o { smtpd_banner = $myhostname ESMTP reloaded }\n")
	if out, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload: exit %d %s%s", code, out, e)
	}
	greeting, replies = serviceSession(t, sub, "MAIL FROM:<a@example.test>", rcpt)
	if greeting != "220 mx.example.test ESMTP reloaded" || replies[2] != "250 2.1.5 Ok" {
		t.Errorf("after reload: greeting %q, RCPT %q; want the new banner and 250", greeting, replies[2])
	}
	if greeting, _ := serviceSession(t, in.port); greeting != "220 mx.example.test ESMTP main" {
		t.Errorf("plain service after reload: greeting %q", greeting)
	}
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

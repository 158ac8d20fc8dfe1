package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

// startPostgrey runs Debian's postgrey on a loopback port with a private
// database and a one-second greylisting delay; it returns the address
// once postgrey accepts connections (its "Binding to TCP port" line).
func startPostgrey(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/postgrey"); err != nil {
		t.Skip("postgrey is not installed (scripts/install-test-deps)")
	}
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Skip(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command("/usr/sbin/postgrey", "--inet="+addr, "--dbdir="+t.TempDir(), "--delay=1",
		"--user="+u.Username, "--group="+g.Name, "--pidfile="+filepath.Join(t.TempDir(), "pid"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "Setting gid") || strings.Contains(sc.Text(), "Setting uid") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("postgrey did not start:\n%s", log.String())
	}
	return addr
}

// check_policy_service with the real postgrey: the first attempt is
// greylisted at RCPT with postgrey's DEFER_IF_PERMIT text (450), a retry
// after the delay passes and the message is delivered.
func TestPolicyServicePostgrey(t *testing.T) {
	pg := startPostgrey(t)
	in, maildir := mailInstance(t, "smtpd_recipient_restrictions = check_policy_service inet:"+pg+"\n")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	body := []byte("Subject: greylisted\r\n\r\nHello.\r\n")
	out := sendSMTP(addr, "bob@client.example", rcpt, body)
	want := "450 4.2.0 <" + rcpt + ">: Recipient address rejected: Greylisted, see http://postgrey"
	if out.Queued || out.Stage != "RCPT" || !strings.HasPrefix(out.Reply, want) {
		t.Fatalf("first attempt: %+v, want %q at RCPT\n%s", out, want, in.maillog(t))
	}
	// Retry on each 450 until postgrey's delay has passed.
	deadline := time.Now().Add(60 * time.Second)
	tries := 1
	for !out.Queued {
		if time.Now().After(deadline) || out.Stage != "RCPT" || !strings.HasPrefix(out.Reply, "450 ") {
			t.Fatalf("after %d attempts: %+v\n%s", tries, out, in.maillog(t))
		}
		time.Sleep(200 * time.Millisecond) // pace the retries, as a client's queue would
		out = sendSMTP(addr, "bob@client.example", rcpt, body)
		tries++
	}
	msgs := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if log := in.maillog(t); !strings.Contains(log, "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: "+want) {
		t.Errorf("no greylisting reject line in the maillog:\n%s", log)
	}
	// postgrey's PREPEND: its header above our Received:, as Postfix's.
	if i, j := strings.Index(msgs[0], "\nX-Greylist: delayed "), strings.Index(msgs[0], "\nReceived: from "); i < 0 || j < i {
		t.Errorf("no X-Greylist: header above Received: in the delivered message:\n%s", msgs[0])
	}
}

// startPolicydSPF serves Debian's postfix-policyd-spf-python on a
// loopback port: it speaks the protocol on stdin/stdout, one process per
// connection as Postfix's spawn(8) runs it. Its DNS resolver is pointed
// at the test DNS server (dnspython's default resolver, set before
// policyd-spf's main runs), and loopback is not skipped.
func startPolicydSPF(t *testing.T, dns *dnstest.Server) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/policyd-spf"); err != nil {
		t.Skip("policyd-spf is not installed (scripts/install-test-deps: postfix-policyd-spf-python)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import spf_engine.policyd_spf, dns.resolver").Run(); err != nil {
		t.Skip("policyd-spf's Python modules (spf_engine, dnspython) are not importable")
	}
	host, port, _ := net.SplitHostPort(dns.Addr())
	conf := filepath.Join(t.TempDir(), "policyd-spf.conf")
	os.WriteFile(conf, []byte("debugLevel = 1\nTestOnly = 1\nHELO_reject = Fail\nMail_From_reject = Fail\n"+
		"PermError_reject = False\nTempError_Defer = False\nskip_addresses = 192.0.2.0/32\n"), 0o644)
	const wrapper = `import sys, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[1]]
r.port = int(sys.argv[2])
dns.resolver.default_resolver = r
sys.argv = ['policyd-spf', sys.argv[3]]
from spf_engine.policyd_spf import main
main()
`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmd := exec.Command("/usr/bin/python3", "-c", wrapper, host, port, conf)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = c, c, io.Discard
			if err := cmd.Start(); err != nil {
				t.Error(err)
				c.Close()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd.Wait()
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// check_policy_service with the real policyd-spf: a sender whose
// domain's SPF record fails the client is rejected at RCPT with
// policyd-spf's 550; one whose record passes is delivered.
func TestPolicyServiceSPF(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{
		"fail.example.test": {dnstest.TXT("v=spf1 ip4:192.0.2.1 -all")},
		"pass.example.test": {dnstest.TXT("v=spf1 ip4:127.0.0.0/8 -all")},
	})
	spfd := startPolicydSPF(t, dns)
	in, maildir := mailInstance(t, "smtpd_recipient_restrictions = check_policy_service inet:"+spfd+"\n")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	out := sendSMTP(addr, "bob@fail.example.test", rcpt, []byte("Subject: forged\r\n\r\nHello.\r\n"))
	want := "550 5.7.23 <" + rcpt + ">: Recipient address rejected: Message rejected due to: SPF fail"
	if out.Queued || out.Stage != "RCPT" || !strings.HasPrefix(out.Reply, want) {
		t.Fatalf("SPF fail: %+v, want %q at RCPT\n%s", out, want, in.maillog(t))
	}
	if out := sendSMTP(addr, "bob@pass.example.test", rcpt, []byte("Subject: fine\r\n\r\nHello.\r\n")); !out.Queued {
		t.Fatalf("SPF pass: %+v\n%s", out, in.maillog(t))
	}
	msgs := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if !strings.Contains(msgs[0], "\nReceived-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.1;") {
		t.Errorf("no Received-SPF: Pass header from policyd-spf's PREPEND:\n%s", msgs[0])
	}
}

// recordingPolicyServer answers DUNNO to every request and records the
// requests and the number of connections.
type recordingPolicyServer struct {
	ln     net.Listener
	action string // the answer; "" means DUNNO
	mu     sync.Mutex
	reqs   []map[string]string
	conns  int
}

func startRecordingPolicyServer(t *testing.T, action string) *recordingPolicyServer {
	t.Helper()
	return startRecordingPolicyServerOn(t, "tcp", "127.0.0.1:0", action)
}

func startRecordingPolicyServerOn(t *testing.T, network, addr, action string) *recordingPolicyServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &recordingPolicyServer{ln: ln, action: action}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				req := map[string]string{}
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l = strings.TrimSuffix(l, "\n"); l != "" {
						k, v, _ := strings.Cut(l, "=")
						req[k] = v
						continue
					}
					s.mu.Lock()
					s.reqs = append(s.reqs, req)
					s.mu.Unlock()
					req = map[string]string{}
					action := s.action
					if action == "" {
						action = "DUNNO"
					}
					c.Write([]byte("action=" + action + "\n\n"))
				}
			}()
		}
	}()
	return s
}

// The session's attributes reach the policy server as Postfix's smtpd
// sends them, at RCPT, DATA and END-OF-MESSAGE, and one connection
// serves successive SMTP sessions.
func TestPolicyServiceSessionAttributes(t *testing.T) {
	ps := startRecordingPolicyServer(t, "")
	svc := "check_policy_service inet:" + ps.ln.Addr().String()
	in, maildir := mailInstance(t, "smtpd_recipient_restrictions = "+svc+"\nsmtpd_data_restrictions = "+svc+
		"\nsmtpd_end_of_data_restrictions = "+svc+"\nsmtpd_policy_service_policy_context = e2e\n")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for i := 0; i < 2; i++ {
		if out := sendSMTP(addr, "bob@client.example", rcpt, []byte("Subject: attrs\r\n\r\nHello.\r\n")); !out.Queued {
			t.Fatalf("not queued: %+v\n%s", out, in.maillog(t))
		}
	}
	waitFiles(t, filepath.Join(maildir, "new"), 2)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.reqs) != 6 {
		t.Fatalf("%d requests, want 6: %v", len(ps.reqs), ps.reqs)
	}
	if ps.conns != 1 {
		t.Errorf("%d connections for two SMTP sessions, want 1 (reused)", ps.conns)
	}
	port := fmt.Sprint(in.port)
	common := map[string]string{"request": "smtpd_access_policy", "protocol_name": "ESMTP", "helo_name": "client.example",
		"sender": "bob@client.example", "client_address": "127.0.0.1", "client_name": "localhost", "reverse_client_name": "localhost",
		"server_address": "127.0.0.1", "server_port": port, "policy_context": "e2e", "size": "0", "encryption_keysize": "0", "stress": ""}
	states := []struct{ state, rcpt, count string }{{"RCPT", rcpt, "0"}, {"DATA", rcpt, "1"}, {"END-OF-MESSAGE", rcpt, "1"}}
	for i, req := range ps.reqs {
		st := states[i%3]
		want := map[string]string{"protocol_state": st.state, "recipient": st.rcpt, "recipient_count": st.count}
		for k, v := range common {
			want[k] = v
		}
		if st.state == "END-OF-MESSAGE" {
			want["size"] = fmt.Sprint(len("Subject: attrs\r\n\r\nHello.\r\n")) // the content received
		}
		for k, v := range want {
			if req[k] != v {
				t.Errorf("request %d (%s): %s=%q, want %q", i, st.state, k, req[k], v)
			}
		}
		if req["client_port"] == "" || req["client_port"] == "0" || req["instance"] == "" {
			t.Errorf("request %d: client_port %q instance %q", i, req["client_port"], req["instance"])
		}
		if len(req) != 29 {
			t.Errorf("request %d has %d attributes, want Postfix 3.7's 29", i, len(req))
		}
	}
	// One instance per message; the queue ID once the first RCPT was accepted.
	for _, m := range [][]map[string]string{ps.reqs[:3], ps.reqs[3:]} {
		if m[0]["instance"] != m[1]["instance"] || m[1]["instance"] != m[2]["instance"] {
			t.Errorf("instance changes within a message: %q %q %q", m[0]["instance"], m[1]["instance"], m[2]["instance"])
		}
		if m[0]["queue_id"] != "" || m[1]["queue_id"] == "" || m[1]["queue_id"] != m[2]["queue_id"] {
			t.Errorf("queue_id: %q %q %q, want empty at the first RCPT, then the ID", m[0]["queue_id"], m[1]["queue_id"], m[2]["queue_id"])
		}
	}
	if ps.reqs[0]["instance"] == ps.reqs[3]["instance"] {
		t.Errorf("two messages share the instance %q", ps.reqs[0]["instance"])
	}
}

// A policy server's HOLD: logged as Postfix's smtpd logs it, and the
// accepted message waits in the hold queue instead of being delivered.
func TestPolicyServiceHold(t *testing.T) {
	ps := startRecordingPolicyServer(t, "HOLD")
	in, _ := mailInstance(t, "smtpd_recipient_restrictions = check_policy_service inet:"+ps.ln.Addr().String()+"\n")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	if out := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "bob@client.example", rcpt, []byte("Subject: hold\r\n\r\nHello.\r\n")); !out.Queued {
		t.Fatalf("not queued: %+v\n%s", out, in.maillog(t))
	}
	held := waitFiles(t, filepath.Join(in.dir, "queue", "hold"), 1)
	if !strings.Contains(held[0], "Subject: hold") {
		t.Errorf("hold queue file lacks the message:\n%s", held[0])
	}
	want := "NOQUEUE: hold: RCPT from localhost[127.0.0.1]: <" + rcpt + ">: Recipient address triggers HOLD action; from=<bob@client.example> to=<" + rcpt + "> proto=ESMTP helo=<client.example>"
	if log := in.maillog(t); !strings.Contains(log, want) {
		t.Errorf("maillog lacks %q:\n%s", want, log)
	}
}

// Over STARTTLS the policy server gets the protocol, cipher and key size
// under OpenSSL's names, as Postfix sends them.
func TestPolicyServiceTLSAttributes(t *testing.T) {
	swaks := needTool(t, "swaks")
	ps := startRecordingPolicyServer(t, "")
	in, _, rcpt := tlsMailInstance(t, "smtpd_tls_security_level = may\nsmtpd_recipient_restrictions = check_policy_service inet:"+ps.ln.Addr().String()+"\n")
	for _, tc := range []struct{ args []string }{{nil}, {[]string{"--tls-protocol", "tlsv1_2"}}} {
		args := append([]string{"--server", fmt.Sprintf("127.0.0.1:%d", in.port), "--tls", "--from", "swaks@client.example", "--to", rcpt}, tc.args...)
		if out, err := exec.Command(swaks, args...).CombinedOutput(); err != nil || !strings.Contains(string(out), "<~  250 2.0.0 Ok: queued as ") {
			t.Fatalf("swaks %v: %v\n%s", tc.args, err, out)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(ps.reqs))
	}
	if r := ps.reqs[0]; r["encryption_protocol"] != "TLSv1.3" || !strings.HasPrefix(r["encryption_cipher"], "TLS_AES_") && r["encryption_cipher"] != "TLS_CHACHA20_POLY1305_SHA256" ||
		(r["encryption_keysize"] != "128" && r["encryption_keysize"] != "256") {
		t.Errorf("TLS 1.3 session: %v", r)
	}
	// TLS 1.2: OpenSSL's cipher name (ECDHE-ECDSA-AES256-GCM-SHA384), not Go's.
	if r := ps.reqs[1]; r["encryption_protocol"] != "TLSv1.2" || !strings.HasPrefix(r["encryption_cipher"], "ECDHE-") ||
		(r["encryption_keysize"] != "128" && r["encryption_keysize"] != "256") {
		t.Errorf("TLS 1.2 session: %v", r)
	}
	for _, r := range ps.reqs { // the cipher's bits, not its digest's (AES128-GCM-SHA256 is 128)
		if c := r["encryption_cipher"]; strings.Contains(c, "AES128") || strings.Contains(c, "AES_128") {
			if r["encryption_keysize"] != "128" {
				t.Errorf("%s: encryption_keysize %s, want 128", c, r["encryption_keysize"])
			}
		}
	}
}

// unix:private/policy is a socket under queue_directory, as in Postfix.
func TestPolicyServiceUnixSocket(t *testing.T) {
	in, _ := mailInstance(t, "smtpd_recipient_restrictions = check_policy_service unix:private/policy\n")
	dir := filepath.Join(in.dir, "queue", "private")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ps := startRecordingPolicyServerOn(t, "unix", filepath.Join(dir, "policy"), "REJECT not today")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	out := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "bob@client.example", rcpt, []byte("Subject: x\r\n\r\nHello.\r\n"))
	if want := "554 5.7.1 <" + rcpt + ">: Recipient address rejected: not today"; out.Stage != "RCPT" || out.Reply != want {
		t.Fatalf("%+v, want %q\n%s", out, want, in.maillog(t))
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.reqs) != 1 {
		t.Errorf("%d requests over the unix socket, want 1", len(ps.reqs))
	}
}

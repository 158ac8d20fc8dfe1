package policy

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/policyclient"
)

// policyServer is a fake policy server: it records each request's
// lines and answers action=<actions[recipient]> ("" closes the
// connection without answering).
type policyServer struct {
	ln      net.Listener
	mu      sync.Mutex
	reqs    [][]string
	actions map[string]string
}

func startPolicyServer(t *testing.T, network, addr string, actions map[string]string) *policyServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &policyServer{ln: ln, actions: actions}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *policyServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		var lines []string
		rcpt := ""
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSuffix(l, "\n")
			if l == "" {
				break
			}
			lines = append(lines, l)
			if v, ok := strings.CutPrefix(l, "recipient="); ok {
				rcpt = v
			}
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, lines)
		s.mu.Unlock()
		a, ok := s.actions[rcpt]
		if !ok {
			a = s.actions["*"]
		}
		if a == "" {
			return
		}
		c.Write([]byte("action=" + a + "\n\n"))
	}
}

func (s *policyServer) last() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

func collectWarnings(p *Policy) *[]string {
	var mu sync.Mutex
	var w []string
	p.Warn = func(m string) { mu.Lock(); w = append(w, m); mu.Unlock() }
	return &w
}

// TestPolicyServiceAttributes: the request carries every attribute of
// Postfix 3.7, in SMTPD_POLICY_README's order, with the session's
// values and policy_context.
func TestPolicyServiceAttributes(t *testing.T) {
	s := startPolicyServer(t, "tcp", "127.0.0.1:0", map[string]string{"*": "DUNNO"})
	p := newPolicy(t, "smtpd_policy_service_policy_context = submission\nsmtpd_recipient_restrictions = check_policy_service inet:"+s.ln.Addr().String()+"\n", nil)
	session := map[string]string{"protocol_state": "RCPT", "protocol_name": "ESMTP", "queue_id": "4ABC", "instance": "1.2.3.4",
		"size": "1234", "sasl_sender": "", "encryption_protocol": "TLSv1.3", "encryption_cipher": "TLS_AES_128_GCM_SHA256",
		"encryption_keysize": "128", "stress": "", "client_port": "40000", "server_address": "192.0.2.1", "server_port": "25"}
	req := &Request{ClientAddr: netip.MustParseAddr("198.51.100.7"), ClientName: "client.example", ReverseName: "client.example",
		Helo: "helo.example", Sender: "s@example.org", Recipient: "r@example.com", SASLUser: "joe", SASLMethod: "PLAIN", TLS: true,
		CCert:   &ClientCert{CN: "cn.example", Issuer: "CA", Fingerprint: "AA:BB", PublicKeyFingerprint: "CC:DD"},
		Session: func(n string) (string, bool) { v, ok := session[n]; return v, ok }}
	if v := p.Check(context.Background(), "smtpd_recipient_restrictions", Recipient, req); v.Kind != Next {
		t.Fatalf("verdict %+v, want DUNNO", v)
	}
	want := []string{"request=smtpd_access_policy", "protocol_state=RCPT", "protocol_name=ESMTP", "helo_name=helo.example",
		"queue_id=4ABC", "sender=s@example.org", "recipient=r@example.com", "recipient_count=0", "client_address=198.51.100.7",
		"client_name=client.example", "reverse_client_name=client.example", "instance=1.2.3.4", "sasl_method=PLAIN",
		"sasl_username=joe", "sasl_sender=", "size=1234", "ccert_subject=cn.example", "ccert_issuer=CA", "ccert_fingerprint=AA:BB",
		"ccert_pubkey_fingerprint=CC:DD", "encryption_protocol=TLSv1.3", "encryption_cipher=TLS_AES_128_GCM_SHA256",
		"encryption_keysize=128", "etrn_domain=", "stress=", "client_port=40000", "policy_context=submission",
		"server_address=192.0.2.1", "server_port=25"}
	if got := s.last(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("request:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without a session: unknown names, the list's state, zeros.
	req = &Request{ClientAddr: netip.MustParseAddr("198.51.100.7"), Sender: ""}
	p.Check(context.Background(), "smtpd_recipient_restrictions", Recipient, req)
	got := strings.Join(s.last(), "\n")
	for _, w := range []string{"protocol_state=RCPT", "client_name=unknown", "reverse_client_name=unknown", "sender=\n", "size=0", "encryption_keysize=0"} {
		if !strings.Contains(got, w) {
			t.Errorf("request without session lacks %q:\n%s", w, got)
		}
	}
}

// TestPolicyServiceActions: the answer is any access(5) action.
func TestPolicyServiceActions(t *testing.T) {
	actions := map[string]string{
		"ok@x.test": "OK", "dunno@x.test": "DUNNO", "reject@x.test": "REJECT", "rejecttext@x.test": "REJECT Go away",
		"defer@x.test": "DEFER Busy", "code@x.test": "450 4.2.0 Greylisted", "code5@x.test": "550 5.7.1 No",
		"dip@x.test": "DEFER_IF_PERMIT Greylisted, see http://x", "discard@x.test": "DISCARD spam",
		"hold@x.test": "HOLD", "holdtext@x.test": "HOLD looks odd", "warn@x.test": "WARN careful", "restr@x.test": "reject_unauth_destination",
		"bogus@x.test": "NONSENSE", "empty@x.test": " ", "prepend@x.test": "PREPEND X-Greylist: delayed 1 seconds",
		"badprepend@x.test": "PREPEND no header here", "ctlprepend@x.test": "PREPEND X-A: b\rc", "ctlreject@x.test": "REJECT a\rb\x01c",
		"redirect@x.test": "REDIRECT other@x.test", "filter@x.test": "FILTER smtp:[127.0.0.1]:10025", "bcc@x.test": "BCC archive@x.test",
	}
	s := startPolicyServer(t, "tcp", "127.0.0.1:0", actions)
	p := newPolicy(t, "smtpd_recipient_restrictions = check_policy_service inet:"+s.ln.Addr().String()+", permit\n", nil)
	tests := []struct{ rcpt, want string }{
		{"ok@x.test", "permit"},
		{"dunno@x.test", "permit"}, // on to the next restriction
		{"reject@x.test", "554 5.7.1 <reject@x.test>: Recipient address rejected: Access denied"},
		{"rejecttext@x.test", "554 5.7.1 <rejecttext@x.test>: Recipient address rejected: Go away"},
		{"defer@x.test", "450 4.7.1 <defer@x.test>: Recipient address rejected: Busy"},
		{"code@x.test", "450 4.2.0 <code@x.test>: Recipient address rejected: Greylisted"},
		{"code5@x.test", "550 5.7.1 <code5@x.test>: Recipient address rejected: No"},
		{"dip@x.test", "450 4.7.1 <dip@x.test>: Recipient address rejected: Greylisted, see http://x"},
		{"discard@x.test", "discard"},
		{"hold@x.test", "permit hold <hold@x.test>: Recipient address triggers HOLD action"},
		{"holdtext@x.test", "permit hold <holdtext@x.test>: Recipient address looks odd"},
		{"prepend@x.test", "permit X-Greylist: delayed 1 seconds"},
		{"badprepend@x.test", "permit"},
		{"ctlprepend@x.test", "permit X-A: b?c"}, // made printable first
		{"ctlreject@x.test", "554 5.7.1 <ctlreject@x.test>: Recipient address rejected: a?b?c"},
		{"warn@x.test", "permit"},
		{"restr@x.test", "554 5.7.1 <restr@x.test>: Relay access denied"},
		{"bogus@x.test", "451 4.3.5 Server configuration error"},
		{"empty@x.test", "451 4.3.5 <empty@x.test>: Recipient address rejected: Server configuration problem"},
		// Not carried out yet: never acted on as DUNNO (mail would go
		// where the policy did not want it), the client tries again.
		{"redirect@x.test", "451 4.3.5 <redirect@x.test>: Recipient address rejected: Server configuration problem"},
		{"filter@x.test", "451 4.3.5 <filter@x.test>: Recipient address rejected: Server configuration problem"},
		{"bcc@x.test", "451 4.3.5 <bcc@x.test>: Recipient address rejected: Server configuration problem"},
	}
	for _, tc := range tests {
		req := &Request{ClientAddr: netip.MustParseAddr("198.51.100.7"), Recipient: tc.rcpt}
		v := p.Check(context.Background(), "smtpd_recipient_restrictions", Recipient, req)
		got := v.Reply
		switch {
		case v.Kind == Permit && v.Discard:
			got = "discard"
		case v.Kind == Permit:
			got = strings.TrimSpace("permit " + strings.Join(v.Prepend, "|"))
			if v.Hold != "" {
				got += " hold " + v.Hold
			}
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.rcpt, got, tc.want)
		}
	}
}

// TestPolicyServiceFailure: a server that cannot answer gives
// smtpd_policy_service_default_action (after try_limit attempts), and
// the per-restriction block overrides it.
func TestPolicyServiceFailure(t *testing.T) {
	s := startPolicyServer(t, "tcp", "127.0.0.1:0", map[string]string{"*": ""}) // hangs up
	addr := s.ln.Addr().String()
	tests := []struct{ conf, want string }{
		{"smtpd_recipient_restrictions = check_policy_service inet:" + addr + ", permit\n",
			"451 4.3.5 <r@x.test>: Recipient address rejected: Server configuration problem"},
		{"smtpd_policy_service_default_action = DUNNO\nsmtpd_recipient_restrictions = check_policy_service inet:" + addr + ", permit\n", ""},
		{"smtpd_recipient_restrictions = check_policy_service { inet:" + addr + ", timeout=10s, default_action=DUNNO }, permit\n", ""},
		{"smtpd_recipient_restrictions = check_policy_service { inet:" + addr + ", try_limit=1, retry_delay=1s, default_action={450 4.7.1 try later} }, permit\n",
			"450 4.7.1 <r@x.test>: Recipient address rejected: try later"},
		{"smtpd_recipient_restrictions = check_policy_service { inet:" + addr + ", bogus=1 }, permit\n", "451 4.3.5 Server configuration error"},
	}
	for _, tc := range tests {
		p := newPolicy(t, "smtpd_policy_service_retry_delay = 1s\n"+tc.conf, nil)
		w := collectWarnings(p)
		s.mu.Lock()
		before := len(s.reqs)
		s.mu.Unlock()
		v := p.Check(context.Background(), "smtpd_recipient_restrictions", Recipient, &Request{ClientAddr: netip.MustParseAddr("198.51.100.7"), Recipient: "r@x.test"})
		if v.Reply != tc.want {
			t.Errorf("%s: %q, want %q", tc.conf, v.Reply, tc.want)
		}
		if len(*w) == 0 || !strings.Contains(tc.conf, "bogus") && !strings.HasPrefix((*w)[0], "problem talking to server inet:"+addr+": ") {
			t.Errorf("%s: warnings %q", tc.conf, *w)
		}
		s.mu.Lock()
		tries := len(s.reqs) - before
		s.mu.Unlock()
		if strings.Contains(tc.conf, "try_limit=1") && tries != 1 || !strings.Contains(tc.conf, "try_limit") && !strings.Contains(tc.conf, "bogus") && tries != 2 {
			t.Errorf("%s: %d attempts", tc.conf, tries)
		}
	}
}

// TestPolicyServiceUnix: unix:private/policy is under queue_directory,
// and the pool is shared by the sessions of one Policy.
func TestPolicyServiceUnix(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := startPolicyServer(t, "unix", filepath.Join(dir, "private", "policy"), map[string]string{"*": "REJECT no"})
	p := newPolicy(t, "queue_directory = "+dir+"\nsmtpd_recipient_restrictions = check_policy_service unix:private/policy\n", nil)
	defer p.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := p.Check(context.Background(), "smtpd_recipient_restrictions", Recipient, &Request{ClientAddr: netip.MustParseAddr("198.51.100.7"), Recipient: "r@x.test"})
			if v.Reply != "554 5.7.1 <r@x.test>: Recipient address rejected: no" {
				t.Errorf("reply %q", v.Reply)
			}
		}()
	}
	wg.Wait()
	if len(s.reqs) != 8 {
		t.Errorf("%d requests, want 8", len(s.reqs))
	}
	svc, err := p.service("unix:private/policy")
	if err != nil || svc.client.Idle() == 0 {
		t.Errorf("no pooled connection: %v", err)
	}
}

func TestCheckService(t *testing.T) {
	for arg, ok := range map[string]bool{
		"inet:127.0.0.1:10023": true, "unix:private/policy": true, "{ inet:127.0.0.1:1, timeout=10s, default_action=DUNNO }": true,
		"inet:127.0.0.1": false, "{ inet:127.0.0.1:1, timeout=0s }": false, "{ inet:127.0.0.1:1, foo=1 }": false, "{ inet:127.0.0.1:1": false,
		"{ inet:127.0.0.1:1, try_limit=0 }": false, "{ }": false, "hash:/etc/x": false,
	} {
		if err := CheckService(arg); (err == nil) != ok {
			t.Errorf("CheckService(%q) = %v", arg, err)
		}
	}
	_ = policyclient.Attr{}
}

// FuzzParseService: a check_policy_service argument is parsed or
// refused, never a panic; accepted settings respect their minimums.
func FuzzParseService(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:1", "{ inet:127.0.0.1:1, timeout=10s, default_action=DUNNO }",
		"inet:127.0.0.1:1, try_limit=0", "unix:private/policy, default_action={450 4.7.1 later}", "{", "{ }", "a=b, c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, set, err := parseService(s, serviceSettings{})
		if err != nil {
			return
		}
		if set.opt.TryLimit < 0 || set.opt.RequestLimit < 0 || set.opt.Timeout < 0 {
			t.Fatalf("%q: %+v", s, set)
		}
	})
}

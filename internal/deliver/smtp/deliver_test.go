package smtp

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
)

// relay is the next hop of a test server, without MX lookup.
func relay(s *testServer) string { return fmt.Sprintf("[%s]:%d", s.addr.Addr(), s.port()) }

func TestPerRecipientResults(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.rcpt = func(addr string) string {
		switch {
		case strings.Contains(addr, "unknown"):
			return "550 5.1.1 " + addr + ": Recipient address rejected: User unknown"
		case strings.Contains(addr, "grey"):
			return "450 4.7.1 " + addr + ": Recipient address rejected: greylisted"
		}
		return "250 2.1.5 Ok"
	}
	srv.start()
	a := newAgent(t, testConfig(nil, nil))
	req := request(relay(srv), "ok1@example.net", "unknown@example.net", "grey@example.net", "ok2@example.net")
	res := deliverOne(t, a, req)
	host := "127.0.0.1[127.0.0.1]"
	relayName := fmt.Sprintf("%s:%d", host, srv.port())
	want := []deliver.Result{
		{Rcpt: 0, Kind: deliver.Sent, DSN: "2.0.0", Reason: "250 2.0.0 Ok: queued as TESTID", Relay: relayName,
			Action: "relayed", Diagnostic: "smtp; 250 2.0.0 Ok: queued as TESTID", RemoteMTA: "dns; 127.0.0.1"},
		{Rcpt: 1, Kind: deliver.Bounced, DSN: "5.1.1", Relay: relayName,
			Reason:     "host " + host + " said: 550 5.1.1 <unknown@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
			Diagnostic: "smtp; 550 5.1.1 <unknown@example.net>: Recipient address rejected: User unknown", RemoteMTA: "dns; 127.0.0.1"},
		{Rcpt: 2, Kind: deliver.Deferred, DSN: "4.7.1", Relay: relayName,
			Reason:     "host " + host + " said: 450 4.7.1 <grey@example.net>: Recipient address rejected: greylisted (in reply to RCPT TO command)",
			Diagnostic: "smtp; 450 4.7.1 <grey@example.net>: Recipient address rejected: greylisted", RemoteMTA: "dns; 127.0.0.1"},
		{Rcpt: 3, Kind: deliver.Sent, DSN: "2.0.0", Reason: "250 2.0.0 Ok: queued as TESTID", Relay: relayName,
			Action: "relayed", Diagnostic: "smtp; 250 2.0.0 Ok: queued as TESTID", RemoteMTA: "dns; 127.0.0.1"},
	}
	for i := range want {
		got := res[i]
		if got.Setup <= 0 || got.Transfer < 0 {
			t.Errorf("rcpt %d: delays %v/%v", i, got.Setup, got.Transfer)
		}
		got.Setup, got.Transfer = 0, 0
		if got != want[i] {
			t.Errorf("rcpt %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.body != testBody || !m.pipelined || len(m.rcpts) != 2 {
		t.Errorf("message: %+v", m)
	}
	if m.mail != fmt.Sprintf("FROM:<sender@example.org> SIZE=%d", len(testBody)) {
		t.Errorf("MAIL %q", m.mail)
	}
	if cmds := srv.commands(); cmds[0] != "EHLO client.test" {
		t.Errorf("commands %q", cmds)
	}
}

func TestDSNParameters(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	a := newAgent(t, testConfig(nil, nil))
	req := request(relay(srv), "a@example.net", "b@example.net")
	env := req.Env
	env.EnvID, env.Ret, env.EightBit = "id+1 x", "HDRS", true
	env.Recipients[0].Notify, env.Recipients[0].ORcpt = "SUCCESS,FAILURE", "rfc822;orig@example.org"
	env.Recipients[1].Notify = "NEVER"
	for _, r := range deliverOne(t, a, req) {
		if r.Kind != deliver.Sent {
			t.Fatalf("%+v", r)
		}
	}
	m := srv.messages()[0]
	if want := fmt.Sprintf("FROM:<sender@example.org> SIZE=%d BODY=8BITMIME ENVID=id+2B1+20x RET=HDRS", len(testBody)); m.mail != want {
		t.Errorf("MAIL %q, want %q", m.mail, want)
	}
	want := []string{"TO:<a@example.net> ORCPT=rfc822;orig@example.org NOTIFY=SUCCESS,FAILURE", "TO:<b@example.net> NOTIFY=NEVER"}
	if strings.Join(m.rcpts, "|") != strings.Join(want, "|") {
		t.Errorf("RCPT %q", m.rcpts)
	}

	// Without DSN, 8BITMIME and SIZE at the server, none of it is sent.
	srv2 := newTestServer(t, "127.0.0.1")
	srv2.ext = []string{"PIPELINING"}
	srv2.start()
	req.Nexthop = relay(srv2)
	deliverOne(t, a, req)
	m = srv2.messages()[0]
	if m.mail != "FROM:<sender@example.org>" || strings.Join(m.rcpts, "|") != "TO:<a@example.net>|TO:<b@example.net>" {
		t.Errorf("without extensions: %q %q", m.mail, m.rcpts)
	}
}

// Without PIPELINING the client waits for every reply, and sends no RCPT
// after a refused MAIL.
func TestNoPipelining(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.ext = nil
	srv.start()
	a := newAgent(t, testConfig(nil, nil))
	res := deliverOne(t, a, request(relay(srv), "a@example.net"))
	if res[0].Kind != deliver.Sent || srv.messages()[0].pipelined {
		t.Errorf("%+v, pipelined %t", res[0], srv.messages()[0].pipelined)
	}

	srv2 := newTestServer(t, "127.0.0.1")
	srv2.ext = nil
	srv2.mail = func(string) string { return "553 5.7.1 <sender@example.org>: Sender address rejected" }
	srv2.start()
	res = deliverOne(t, a, request(relay(srv2), "a@example.net", "b@example.net"))
	for _, r := range res {
		if r.Kind != deliver.Bounced || !strings.HasSuffix(r.Reason, "Sender address rejected (in reply to MAIL FROM command)") {
			t.Errorf("%+v", r)
		}
	}
	for _, c := range srv2.commands() {
		if strings.HasPrefix(c, "RCPT") || c == "DATA" {
			t.Errorf("sent %q after MAIL was refused", c)
		}
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*testServer)
		kind   deliver.Kind
		dsn    string
		reason string // suffix, after "host X[Y] "
	}{
		{name: "DATA refused", setup: func(s *testServer) {
			s.data = func() string { return "554 5.7.1 message content rejected" }
		}, kind: deliver.Bounced, dsn: "5.7.1", reason: "said: 554 5.7.1 message content rejected (in reply to end of DATA command)"},
		{name: "DATA deferred", setup: func(s *testServer) {
			s.data = func() string { return "451 4.3.0 try again" }
		}, kind: deliver.Deferred, dsn: "4.3.0", reason: "said: 451 4.3.0 try again (in reply to end of DATA command)"},
		{name: "greeting 421", setup: func(s *testServer) { s.greeting = "421 4.3.2 busy" },
			kind: deliver.Deferred, dsn: "4.3.2", reason: "refused to talk to me: 421 4.3.2 busy"},
		{name: "greeting 554 is soft", setup: func(s *testServer) { s.greeting = "554 5.7.1 go away" },
			kind: deliver.Deferred, dsn: "4.7.1", reason: "refused to talk to me: 554 5.7.1 go away"},
		{name: "SIZE", setup: func(s *testServer) { s.ext = []string{"SIZE 10"} },
			kind: deliver.Bounced, dsn: "5.3.4", reason: fmt.Sprintf("message size %d exceeds size limit 10 of server 127.0.0.1[127.0.0.1]", len(testBody))},
		{name: "lost connection", setup: func(s *testServer) { s.hangup = "RCPT" },
			kind: deliver.Deferred, dsn: "4.4.2", reason: "lost connection with 127.0.0.1[127.0.0.1] while sending RCPT TO"},
		{name: "lost connection after data", setup: func(s *testServer) { s.data = func() string { return "" } },
			kind: deliver.Deferred, dsn: "4.4.2", reason: "lost connection with 127.0.0.1[127.0.0.1] while sending end of data -- message may be sent more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, "127.0.0.1")
			tt.setup(srv)
			srv.start()
			a := newAgent(t, testConfig(nil, nil))
			res := deliverOne(t, a, request(relay(srv), "a@example.net", "b@example.net"))
			for _, r := range res {
				if r.Kind != tt.kind || r.DSN != tt.dsn || !strings.HasSuffix(r.Reason, tt.reason) {
					t.Errorf("got %v %s %q, want %v %s …%q", r.Kind, r.DSN, r.Reason, tt.kind, tt.dsn, tt.reason)
				}
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	a := newAgent(t, testConfig(nil, nil))
	res := deliverOne(t, a, request(fmt.Sprintf("[127.0.0.1]:%d", port), "a@example.net"))
	want := fmt.Sprintf("connect to 127.0.0.1[127.0.0.1]:%d: Connection refused", port)
	if r := res[0]; r.Kind != deliver.Deferred || r.DSN != "4.4.1" || r.Reason != want || r.Relay != "none" ||
		r.Diagnostic != "" || r.RemoteMTA != "" || r.Transfer != 0 {
		t.Errorf("%+v", r)
	}
}

// twoServers listens on 127.0.0.2 and 127.0.0.3 with the same port, as two
// MX hosts of one domain.
func twoServers(t *testing.T) (*testServer, *testServer) {
	t.Helper()
	for range 20 {
		s1 := newTestServer(t, "127.0.0.2")
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", s1.port()))
		if err != nil {
			s1.ln.Close()
			continue
		}
		ln.Close()
		return s1, listenTestServer(t, fmt.Sprintf("127.0.0.3:%d", s1.port()))
	}
	t.Fatal("no common port on 127.0.0.2 and 127.0.0.3")
	return nil, nil
}

func mxDNS() *fakeDNS {
	return &fakeDNS{
		mx: map[string][]*net.MX{"example.net": {mx(10, "mx1.example.net"), mx(20, "mx2.example.net")}},
		addr: map[string][]netip.Addr{"mx1.example.net": addrs("127.0.0.2"), "mx2.example.net": addrs("127.0.0.3"),
			"a-only.example": addrs("127.0.0.3")},
	}
}

func TestNextMX(t *testing.T) {
	tests := []struct {
		name       string
		first      func(*testServer) // nil: not listening
		second     func(*testServer) // nil: not listening
		kind       deliver.Kind
		reason     string
		relay      string // host name part
		firstTried bool
	}{
		{name: "greeting 421", first: func(s *testServer) { s.greeting = "421 4.3.2 Service not available" },
			second: func(*testServer) {}, kind: deliver.Sent, relay: "mx2.example.net[127.0.0.3]", firstTried: true},
		{name: "greeting 554", first: func(s *testServer) { s.greeting = "554 5.3.2 no thanks" },
			second: func(*testServer) {}, kind: deliver.Sent, relay: "mx2.example.net[127.0.0.3]", firstTried: true},
		{name: "connection refused", second: func(*testServer) {}, kind: deliver.Sent, relay: "mx2.example.net[127.0.0.3]"},
		{name: "rcpt 450", first: func(s *testServer) { s.rcpt = func(string) string { return "450 4.2.0 mailbox busy" } },
			second: func(*testServer) {}, kind: deliver.Sent, relay: "mx2.example.net[127.0.0.3]", firstTried: true},
		{name: "rcpt 550 is final", first: func(s *testServer) { s.rcpt = func(string) string { return "550 5.1.1 no such user" } },
			second: func(*testServer) {}, kind: deliver.Bounced, relay: "mx1.example.net[127.0.0.2]", firstTried: true,
			reason: "host mx1.example.net[127.0.0.2] said: 550 5.1.1 no such user (in reply to RCPT TO command)"},
		{name: "both refuse", first: func(s *testServer) { s.greeting = "421 4.3.2 first busy" },
			second: func(s *testServer) { s.greeting = "421 4.3.2 second busy" }, kind: deliver.Deferred,
			relay: "mx2.example.net[127.0.0.3]", firstTried: true,
			reason: "host mx2.example.net[127.0.0.3] refused to talk to me: 421 4.3.2 second busy"},
		{name: "none listening", kind: deliver.Deferred, relay: "none",
			reason: "connect to mx2.example.net[127.0.0.3]:PORT: Connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s1, s2 := twoServers(t)
			port := s1.port()
			for _, p := range []struct {
				s     *testServer
				setup func(*testServer)
			}{{s1, tt.first}, {s2, tt.second}} {
				if p.setup == nil {
					p.s.ln.Close()
					continue
				}
				p.setup(p.s)
				p.s.start()
			}
			a := newAgent(t, testConfig(mxDNS(), nil))
			res := deliverOne(t, a, request(fmt.Sprintf("example.net:%d", port), "a@example.net"))
			r := res[0]
			relay := tt.relay
			if relay != "none" {
				relay = fmt.Sprintf("%s:%d", relay, port)
			}
			reason := strings.ReplaceAll(tt.reason, "PORT", fmt.Sprint(port))
			if r.Kind != tt.kind || r.Relay != relay || reason != "" && r.Reason != reason {
				t.Errorf("got %v %q %q, want %v %q %q", r.Kind, r.Relay, r.Reason, tt.kind, relay, reason)
			}
			if c, _ := s1.counts(); (c > 0) != tt.firstTried {
				t.Errorf("first MX connections: %d", c)
			}
		})
	}
}

func TestNoMXUsesAddress(t *testing.T) {
	_, s2 := twoServers(t)
	s2.start()
	a := newAgent(t, testConfig(mxDNS(), nil))
	res := deliverOne(t, a, request(fmt.Sprintf("a-only.example:%d", s2.port()), "a@example.net"))
	if r := res[0]; r.Kind != deliver.Sent || r.Relay != fmt.Sprintf("a-only.example[127.0.0.3]:%d", s2.port()) {
		t.Errorf("%+v", r)
	}
}

func TestDNSFailures(t *testing.T) {
	dns := &fakeDNS{
		mx:   map[string][]*net.MX{"null.example": {{Host: ".", Pref: 0}}, "loop.example": {mx(0, "me.example")}},
		addr: map[string][]netip.Addr{"me.example": addrs("127.0.0.1")},
		fail: map[string]bool{"broken.example": true},
	}
	tests := []struct {
		nexthop   string
		relayhost string
		kind      deliver.Kind
		dsn       string
		reason    string
	}{
		{nexthop: "null.example", kind: deliver.Bounced, dsn: "5.1.0", reason: "Domain null.example does not accept mail (nullMX)"},
		{nexthop: "nxdomain.example", kind: deliver.Bounced, dsn: "5.4.4",
			reason: "Host or domain name not found. Name service error for name=nxdomain.example type=A: Host not found"},
		{nexthop: "broken.example", kind: deliver.Deferred, dsn: "4.4.3",
			reason: "Host or domain name not found. Name service error for name=broken.example type=MX: Host not found, try again"},
		{nexthop: "loop.example", kind: deliver.Bounced, dsn: "5.4.6", reason: "mail for loop.example loops back to myself"},
		{nexthop: "[nxdomain.example]:587", relayhost: "[nxdomain.example]:587", kind: deliver.Deferred, dsn: "4.3.5",
			reason: "Host or domain name not found. Name service error for name=nxdomain.example type=A: Host not found"},
		{nexthop: "null.example", relayhost: "null.example", kind: deliver.Deferred, dsn: "4.3.5",
			reason: "Domain null.example does not accept mail (nullMX)"},
	}
	for _, tt := range tests {
		cfg := testConfig(dns, nil)
		cfg.OwnAddrs = addrs("127.0.0.1")
		cfg.Relayhost = tt.relayhost
		a := newAgent(t, cfg)
		res := deliverOne(t, a, request(tt.nexthop, "a@example.net", "b@example.net"))
		for _, r := range res {
			if r.Kind != tt.kind || r.DSN != tt.dsn || r.Reason != tt.reason || r.Relay != "none" {
				t.Errorf("%s: got %v %s %q %s", tt.nexthop, r.Kind, r.DSN, r.Reason, r.Relay)
			}
		}
	}
}

// A fallback relay takes the mail the next hop could not.
func TestFallbackRelay(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	cfg := testConfig(&fakeDNS{}, nil)
	cfg.FallbackRelay = []string{relay(srv)}
	a := newAgent(t, cfg)
	res := deliverOne(t, a, request("nxdomain.example", "a@example.net"))
	if r := res[0]; r.Kind != deliver.Sent {
		t.Errorf("%+v", r)
	}
}

func TestSMTPUTF8(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	a := newAgent(t, testConfig(nil, nil))
	req := request(relay(srv), "jörg@example.net", "plain@example.net")
	req.Env.SMTPUTF8 = true
	for _, r := range deliverOne(t, a, req) {
		if r.Kind != deliver.Bounced || r.DSN != "5.6.7" || !strings.HasPrefix(r.Reason, "message requires SMTPUTF8") {
			t.Errorf("%+v", r)
		}
	}
	srv2 := newTestServer(t, "127.0.0.1")
	srv2.ext = append(srv2.ext, "SMTPUTF8")
	srv2.start()
	req.Nexthop = relay(srv2)
	for _, r := range deliverOne(t, a, req) {
		if r.Kind != deliver.Sent {
			t.Errorf("%+v", r)
		}
	}
	if m := srv2.messages(); len(m) != 1 || !strings.HasSuffix(m[0].mail, " SMTPUTF8") {
		t.Errorf("%+v", m)
	}
}

package smtp

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/dnstest"
	"github.com/postern-mta/postern/internal/inetaddr"
)

// Routing through the Go resolver and a DNS server on loopback: the error
// values are the real ones, not a fake's.
func TestRoutingWithDNS(t *testing.T) {
	s1, s2 := twoServers(t)
	s1.greeting = "421 4.3.2 primary busy"
	s1.start()
	s2.start()
	port := s2.port()
	dns := dnstest.Start(t, dnstest.Zone{
		"example.test":       {dnstest.MX(10, "mx1.example.test"), dnstest.MX(20, "mx2.example.test")},
		"mx1.example.test":   {dnstest.A("127.0.0.2")},
		"mx2.example.test":   {dnstest.A("127.0.0.3")},
		"nomx.test":          {dnstest.A("127.0.0.3")},
		"null.test":          {dnstest.NullMX()},
		"down.test":          {dnstest.ServFail()},
		"half.test":          {dnstest.ServFail(dnstest.TypeMX), dnstest.A("127.0.0.3")},
		"slow.test":          {dnstest.Timeout()},
		"empty.test":         {},
		"noaddr.test":        {dnstest.MX(10, "gone.noaddr.test")},
		"mixed.test":         {dnstest.MX(10, "gone.mixed.test"), dnstest.MX(20, "mx2.example.test")},
		"relay.example.test": {dnstest.A("127.0.0.3")},
	})
	dns.QueryTimeout = 200 * time.Millisecond
	tests := []struct {
		nexthop string
		kind    deliver.Kind
		dsn     string
		reason  string
		relay   string
	}{
		{nexthop: "example.test:%d", kind: deliver.Sent, relay: "mx2.example.test[127.0.0.3]:%d"},
		{nexthop: "nomx.test:%d", kind: deliver.Sent, relay: "nomx.test[127.0.0.3]:%d"},
		{nexthop: "[relay.example.test]:%d", kind: deliver.Sent, relay: "relay.example.test[127.0.0.3]:%d"},
		{nexthop: "mixed.test:%d", kind: deliver.Sent, relay: "mx2.example.test[127.0.0.3]:%d"},
		{nexthop: "null.test:%d", kind: deliver.Bounced, dsn: "5.1.0", reason: "Domain null.test does not accept mail (nullMX)", relay: "none"},
		{nexthop: "nxdomain.test:%d", kind: deliver.Bounced, dsn: "5.4.4",
			reason: "Host or domain name not found. Name service error for name=nxdomain.test type=A: Host not found", relay: "none"},
		{nexthop: "empty.test:%d", kind: deliver.Bounced, dsn: "5.4.4",
			reason: "Host or domain name not found. Name service error for name=empty.test type=A: Host not found", relay: "none"},
		{nexthop: "noaddr.test:%d", kind: deliver.Bounced, dsn: "5.4.4",
			reason: "Host or domain name not found. Name service error for name=gone.noaddr.test type=A: Host not found", relay: "none"},
		{nexthop: "down.test:%d", kind: deliver.Deferred, dsn: "4.4.3",
			reason: "Host or domain name not found. Name service error for name=down.test type=MX: Host not found, try again", relay: "none"},
		{nexthop: "half.test:%d", kind: deliver.Deferred, dsn: "4.4.3",
			reason: "Host or domain name not found. Name service error for name=half.test type=MX: Host not found, try again", relay: "none"},
		{nexthop: "slow.test:%d", kind: deliver.Deferred, dsn: "4.4.3",
			reason: "Host or domain name not found. Name service error for name=slow.test type=MX: Host not found, try again", relay: "none"},
	}
	cfg := testConfig(dns.Resolver(), nil)
	a := newAgent(t, cfg)
	for _, tt := range tests {
		nexthop := fmt.Sprintf(tt.nexthop, port)
		relay := tt.relay
		if relay != "none" {
			relay = fmt.Sprintf(relay, port)
		}
		r := deliverOne(t, a, request(nexthop, "a@example.net"))[0]
		if r.Kind != tt.kind || tt.dsn != "" && r.DSN != tt.dsn || tt.reason != "" && r.Reason != tt.reason || r.Relay != relay {
			t.Errorf("%s: got %v %s %q %s, want %v %s %q %s", nexthop, r.Kind, r.DSN, r.Reason, r.Relay, tt.kind, tt.dsn, tt.reason, relay)
		}
	}
}

// inet_protocols decides between A and AAAA records.
func TestInetProtocols(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close()
	srv := newTestServer(t, "[::1]").start()
	dns := dnstest.Start(t, dnstest.Zone{
		"v6.test":    {dnstest.MX(10, "mx.v6.test")},
		"mx.v6.test": {dnstest.AAAA("::1")},
		"dual.test":  {dnstest.AAAA("::1"), dnstest.A("127.0.0.9")},
	})
	for _, tt := range []struct {
		nexthop string
		protos  inetaddr.Protocols
		kind    deliver.Kind
		relay   string
	}{
		{nexthop: "v6.test:%d", protos: inetaddr.Protocols{IPv4: true, IPv6: true}, kind: deliver.Sent, relay: "mx.v6.test[::1]:%d"},
		{nexthop: "v6.test:%d", protos: inetaddr.Protocols{IPv6: true}, kind: deliver.Sent, relay: "mx.v6.test[::1]:%d"},
		{nexthop: "v6.test:%d", protos: inetaddr.Protocols{IPv4: true}, kind: deliver.Bounced, relay: "none"},
		{nexthop: "[dual.test]:%d", protos: inetaddr.Protocols{IPv6: true}, kind: deliver.Sent, relay: "dual.test[::1]:%d"},
		{nexthop: "[::1]:%d", protos: inetaddr.Protocols{IPv4: true}, kind: deliver.Bounced, relay: "none"},
	} {
		cfg := testConfig(dns.Resolver(), nil)
		cfg.Protocols = tt.protos
		a := newAgent(t, cfg)
		nexthop := fmt.Sprintf(tt.nexthop, srv.port())
		relay := tt.relay
		if relay != "none" {
			relay = fmt.Sprintf(relay, srv.port())
		}
		r := deliverOne(t, a, request(nexthop, "a@example.net"))[0]
		if r.Kind != tt.kind || r.Relay != relay {
			t.Errorf("%s %+v: got %v %s %q", nexthop, tt.protos, r.Kind, r.Relay, r.Reason)
		}
	}
	cfg := testConfig(nil, nil)
	cfg.Protocols = inetaddr.Protocols{}
	a := newAgent(t, cfg)
	if r := deliverOne(t, a, request(fmt.Sprintf("[::1]:%d", srv.port()), "a@example.net"))[0]; r.Kind != deliver.Deferred ||
		r.DSN != "4.4.4" || r.Reason != "all network protocols are disabled" {
		t.Errorf("no protocols: %+v", r)
	}
}

// smtp_mx_session_limit: after two sessions that could not take the mail,
// the third MX is not tried.
func TestMXSessionLimit(t *testing.T) {
	var servers []*testServer
	for len(servers) < 3 {
		servers = servers[:0]
		first := newTestServer(t, "127.0.0.2")
		servers = append(servers, first)
		for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, first.port()))
			if err != nil {
				break
			}
			ln.Close()
			servers = append(servers, listenTestServer(t, fmt.Sprintf("%s:%d", ip, first.port())))
		}
	}
	for _, s := range servers {
		s.rcpt = func(string) string { return "450 4.2.0 busy" }
		s.start()
	}
	dns := dnstest.Start(t, dnstest.Zone{
		"example.test":     {dnstest.MX(10, "mx1.example.test"), dnstest.MX(20, "mx2.example.test"), dnstest.MX(30, "mx3.example.test")},
		"mx1.example.test": {dnstest.A("127.0.0.2")},
		"mx2.example.test": {dnstest.A("127.0.0.3")},
		"mx3.example.test": {dnstest.A("127.0.0.4")},
	})
	a := newAgent(t, testConfig(dns.Resolver(), nil))
	port := servers[0].port()
	r := deliverOne(t, a, request(fmt.Sprintf("example.test:%d", port), "a@example.net"))[0]
	want := "host mx2.example.test[127.0.0.3] said: 450 4.2.0 busy (in reply to RCPT TO command)"
	if r.Kind != deliver.Deferred || r.Reason != want || r.Relay != fmt.Sprintf("mx2.example.test[127.0.0.3]:%d", port) {
		t.Errorf("%+v", r)
	}
	var conns []int
	for _, s := range servers {
		c, _ := s.counts()
		conns = append(conns, c)
	}
	if fmt.Sprint(conns) != "[1 1 0]" {
		t.Errorf("connections per MX: %v", conns)
	}
}

func TestHELOFallback(t *testing.T) {
	tests := []struct {
		name   string
		ehlo   string // the server's reply to EHLO
		never  bool   // smtp_never_send_ehlo
		kind   deliver.Kind
		cmds   string // prefix of the commands the server saw
		reason string
	}{
		{name: "EHLO refused", ehlo: "502 5.5.2 Error: command not recognized", kind: deliver.Sent,
			cmds: "EHLO client.test|HELO client.test|MAIL FROM:<sender@example.org>|RCPT"},
		{name: "never EHLO", never: true, kind: deliver.Sent, cmds: "HELO client.test|MAIL FROM:<sender@example.org>|RCPT"},
		{name: "EHLO 421", ehlo: "421 4.7.0 go away", kind: deliver.Deferred, cmds: "EHLO client.test",
			reason: "host 127.0.0.1[127.0.0.1] refused to talk to me: 421 4.7.0 go away"},
	}
	for _, tt := range tests {
		srv := newTestServer(t, "127.0.0.1")
		srv.ehlo = tt.ehlo
		srv.start()
		cfg := testConfig(nil, nil)
		cfg.NeverSendEHLO = tt.never
		a := newAgent(t, cfg)
		r := deliverOne(t, a, request(relay(srv), "a@example.net"))[0]
		if r.Kind != tt.kind || tt.reason != "" && r.Reason != tt.reason {
			t.Errorf("%s: %+v", tt.name, r)
		}
		if cmds := strings.Join(srv.commands(), "|"); !strings.HasPrefix(cmds, tt.cmds) {
			t.Errorf("%s: commands %q", tt.name, cmds)
		}
	}
}

// Enough recipients to overflow the pipelining buffer: replies are read
// between batches, and every recipient gets its own result.
func TestManyRecipients(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.rcpt = func(addr string) string {
		if strings.HasPrefix(addr, "<bad") {
			return "550 5.1.1 unknown"
		}
		return "250 2.1.5 Ok"
	}
	srv.start()
	a := newAgent(t, testConfig(nil, nil))
	var rcpts []string
	for i := range 400 {
		prefix := "user"
		if i%7 == 0 {
			prefix = "bad"
		}
		rcpts = append(rcpts, fmt.Sprintf("%s%03d@example.net", prefix, i))
	}
	res := deliverOne(t, a, request(relay(srv), rcpts...))
	sent := 0
	for i, r := range res {
		want := deliver.Sent
		if i%7 == 0 {
			want = deliver.Bounced
		}
		if r.Kind != want || r.Rcpt != i {
			t.Fatalf("rcpt %d: %+v", i, r)
		}
		if r.Kind == deliver.Sent {
			sent++
		}
	}
	if m := srv.messages(); len(m) != 1 || len(m[0].rcpts) != sent {
		t.Errorf("server got %d messages", len(m))
	}
}

package postscreen

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

func TestParseSites(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		weight int
		match  map[string]bool
		bad    bool
	}{
		{spec: "zen.spamhaus.org*3", weight: 3, match: map[string]bool{"127.0.0.2": true, "127.0.0.255": true, "10.0.0.2": false}},
		{spec: "zen.spamhaus.org=127.0.0.[2..11]", weight: 1, match: map[string]bool{"127.0.0.2": true, "127.0.0.11": true, "127.0.0.12": false, "127.0.1.2": false}},
		{spec: "list.dnswl.org=127.0.[0..255].[1;3]*-2", weight: -2, match: map[string]bool{"127.0.9.1": true, "127.0.9.3": true, "127.0.9.2": false}},
		{spec: "b.example=127.0.0.4", weight: 1, match: map[string]bool{"127.0.0.4": true, "127.0.0.5": false}},
		{spec: "b.example*x", bad: true},
		{spec: "b.example=127.0.0", bad: true},
		{spec: "b.example=127.0.0.[9..2]", bad: true},
		{spec: "nodot", bad: true},
	} {
		s, err := ParseSites([]string{tc.spec})
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted", tc.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if s[0].Weight != tc.weight {
			t.Errorf("%s: weight %d", tc.spec, s[0].Weight)
		}
		for a, want := range tc.match {
			if got := s[0].matches(netip.MustParseAddr(a)); got != want {
				t.Errorf("%s: %s matches %v, want %v", tc.spec, a, got, want)
			}
		}
	}
	if q := query(netip.MustParseAddr("192.0.2.7"), "bl.example"); q != "7.2.0.192.bl.example." {
		t.Errorf("query %q", q)
	}
	if q := query(netip.MustParseAddr("2001:db8::1"), "bl.example"); !strings.HasPrefix(q, "1.0.0.0.") || !strings.HasSuffix(q, ".8.b.d.0.1.0.0.2.bl.example.") {
		t.Errorf("query %q", q)
	}
}

// Sites' weights add up against the threshold; a filter that the answer
// misses counts nothing.
func TestDNSBLRank(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{
		"1.0.0.127.bl1.example.test": {dnstest.A("127.0.0.2")},
		"1.0.0.127.bl2.example.test": {dnstest.A("127.0.0.5")},
		"1.0.0.127.bl3.example.test": {dnstest.A("127.0.0.20")},
	})
	sites, err := ParseSites([]string{"bl1.example.test*2", "bl2.example.test=127.0.0.[2..11]", "bl3.example.test=127.0.0.[2..11]*5", "bl4.example.test*9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		threshold int
		action    Action
		reply     string
	}{
		{3, Drop, "521 5.7.1 Service unavailable; client [127.0.0.1] blocked using bl1.example.test"},
		{4, Drop, ""},
		{3, Ignore, ""},
	} {
		cfg := testConfig()
		cfg.GreetWait, cfg.GreetBanner = 300*time.Millisecond, ""
		cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAction = sites, tc.threshold, tc.action
		cfg.DNSBLTimeout, cfg.DNSBLTTL = 10*time.Second, time.Hour
		var lb logBuf
		cache := NewCache()
		scr := &Screen{Config: cfg, Resolver: dns.Resolver()}
		c, out := screenOne(t, scr, cache, slog.New(slog.NewTextHandler(&lb, nil)))
		if tc.reply != "" {
			if l := readLine(t, bufio.NewReader(c)); l != tc.reply {
				t.Errorf("threshold %d: reply %q, want %q", tc.threshold, l, tc.reply)
			}
		}
		got := <-out
		if (got == nil) != (tc.reply != "") {
			t.Errorf("threshold %d %v: passed %v", tc.threshold, tc.action, got != nil)
		}
		listed := tc.threshold <= 3
		if strings.Contains(lb.String(), "DNSBL rank 3 for [127.0.0.1]:") != listed {
			t.Errorf("threshold %d: log %s", tc.threshold, lb.String())
		}
		// A listed client may keep its pregreet pass (as Postfix's
		// cache does), but is not allowlisted.
		r, _ := cache.Get(netip.MustParseAddr("127.0.0.1"))
		if allowed := scr.passed(r, time.Now()); allowed == listed {
			t.Errorf("threshold %d: allowlisted %v", tc.threshold, allowed)
		}
	}
}

// A score at or below the allowlist threshold passes without the wait.
func TestDNSBLAllowlist(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{"1.0.0.127.wl.example.test": {dnstest.A("127.0.10.1")}})
	sites, _ := ParseSites([]string{"wl.example.test=127.0.[0..255].1*-2"})
	cfg := testConfig()
	cfg.GreetWait = time.Hour // never reached
	cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAllowlist = sites, 1, -1
	cfg.DNSBLTimeout, cfg.DNSBLTTL = 10*time.Second, time.Hour
	var lb logBuf
	_, out := screenOne(t, &Screen{Config: cfg, Resolver: dns.Resolver()}, NewCache(), slog.New(slog.NewTextHandler(&lb, nil)))
	if got := <-out; got == nil || !strings.Contains(lb.String(), "PASS NEW") {
		t.Fatalf("allowlisted by DNSBL score: passed %v, log %s", got != nil, lb.String())
	}
}

// countBusy is a Busy that counts, and has room or none.
type countBusy struct {
	room         bool
	begins, ends atomic.Int32
}

func (b *countBusy) Begin(time.Time) bool {
	if b.room {
		b.begins.Add(1)
	}
	return b.room
}
func (b *countBusy) End() { b.ends.Add(1) }

// The DNSBL lookups, and only they, count as busy (review 19 M3): one
// slot around them; without a slot within postscreen_dnsbl_timeout
// the client is not looked up (a warning), and so not allowlisted.
func TestDNSBLBusy(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{"1.0.0.127.wl.example.test": {dnstest.A("127.0.10.1")}})
	sites, _ := ParseSites([]string{"wl.example.test=127.0.[0..255].1*-2"})
	for _, room := range []bool{true, false} {
		cfg := testConfig()
		cfg.GreetWait = 200 * time.Millisecond
		cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAllowlist = sites, 1, -1
		cfg.DNSBLTimeout, cfg.DNSBLTTL = 10*time.Second, time.Hour
		var lb logBuf
		busy := &countBusy{room: room}
		_, out := screenOneBusy(t, &Screen{Config: cfg, Resolver: dns.Resolver()}, NewCache(), slog.New(slog.NewTextHandler(&lb, nil)), busy)
		got := <-out
		if b, e := busy.begins.Load(), busy.ends.Load(); room && (b != 1 || e != 1) || !room && (b != 0 || e != 0) {
			t.Errorf("room %v: %d begins, %d ends", room, b, e)
		}
		if allow := got != nil && strings.Contains(lb.String(), "PASS NEW") && !strings.Contains(lb.String(), "PREGREET"); room && !allow {
			t.Errorf("room %v: not allowlisted by its score: log %s", room, lb.String())
		}
		if warned := strings.Contains(lb.String(), "not looked up: no busy session slot free"); warned == room {
			t.Errorf("room %v: warned %v: log %s", room, warned, lb.String())
		}
	}
}

// An allowlisted DNSBL score passes every enabled test, the deep ones
// too, until the DNSBL pass expires (Postfix's psc_whitelist_non_dnsbl):
// the client is handed over, never sent into the dummy engine.
func TestDNSBLAllowlistPassesDeepTests(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{"1.0.0.127.wl.example.test": {dnstest.A("127.0.10.1")}})
	sites, _ := ParseSites([]string{"wl.example.test=127.0.[0..255].1*-2"})
	cfg := testConfig()
	cfg.GreetWait = time.Hour // never reached
	cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAllowlist = sites, 1, -1
	cfg.DNSBLTimeout, cfg.DNSBLTTL = 10*time.Second, time.Hour
	cfg.Pipelining = DeepTest{Enable: true, Action: Enforce, TTL: 30 * 24 * time.Hour}
	cfg.BareNewline = DeepTest{Enable: true, Action: Ignore, TTL: 30 * 24 * time.Hour}
	cfg.Engine.CommandCountLimit, cfg.Engine.CommandTimeLimit, cfg.Engine.LineLimit = 20, time.Minute, 2048
	var lb logBuf
	cache := NewCache()
	c, out := screenOne(t, &Screen{Config: cfg, Resolver: dns.Resolver()}, cache, slog.New(slog.NewTextHandler(&lb, nil)))
	go func() { // the engine's 220 greeting would show the failure
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
		}
	}()
	var got any
	select {
	case got = <-out:
	case <-time.After(15 * time.Second): // a failure guard only
		t.Fatalf("the allowlisted client was not handed over (in the dummy engine); log %s", lb.String())
	}
	if got == nil || !strings.Contains(lb.String(), "PASS NEW") {
		t.Fatalf("allowlisted by DNSBL score: passed %v, log %s", got != nil, lb.String())
	}
	rec, _ := cache.Get(netip.MustParseAddr("127.0.0.1"))
	for name, at := range map[string]time.Time{"pipelining": rec.Pipelining, "bare newline": rec.BareNewline, "pregreet": rec.Pregreet, "dnsbl": rec.DNSBL} {
		if d := time.Until(at); d < 50*time.Minute || d > time.Hour {
			t.Errorf("%s pass cached until %v from now, want the DNSBL TTL (1h)", name, d)
		}
	}
}

// The DNSBL lookups run while the pregreet test waits: the 220- banner
// goes out before any DNSBL answer (Postfix runs both at once).
func TestDNSBLDuringGreetWait(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{"1.0.0.127.wl.example.test": {dnstest.A("127.0.10.1")}})
	release := make(chan struct{})
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		select { // no answer until the client saw the banner
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, dns.Addr())
	}}
	sites, _ := ParseSites([]string{"wl.example.test=127.0.[0..255].1*-2"})
	cfg := testConfig()
	cfg.GreetWait = time.Hour // never reached
	cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAllowlist = sites, 1, -1
	cfg.DNSBLTimeout, cfg.DNSBLTTL = 20*time.Second, time.Hour
	var lb logBuf
	c, out := screenOne(t, &Screen{Config: cfg, Resolver: res}, NewCache(), slog.New(slog.NewTextHandler(&lb, nil)))
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a failure guard only
	if l := readLine(t, bufio.NewReader(c)); l != "220-mx.example ESMTP" {
		t.Fatalf("banner %q", l)
	}
	close(release)
	if got := <-out; got == nil || !strings.Contains(lb.String(), "PASS NEW") {
		t.Fatalf("allowlisted by DNSBL score during the greet wait: passed %v, log %s", got != nil, lb.String())
	}
}

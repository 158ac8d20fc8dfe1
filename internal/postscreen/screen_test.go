package postscreen

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func testConfig() *Config {
	return &Config{GreetWait: 5 * time.Second, GreetBanner: "mx.example ESMTP", SMTPBanner: "mx.example ESMTP",
		GreetTTL: time.Hour, Timeout: 10 * time.Second}
}

// screenOne accepts one connection, screens it, and returns the client
// end and a channel with Check's result.
func screenOne(t *testing.T, scr *Screen, cache *Cache, log *slog.Logger) (net.Conn, chan net.Conn) {
	t.Helper()
	return screenOneBusy(t, scr, cache, log, nil)
}

// screenOneBusy is screenOne with CheckBusy.
func screenOneBusy(t *testing.T, scr *Screen, cache *Cache, log *slog.Logger, busy Busy) (net.Conn, chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- nil
			return
		}
		out <- scr.CheckBusy(c, cache, log, false, busy)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, out
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func TestPregreet(t *testing.T) {
	for _, tc := range []struct {
		action Action
		pass   bool
		reply  string // after the 220- line
	}{
		{Drop, false, "521 5.5.1 Protocol error"},
		{Enforce, false, ""}, // no 220 greeting after a pregreet: the EHLO is answered
		{Ignore, true, ""},
	} {
		t.Run(tc.action.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.GreetAction = tc.action
			var lb logBuf
			cache := NewCache()
			c, out := screenOne(t, &Screen{Config: cfg}, cache, slog.New(slog.NewTextHandler(&lb, nil)))
			c.Write([]byte("EHLO foo\r\n"))
			r := bufio.NewReader(c)
			if l := readLine(t, r); l != "220-mx.example ESMTP" {
				t.Fatalf("banner %q", l)
			}
			if tc.reply != "" {
				if l := readLine(t, r); l != tc.reply {
					t.Fatalf("reply %q, want %q", l, tc.reply)
				}
			}
			if tc.action == Enforce {
				for _, step := range [][2]string{{"", "250 CHUNKING"}, {"MAIL FROM:<a@b.example>", "250 2.1.0 Ok"},
					{"RCPT TO:<c@d.example>", "550 5.5.1 Protocol error"}, {"QUIT", "221 2.0.0 Bye"}} {
					if step[0] != "" {
						c.Write([]byte(step[0] + "\r\n"))
					}
					l := readLine(t, r)
					for strings.HasPrefix(l, "250-") {
						l = readLine(t, r)
					}
					if l != step[1] {
						t.Fatalf("after %q: %q, want %q", step[0], l, step[1])
					}
				}
			}
			got := <-out
			if (got != nil) != tc.pass {
				t.Fatalf("passed %v, want %v", got != nil, tc.pass)
			}
			if got != nil {
				got.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 64)
				n, _ := got.Read(buf)
				if string(buf[:n]) != "EHLO foo\r\n" {
					t.Errorf("smtpd would read %q, want the pregreeted EHLO", buf[:n])
				}
				got.Close()
			}
			log := lb.String()
			if !strings.Contains(log, `PREGREET 10 after 0`) || !strings.Contains(log, `: EHLO foo\\r\\n`) {
				t.Errorf("log lacks PREGREET: %s", log)
			}
			if !strings.Contains(log, "CONNECT from [127.0.0.1]:") {
				t.Errorf("log lacks CONNECT: %s", log)
			}
			if strings.Contains(log, "PASS NEW") || cached(cache, "127.0.0.1") {
				t.Errorf("a pregreeting client was allowlisted: %s", log)
			}
			if tc.action == Enforce && !strings.Contains(log, "NOQUEUE: reject: RCPT from [127.0.0.1]:") {
				t.Errorf("log lacks NOQUEUE: %s", log)
			}
		})
	}
}

func TestPassNewThenOld(t *testing.T) {
	cfg := testConfig()
	cfg.GreetWait = 300 * time.Millisecond
	var lb logBuf
	cache := NewCache()
	log := slog.New(slog.NewTextHandler(&lb, nil))
	scr := &Screen{Config: cfg}
	c, out := screenOne(t, scr, cache, log)
	r := bufio.NewReader(c)
	if l := readLine(t, r); l != "220-mx.example ESMTP" {
		t.Fatalf("banner %q", l)
	}
	if got := <-out; got == nil {
		t.Fatal("a clean client was refused")
	}
	if !strings.Contains(lb.String(), "PASS NEW [127.0.0.1]:") {
		t.Fatalf("log lacks PASS NEW: %s", lb.String())
	}
	// Cached: handed over at once, without the 220- line.
	c2, out2 := screenOne(t, scr, cache, log)
	got := <-out2
	if got == nil {
		t.Fatal("a cached client was refused")
	}
	got.Write([]byte("x\n"))
	if l := readLine(t, bufio.NewReader(c2)); l != "x" {
		t.Fatalf("cached client got %q first, want what smtpd sends", l)
	}
	if !strings.Contains(lb.String(), "PASS OLD [127.0.0.1]:") {
		t.Fatalf("log lacks PASS OLD: %s", lb.String())
	}
}

func TestAccessList(t *testing.T) {
	dir := t.TempDir()
	cidr := filepath.Join(dir, "access.cidr")
	os.WriteFile(cidr, []byte("127.0.0.1/32 reject\n"), 0o644)
	for _, tc := range []struct {
		name   string
		list   []string
		mynets bool
		action Action
		want   string // log word
		reply  string
	}{
		{"mynetworks", []string{"permit_mynetworks"}, true, Drop, "ALLOWLISTED", ""},
		{"mynetworks first", []string{"permit_mynetworks", "cidr:" + cidr}, true, Drop, "ALLOWLISTED", ""},
		{"deny drop", []string{"permit_mynetworks", "cidr:" + cidr}, false, Drop, "DENYLISTED", "521 5.3.2 Service currently unavailable"},
		{"deny enforce", []string{"cidr:" + cidr}, false, Enforce, "DENYLISTED", "220 mx.example ESMTP"},
		{"deny ignore", []string{"cidr:" + cidr}, false, Ignore, "PASS NEW", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.GreetWait = 200 * time.Millisecond
			cfg.GreetBanner = ""
			cfg.AccessList = tc.list
			cfg.BlacklistAction = tc.action
			scr := &Screen{Config: cfg, MyNetworks: func(netip.Addr) bool { return tc.mynets }}
			if err := scr.Open(); err != nil {
				t.Fatal(err)
			}
			var lb logBuf
			c, out := screenOne(t, scr, NewCache(), slog.New(slog.NewTextHandler(&lb, nil)))
			if tc.reply != "" {
				if l := readLine(t, bufio.NewReader(c)); l != tc.reply {
					t.Fatalf("reply %q, want %q", l, tc.reply)
				}
				c.Close()
			}
			got := <-out
			if (got != nil) != (tc.reply == "") {
				t.Fatalf("passed %v", got != nil)
			}
			if !strings.Contains(lb.String(), tc.want+" [127.0.0.1]:") {
				t.Fatalf("log lacks %s: %s", tc.want, lb.String())
			}
		})
	}
}

func TestOpenBadList(t *testing.T) {
	scr := &Screen{Config: &Config{AccessList: []string{"permit_sasl_authenticated"}}}
	if err := scr.Open(); err == nil {
		t.Fatal("an unknown access list entry was accepted")
	}
}

// cached reports whether addr has a record in c.
func cached(c *Cache, addr string) bool {
	_, ok := c.Get(netip.MustParseAddr(addr))
	return ok
}

func TestCacheTTL(t *testing.T) {
	c := NewCache()
	a := netip.MustParseAddr("192.0.2.1")
	t0 := time.Unix(1_000_000, 0)
	scr := &Screen{Config: &Config{GreetTTL: time.Hour, DNSBLTTL: 2 * time.Hour}}
	c.Put(a, scr.record(t0), t0, 24*time.Hour)
	withDNSBL := &Screen{Config: &Config{GreetTTL: 3 * time.Hour, DNSBLTTL: time.Hour, DNSBLSites: []Site{{}}}}
	for _, tc := range []struct {
		scr  *Screen
		at   time.Duration
		want bool
	}{{scr, 0, true}, {scr, 59 * time.Minute, true}, {scr, time.Hour, false}, {scr, 2 * time.Hour, false}} {
		r, _ := c.Get(a)
		if got := tc.scr.passed(r, t0.Add(tc.at)); got != tc.want {
			t.Errorf("at +%v: %v, want %v", tc.at, got, tc.want)
		}
	}
	// The DNSBL pass expires on its own: the shorter lifetime counts.
	b := netip.MustParseAddr("192.0.2.2")
	c.Put(b, withDNSBL.record(t0), t0, 24*time.Hour)
	if r, _ := c.Get(b); !withDNSBL.passed(r, t0.Add(59*time.Minute)) || withDNSBL.passed(r, t0.Add(time.Hour)) {
		t.Errorf("DNSBL lifetime not honoured: %+v", r)
	}
	if n := c.Prune(t0.Add(4*time.Hour), 24*time.Hour); n != 2 {
		t.Errorf("pruned an entry within its retention: %d left", n)
	}
	if n := c.Prune(t0.Add(28*time.Hour), 24*time.Hour); n != 0 {
		t.Errorf("kept an entry past its retention: %d left", n)
	}
}

func TestParseActionAndEscape(t *testing.T) {
	for in, want := range map[string]Action{"ignore": Ignore, "Enforce": Enforce, " drop ": Drop} {
		if got, err := ParseAction(in); err != nil || got != want {
			t.Errorf("ParseAction(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseAction("reject"); err == nil {
		t.Error("reject accepted")
	}
	if got := escape([]byte("EHLO a\r\n\x01\\"), 100); got != `EHLO a\r\n\001\\` {
		t.Errorf("escape: %q", got)
	}
	if got := escape([]byte("abcdef"), 3); got != "abc" {
		t.Errorf("escape limit: %q", got)
	}
}

// Under stress the stress configuration's greet wait applies.
func TestStressConfig(t *testing.T) {
	cfg, stress := testConfig(), testConfig()
	cfg.GreetWait, stress.GreetWait = time.Hour, 200*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- nil
			return
		}
		out <- (&Screen{Config: cfg, StressConfig: stress}).Check(c, NewCache(), slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case got := <-out:
		if got == nil {
			t.Fatal("refused")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stress greet wait did not apply")
	}
}

package postscreen

import (
	"bufio"
	"context"
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

// msgs collects log messages as written (no handler quoting).
type msgs struct {
	mu   sync.Mutex
	list []string
}

func (m *msgs) Enabled(context.Context, slog.Level) bool { return true }
func (m *msgs) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, r.Message)
	return nil
}
func (m *msgs) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *msgs) WithGroup(string) slog.Handler      { return m }

// has reports whether a message contains every part, in order.
func (m *msgs) has(parts ...string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.list {
		rest, ok := l, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

func (m *msgs) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.list, "\n")
}

// fakeClock is the Screen's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

var lo = netip.MustParseAddr("127.0.0.1")

// deepScreen is a screen with the deep tests enabled (actions as given),
// a fake clock, and a cache in which 127.0.0.1 passed the pregreet
// test: the engine greets at once, without the greet wait.
func deepScreen(pipel, nsmtp, barlf Action) (*Screen, *Cache, *fakeClock) {
	cfg := testConfig()
	cfg.Pipelining = DeepTest{Enable: true, Action: pipel, TTL: 30 * 24 * time.Hour}
	cfg.NonSMTP = DeepTest{Enable: true, Action: nsmtp, TTL: 30 * 24 * time.Hour}
	cfg.BareNewline = DeepTest{Enable: true, Action: barlf, TTL: 30 * 24 * time.Hour}
	cfg.Engine = Engine{MyHostname: "mx.example", CommandTimeLimit: 20 * time.Second, SMTPUTF8: true,
		Forbidden: map[string]bool{"CONNECT": true, "GET": true, "POST": true}, ForbidNonLetter: true}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	cache := NewCache()
	cache.Put(lo, Record{Pregreet: clock.now().Add(time.Hour)}, clock.now(), time.Hour)
	return &Screen{Config: cfg, Now: clock.now}, cache, clock
}

// smtpClient is the client end of a screened connection.
type smtpClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (sc *smtpClient) send(s string) {
	sc.t.Helper()
	if _, err := sc.c.Write([]byte(s)); err != nil {
		sc.t.Fatal(err)
	}
}

// reply reads one reply (all its lines) and returns its last line.
func (sc *smtpClient) reply() string {
	sc.t.Helper()
	for {
		l := readLine(sc.t, sc.r)
		if len(l) < 4 || l[3] != '-' {
			return l
		}
	}
}

func (sc *smtpClient) expect(want string) {
	sc.t.Helper()
	if got := sc.reply(); !strings.HasPrefix(got, want) {
		sc.t.Fatalf("got %q, want %q", got, want)
	}
}

// cmd sends one command and checks its reply.
func (sc *smtpClient) cmd(line, want string) {
	sc.t.Helper()
	sc.send(line + "\r\n")
	sc.expect(want)
}

// closed checks that the server closed the connection.
func (sc *smtpClient) closed() {
	sc.t.Helper()
	if l, err := sc.r.ReadString('\n'); err == nil {
		sc.t.Fatalf("connection open: got %q", l)
	}
}

func dial(t *testing.T, scr *Screen, cache *Cache, log *msgs) (*smtpClient, chan net.Conn) {
	c, out := screenOne(t, scr, cache, slog.New(log))
	return &smtpClient{t: t, c: c, r: bufio.NewReader(c)}, out
}

func TestDeepTests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		test  tests
		first string // sent after the 220 greeting
		log   []string
		drop  string // the drop action's reply
		next  string // enforce and ignore: the reply to first
	}{
		{"pipelining", tPipelining, "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n",
			[]string{"COMMAND PIPELINING from [127.0.0.1]:", " after EHLO: MAIL FROM:<a@client.example>\\r\\n"},
			"521 5.5.1 Protocol error", "250 CHUNKING"},
		{"non-smtp", tNonSMTP, "GET / HTTP/1.0\r\n",
			[]string{"NON-SMTP COMMAND from [127.0.0.1]:", " after CONNECT: GET / HTTP/1.0"},
			"521 5.7.0 Error: I can break rules, too. Goodbye.", "502 5.5.2 Error: command not recognized"},
		{"bare newline", tBareNewline, "EHLO client.example\n",
			[]string{"BARE NEWLINE from [127.0.0.1]:", " after EHLO client.example"},
			"521 5.5.1 Protocol error", "250 CHUNKING"},
	} {
		for _, action := range []Action{Ignore, Enforce, Drop} {
			t.Run(tc.name+"/"+action.String(), func(t *testing.T) {
				acts := map[tests]Action{tPipelining: Ignore, tNonSMTP: Ignore, tBareNewline: Ignore}
				acts[tc.test] = action
				scr, cache, clock := deepScreen(acts[tPipelining], acts[tNonSMTP], acts[tBareNewline])
				var log msgs
				c, out := dial(t, scr, cache, &log)
				c.expect("220 mx.example ESMTP")
				c.send(tc.first)
				if action == Drop {
					c.expect(tc.drop)
					c.closed()
				} else {
					c.expect(tc.next)
					if tc.test == tPipelining {
						c.expect("250 2.1.0 Ok") // the pipelined MAIL
					} else {
						c.cmd("EHLO client.example", "250 ")
						c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok")
					}
					want := map[Action]string{Ignore: replyDefer, Enforce: "550 5.5.1 Protocol error"}[action]
					c.cmd("RCPT TO:<u@mx.example>", want)
					c.cmd("QUIT", "221 2.0.0 Bye")
					c.closed()
					if !log.has("NOQUEUE: reject: RCPT from [127.0.0.1]:", ": "+want+"; from=<a@client.example>, to=<u@mx.example>, proto=ESMTP, helo=<client.example>") {
						t.Errorf("no NOQUEUE line: %s", log.String())
					}
				}
				if got := <-out; got != nil {
					t.Fatal("handed to smtpd from the dummy engine")
				}
				if !log.has(tc.log...) {
					t.Errorf("log lacks %q: %s", tc.log, log.String())
				}
				r, _ := cache.Get(lo)
				at := *stamp(&r, tc.test)
				switch action {
				case Ignore:
					// Passed until the shortest test lifetime ends.
					if want := clock.now().Add(scr.minTTL()); !at.Equal(want) {
						t.Errorf("ignored failure: expiry %v, want %v", at, want)
					}
					if !log.has("PASS NEW [127.0.0.1]:") {
						t.Errorf("no PASS NEW: %s", log.String())
					}
				default:
					if !at.IsZero() || log.has("PASS NEW") {
						t.Errorf("a failed client was allowlisted: %+v\n%s", r, log.String())
					}
				}
				if !log.has("DISCONNECT [127.0.0.1]:") {
					t.Errorf("no DISCONNECT: %s", log.String())
				}
			})
		}
	}
}

// A clean client with every test to run: the pregreet wait, then the
// dummy engine, 450 at RCPT, PASS NEW; next time PASS OLD straight to
// smtpd; when a deep test expires, only that test runs again.
func TestDeepPassThenOld(t *testing.T) {
	scr, _, clock := deepScreen(Enforce, Drop, Ignore)
	scr.Config.GreetWait = 200 * time.Millisecond
	cache := NewCache()
	var log msgs
	c, out := dial(t, scr, cache, &log)
	if l := readLine(t, c.r); l != "220-mx.example ESMTP" {
		t.Fatalf("banner %q", l)
	}
	c.expect("220 mx.example ESMTP")
	c.cmd("EHLO client.example", "250 CHUNKING")
	c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<u@mx.example>", "450 4.3.2 Service currently unavailable")
	c.cmd("QUIT", "221 2.0.0 Bye")
	if got := <-out; got != nil {
		t.Fatal("handed to smtpd in the testing session")
	}
	if !log.has("PASS NEW [127.0.0.1]:") || !log.has("NOQUEUE: reject: RCPT from [127.0.0.1]:", ": 450 4.3.2 Service currently unavailable;") {
		t.Fatalf("log: %s", log.String())
	}
	r, _ := cache.Get(lo)
	now := clock.now()
	if !r.Pregreet.Equal(now.Add(time.Hour)) || !r.Pipelining.Equal(now.Add(30*24*time.Hour)) ||
		!r.NonSMTP.Equal(r.Pipelining) || !r.BareNewline.Equal(r.Pipelining) {
		t.Fatalf("record %+v", r)
	}

	// Back later: PASS OLD, handed to smtpd.
	clock.add(30 * time.Minute)
	c2, out2 := dial(t, scr, cache, &log)
	got := <-out2
	if got == nil || !log.has("PASS OLD [127.0.0.1]:") {
		t.Fatalf("returning client: handed over %v; log %s", got != nil, log.String())
	}
	got.Write([]byte("220 smtpd\r\n"))
	c2.expect("220 smtpd")
	got.Close()

	// The deep tests expire on their own: only they run again (no
	// greet wait), and the client is "old".
	cache.Put(lo, Record{Pregreet: now.Add(24 * time.Hour), Pipelining: now.Add(time.Hour),
		NonSMTP: now.Add(30 * 24 * time.Hour), BareNewline: now.Add(30 * 24 * time.Hour)}, now, time.Hour)
	clock.add(2 * time.Hour)
	var log3 msgs
	c3, out3 := dial(t, scr, cache, &log3)
	c3.expect("220 mx.example ESMTP")
	c3.cmd("HELO client.example", "250 mx.example")
	c3.cmd("MAIL FROM:<>", "250 2.1.0 Ok")
	c3.cmd("RCPT TO:<u@mx.example>", replyDefer)
	c3.c.Close()
	if got := <-out3; got != nil {
		t.Fatal("handed to smtpd")
	}
	if !log3.has("HANGUP after ", " from [127.0.0.1]:", " in tests after SMTP handshake") || !log3.has("PASS OLD [127.0.0.1]:") ||
		log3.has("PASS NEW") {
		t.Fatalf("log: %s", log3.String())
	}
	if r, _ := cache.Get(lo); !r.Pipelining.Equal(clock.now().Add(30 * 24 * time.Hour)) {
		t.Errorf("pipelining pass not renewed: %+v", r)
	}
}

// A client that hangs up before RCPT has not passed the deep tests.
func TestDeepHangupBeforeRCPT(t *testing.T) {
	scr, cache, _ := deepScreen(Enforce, Drop, Ignore)
	var log msgs
	c, out := dial(t, scr, cache, &log)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.c.Close()
	<-out
	if r, _ := cache.Get(lo); !r.Pipelining.IsZero() || log.has("PASS") {
		t.Fatalf("passed without reaching RCPT: %+v\n%s", r, log.String())
	}
}

func TestEngineLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(*Engine)
		send  []string // each answered with a reply but the last
		reply string
		log   string
	}{
		{"count", func(e *Engine) { e.CommandCountLimit = 3 }, []string{"NOOP", "NOOP", "NOOP", "NOOP"},
			"421 mx.example Service unavailable - try again later", "COMMAND COUNT LIMIT from [127.0.0.1]:%d after NOOP"},
		{"quit at the count", func(e *Engine) { e.CommandCountLimit = 1 }, []string{"NOOP", "QUIT"}, "221 2.0.0 Bye", "DISCONNECT"},
		// Only the expiring timer: a half command, the first one.
		{"time", func(e *Engine) { e.CommandTimeLimit = 300 * time.Millisecond }, []string{"NOO"},
			"421 4.4.2 mx.example Error: timeout exceeded", "COMMAND TIME LIMIT from [127.0.0.1]:%d after CONNECT"},
		{"length", func(e *Engine) { e.LineLimit = 20 }, []string{"NOOP", strings.Repeat("x", 30)},
			"421 mx.example Service unavailable - try again later", "COMMAND LENGTH LIMIT from [127.0.0.1]:%d after NOOP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scr, cache, _ := deepScreen(Ignore, Ignore, Ignore)
			tc.set(&scr.Config.Engine)
			var log msgs
			c, out := dial(t, scr, cache, &log)
			c.expect("220 ")
			for i, l := range tc.send {
				if i < len(tc.send)-1 {
					c.cmd(l, "250 2.0.0 Ok")
				} else if tc.name == "time" {
					c.send(l) // never finished
				} else {
					c.send(l + "\r\n")
				}
			}
			c.expect(tc.reply)
			c.closed()
			<-out
			want := strings.ReplaceAll(tc.log, "%d", "")
			parts := strings.SplitN(want, ":", 2)
			if !log.has(parts...) {
				t.Fatalf("log lacks %q: %s", tc.log, log.String())
			}
		})
	}
}

// The engine's replies as Postfix's postscreen gives them.
func TestEngineCommands(t *testing.T) {
	scr, cache, _ := deepScreen(Ignore, Ignore, Ignore)
	scr.Config.Engine.HeloRequired = true
	scr.Config.Engine.DisableVRFY = true
	scr.Config.Engine.DiscardEHLO = map[string]bool{"DSN": true, "CHUNKING": true}
	scr.Config.Engine.MessageSize = 1000
	filter := filepath.Join(t.TempDir(), "filter.pcre")
	if err := os.WriteFile(filter, []byte("/^rcpt to:<old@x>$/ RCPT TO:<new@x>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scr.Config.Engine.CommandFilter = "pcre:" + filter
	if err := scr.Open(); err != nil {
		t.Fatal(err)
	}
	var log msgs
	c, out := dial(t, scr, cache, &log)
	c.expect("220 mx.example ESMTP")
	for _, step := range [][2]string{
		{"MAIL FROM:<a@b>", "503 5.5.1 Error: send HELO/EHLO first"},
		{"ETRN x", "503 5.5.1 Error: send HELO/EHLO first"},
		{"HELO", "501 Syntax: HELO hostname"},
		{"RCPT TO:<u@x>", "503 5.5.1 Error: need MAIL command"},
		{"STARTTLS", "502 5.5.1 Error: command not implemented"},
		{"AUTH PLAIN", "502 5.5.2 Error: command not recognized"},
		{"VRFY u", "502 5.5.1 VRFY command is disabled"},
	} {
		c.cmd(step[0], step[1])
	}
	c.send("EHLO client.example\r\n")
	var ehlo []string
	for {
		l := readLine(t, c.r)
		ehlo = append(ehlo, l)
		if l[3] == ' ' {
			break
		}
	}
	if got := strings.Join(ehlo, "|"); got != "250-mx.example|250-SIZE 1000|250-ETRN|250-ENHANCEDSTATUSCODES|250-8BITMIME|250 SMTPUTF8" {
		t.Errorf("EHLO reply %s", got)
	}
	for _, step := range [][2]string{
		{"ETRN", "500 Syntax: ETRN domain"},
		{"ETRN example.com", "458 Unable to queue messages"},
		{"MAIL FROM:<\"a b\"@c>", "250 2.1.0 Ok"},
		{"MAIL FROM:<x@c>", "503 5.5.1 Error: nested MAIL command"},
		{"RCPT <u@x>", "501 5.5.4 Syntax: RCPT TO:<address>"},
		{"rcpt to:<old@x>", replyDefer},
		{"RSET", "250 2.0.0 Ok"},
		{"MAIL FROM:<a@c>", "250 2.1.0 Ok"},
		{"DATA", "554 5.5.1 Error: no valid recipients"},
	} {
		c.cmd(step[0], step[1])
	}
	c.closed()
	<-out
	if !log.has(`: replacing command "rcpt to:<old@x>" with "RCPT TO:<new@x>"`) ||
		!log.has("NOQUEUE: reject: RCPT from [127.0.0.1]:", `from=<a b@c>, to=<new@x>, proto=ESMTP, helo=<client.example>`) ||
		!log.has("DATA without valid RCPT from [127.0.0.1]:") {
		t.Fatalf("log: %s", log.String())
	}
}

func TestCacheTTLDeep(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	scr := &Screen{Config: &Config{GreetTTL: time.Hour, Pipelining: DeepTest{Enable: true, TTL: 2 * time.Hour},
		BareNewline: DeepTest{Enable: false, TTL: time.Minute}}}
	r := scr.record(t0)
	if !r.BareNewline.IsZero() || !r.Pipelining.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("record %+v", r)
	}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{59 * time.Minute, true}, {time.Hour, false}} {
		if got := scr.passed(r, t0.Add(tc.at)); got != tc.want {
			t.Errorf("+%v: %v", tc.at, got)
		}
	}
	// A record without the pipelining pass makes the client run it.
	if todo, fresh := scr.todo(Record{Pregreet: t0.Add(time.Hour)}, t0); todo != tPipelining || !fresh {
		t.Errorf("todo %b fresh %v", todo, fresh)
	}
	if todo, fresh := scr.todo(Record{Pregreet: t0.Add(time.Hour), Pipelining: t0}, t0); todo != tPipelining || fresh {
		t.Errorf("expired: todo %b fresh %v", todo, fresh)
	}
}

// The cache lookup of a returning client costs no allocation.
func BenchmarkPassOldLookup(b *testing.B) {
	scr, cache, clock := deepScreen(Enforce, Drop, Ignore)
	now := clock.now()
	cache.Put(lo, scr.record(now), now, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		r, _ := cache.Get(lo)
		if !scr.passed(r, now) {
			b.Fatal("not passed")
		}
	}
}

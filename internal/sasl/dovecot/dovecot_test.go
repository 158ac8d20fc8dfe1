package dovecot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// run drives one exchange: answers are the client's responses to
// successive challenges.
func run(ctx context.Context, a sasl.Authenticator, mech string, initial []byte, answers ...string) (sasl.Step, []string, error) {
	ex, err := a.Start(ctx, mech, sasl.Client{}, initial)
	if err != nil {
		return sasl.Step{}, nil, err
	}
	var challenges []string
	st, err := ex.Next(ctx, nil)
	for err == nil && !st.Done {
		challenges = append(challenges, string(st.Challenge))
		if len(answers) == 0 {
			return st, challenges, fmt.Errorf("unexpected challenge %q", st.Challenge)
		}
		st, err = ex.Next(ctx, []byte(answers[0]))
		answers = answers[1:]
	}
	return st, challenges, err
}

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

func plain(user, pass string) []byte { return []byte("\x00" + user + "\x00" + pass) }

func TestMechanismsHandshake(t *testing.T) {
	// The handshake arrives one byte at a time, with lines the client
	// does not know, a private mechanism and a CR before an LF.
	hs := "VERSION\t1\t3\nXYZZY\tfoo\tbar\nMECH\tPLAIN\tplaintext\nMECH\tlogin\tplaintext\r\n" +
		"MECH\tSCRAM-SHA-256\tmutual-auth\tforward-secrecy\tnew-flag\nMECH\tANONYMOUS\tanonymous\n" +
		"MECH\tOAUTHBEARER\tprivate\nMECH\tCRAM-MD5\tdictionary\tactive\nSPID\t1\nCUID\t2\nCOOKIE\tc\nDONE\n"
	f := newFake(t, func(fc *fconn) {
		for i := range len(hs) {
			fc.send(hs[i : i+1])
			if i == 10 { // the client's VERSION and CPID, before DONE
				fc.readLine()
				fc.readLine()
			}
		}
		for {
			if _, ok := fc.readLine(); !ok {
				return
			}
		}
	})
	c := f.client()
	defer c.Close()
	got, err := c.Mechanisms(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := []sasl.Mechanism{
		{Name: "PLAIN", Plaintext: true}, {Name: "LOGIN", Plaintext: true},
		{Name: "SCRAM-SHA-256", MutualAuth: true, ForwardSecrecy: true}, {Name: "ANONYMOUS", Anonymous: true},
		{Name: "CRAM-MD5", Dictionary: true, Active: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("mechanisms\n got %+v\nwant %+v", got, want)
	}
	rec := f.received()
	if len(rec) != 2 || rec[0] != "VERSION\t1\t2" || !strings.HasPrefix(rec[1], "CPID\t") {
		t.Errorf("client handshake %q", rec)
	}
}

func TestHandshakeErrors(t *testing.T) {
	for _, tc := range []struct{ name, hs, want string }{
		{"major version 2", "VERSION\t2\t0\nMECH\tPLAIN\nDONE\n", "unsupported protocol version"},
		{"auth-master socket", "VERSION\t1\t2\nSPID\t9\n", "not Dovecot's auth client socket"},
		{"closed", "VERSION\t1\t2\nMECH\tPLAIN\n", "connection closed by Dovecot"},
		{"no VERSION", "MECH\tPLAIN\nDONE\n", "without VERSION"},
		{"line too long", "VERSION\t1\t2\nMECH\t" + strings.Repeat("A", maxLine+10) + "\n", "line too long"},
		{"too many mechanisms", "VERSION\t1\t2\n" + strings.Repeat("MECH\tPLAIN\tplaintext\n", maxMechs+1) + "DONE\n",
			"more than 64 mechanisms"},
		{"handshake too large", "VERSION\t1\t2\nMECH\tPLAIN\n" + strings.Repeat("CUID\t"+strings.Repeat("7", 1000)+"\n", 70) + "DONE\n",
			"handshake larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(fc *fconn) {
				fc.send(tc.hs)
				fc.readLine()
				fc.readLine()
			})
			c := f.client()
			defer c.Close()
			_, err := c.Mechanisms(ctxT(t, 10*time.Second))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), f.path) {
				t.Errorf("got %v, want an error naming the socket and %q", err, tc.want)
			}
		})
	}
}

// A server that floods the handshake with MECH lines (a hostile one
// behind inet:, or a man in the middle) gets a handshake error at once,
// not a client that buffers them until the timeout.
func TestHandshakeMechFlood(t *testing.T) {
	f := newFake(t, func(fc *fconn) {
		if _, err := fc.nc.Write([]byte("VERSION\t1\t2\n")); err != nil {
			return
		}
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(fc.nc, "MECH\tX%d\tplaintext\n", i); err != nil {
				return // the client hung up
			}
		}
	})
	c := f.client()
	defer c.Close()
	_, err := c.Mechanisms(ctxT(t, 30*time.Second))
	if err == nil || isTimeout(err) || !strings.Contains(err.Error(), "more than 64 mechanisms") {
		t.Fatalf("got %v, want a handshake error for too many mechanisms", err)
	}
}

func TestExchanges(t *testing.T) {
	f := newFake(t, authServer)
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	for _, tc := range []struct {
		name       string
		mech       string
		initial    []byte
		answers    []string
		user       string
		challenges []string
	}{
		{"PLAIN right", "PLAIN", plain("alice@v.test", "secret"), nil, "alice@v.test", nil},
		{"PLAIN wrong", "PLAIN", plain("alice@v.test", "nope"), nil, "", nil},
		{"PLAIN unknown user", "PLAIN", plain("carol@v.test", "secret"), nil, "", nil},
		{"PLAIN lower case", "plain", plain("bob@v.test", "hunter2"), nil, "bob@v.test", nil},
		{"LOGIN right", "LOGIN", nil, []string{"bob@v.test", "hunter2"}, "bob@v.test", []string{"Username:", "Password:"}},
		{"LOGIN wrong", "LOGIN", nil, []string{"bob@v.test", "x"}, "", []string{"Username:", "Password:"}},
	} {
		st, ch, err := run(ctx, c, tc.mech, tc.initial, tc.answers...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !st.Done || st.User != tc.user || !slices.Equal(ch, tc.challenges) {
			t.Errorf("%s: step %+v challenges %q", tc.name, st, ch)
		}
	}
	if n := f.connCount(); n != 1 {
		t.Errorf("%d connections for sequential exchanges, want 1", n)
	}
}

// scripted answers every AUTH (and CONT) with the next reply, "%d"
// standing for the request id.
func scripted(replies ...string) func(fc *fconn) {
	return func(fc *fconn) {
		if !fc.handshake(stdHandshake) {
			return
		}
		for _, r := range replies {
			s, ok := fc.readLine()
			if !ok {
				return
			}
			id := strings.Split(s, "\t")[1]
			if r != "" {
				fc.send(strings.ReplaceAll(r, "%d", id))
			}
		}
		fc.readLine() // hold the connection until the client closes it
	}
}

func TestReplies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies []string
		step    sasl.Step
		errText string
	}{
		{"FAIL with reason", []string{"FAIL\t%d\tuser=a\treason=Password\x01texpired\n"}, sasl.Step{Done: true, Reason: "Password?expired"}, ""},
		{"FAIL authz", []string{"FAIL\t%d\tauthz\n"}, sasl.Step{Done: true, Reason: "authorization failed"}, ""},
		{"FAIL temp", []string{"FAIL\t%d\ttemp\treason=passdb down\n"}, sasl.Step{}, "temporary failure: passdb down"},
		{"OK needs user", []string{"OK\t%d\n"}, sasl.Step{}, "OK without user="},
		{"OK user unescaped and printable", []string{"OK\t%d\tuser=a\x01nb\n"}, sasl.Step{Done: true, User: "a?b"}, ""},
		{"unknown lines and other ids ignored", []string{"NOTICE\tx\nOK\t999\tuser=x\nCONT\tx\tAAAA\nOK\t%d\tuser=me\textra\tk=v\n"}, sasl.Step{Done: true, User: "me"}, ""},
		{"CONT bad base64", []string{"CONT\t%d\t!!!\n"}, sasl.Step{}, "bad base64"},
		{"closed mid-exchange", []string{"CONT\t%d\tAAAA\n", "CLOSE"}, sasl.Step{}, "connection closed by Dovecot"},
		{"closed mid-line", []string{"OK\t%d\tuse"}, sasl.Step{}, "connection closed in the middle of a line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(fc *fconn) {
				if !fc.handshake(stdHandshake) {
					return
				}
				for _, r := range tc.replies {
					s, ok := fc.readLine()
					if !ok {
						return
					}
					if r == "CLOSE" {
						return
					}
					fc.send(strings.ReplaceAll(r, "%d", strings.Split(s, "\t")[1]))
					if !strings.HasSuffix(r, "\n") {
						return
					}
				}
				fc.readLine()
			})
			c := f.client()
			defer c.Close()
			ctx := ctxT(t, 10*time.Second)
			st, _, err := run(ctx, c, "LOGIN", nil, "", "")
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("got %+v, %v; want error %q", st, err, tc.errText)
				}
				return
			}
			if err != nil || st.Done != tc.step.Done || st.User != tc.step.User || st.Reason != tc.step.Reason {
				t.Fatalf("got %+v, %v; want %+v", st, err, tc.step)
			}
		})
	}
}

// Additional data with success (SCRAM's server-final message) is a
// last challenge, then the outcome.
func TestOKWithData(t *testing.T) {
	f := newFake(t, scripted("OK\t%d\tuser=alice\tresp="+base64.StdEncoding.EncodeToString([]byte("v=final"))+"\n"))
	c := f.client()
	defer c.Close()
	st, ch, err := run(ctxT(t, 10*time.Second), c, "PLAIN", plain("alice", "x"), "")
	if err != nil || !st.Done || st.User != "alice" || !slices.Equal(ch, []string{"v=final"}) {
		t.Fatalf("got %+v %q %v", st, ch, err)
	}
}

func TestUnknownMechanismNotSent(t *testing.T) {
	f := newFake(t, authServer)
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	for _, mech := range []string{"XOAUTH9", "PLAIN\tuser=x", ""} {
		st, _, err := run(ctx, c, mech, nil)
		if err != nil || !st.Done || st.User != "" || st.Reason != "Invalid authentication mechanism" {
			t.Errorf("%q: %+v %v", mech, st, err)
		}
	}
	for _, l := range f.received() {
		if strings.HasPrefix(l, "AUTH") {
			t.Errorf("sent %q", l)
		}
	}
}

// A user name, a password or a service with TAB, LF, CR, NUL or \001
// cannot add a field or a command: they are base64-encoded or escaped.
func TestNoInjection(t *testing.T) {
	f := newFake(t, authServer)
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	evil := "smtp\tuser=admin\nAUTH\t99\tPLAIN\tservice=smtp\tresp=AGFsaWNlQHYudGVzdABzZWNyZXQ=\r\x00\x01"
	c.Service = ""
	ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Service: evil, Secured: true,
		LocalAddr:  netip.MustParseAddrPort("[::ffff:192.0.2.1]:25"),
		RemoteAddr: netip.MustParseAddrPort("[2001:db8::1]:4567")},
		plain("alice@v.test\tuser=admin\n", "x\nOK\t1\tuser=root\n"))
	st, err := ex.Next(ctx, nil)
	if err != nil || !st.Done || st.User != "" {
		t.Fatalf("got %+v %v", st, err)
	}
	var auth []string
	for _, l := range f.received() {
		if strings.HasPrefix(l, "AUTH") {
			auth = append(auth, l)
		}
	}
	if len(auth) != 1 {
		t.Fatalf("AUTH lines %q, want 1", auth)
	}
	fields := strings.Split(auth[0], "\t")
	want := []string{"AUTH", "1", "PLAIN", "service=" + escape(evil), "nologin", "lip=192.0.2.1", "lport=25",
		"rip=2001:db8::1", "rport=4567", "secured",
		"resp=" + base64.StdEncoding.EncodeToString(plain("alice@v.test\tuser=admin\n", "x\nOK\t1\tuser=root\n"))}
	if !slices.Equal(fields, want) {
		t.Errorf("AUTH fields\n got %q\nwant %q", fields, want)
	}
	if unescape(strings.TrimPrefix(fields[3], "service=")) != evil {
		t.Errorf("service does not unescape to what was given")
	}
}

func TestEmptyInitialResponse(t *testing.T) {
	f := newFake(t, scripted("FAIL\t%d\n"))
	c := f.client()
	defer c.Close()
	run(ctxT(t, 10*time.Second), c, "PLAIN", []byte{})
	rec := f.received()
	if l := rec[len(rec)-1]; !strings.HasSuffix(l, "\tresp=") {
		t.Errorf("AUTH with an empty initial response: %q", l)
	}
}

// A server that never answers costs the exchange its deadline, not a
// hang; the connection is then dropped, and the next exchange works on
// a new one.
func TestSlowServer(t *testing.T) {
	var mu sync.Mutex
	n := 0
	f := newFake(t, func(fc *fconn) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			fc.handshake(stdHandshake)
			for { // reads, never answers
				if _, ok := fc.readLine(); !ok {
					return
				}
			}
		}
		authServer(fc)
	})
	c := f.client()
	c.ReplyTimeout = 200 * time.Millisecond // silence that means hung
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret"))
	if !isTimeout(err) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	st, _, err := run(ctxT(t, 10*time.Second), c, "PLAIN", plain("alice@v.test", "secret"))
	if err != nil || st.User != "alice@v.test" {
		t.Fatalf("after a hung connection: %+v %v", st, err)
	}
}

// A server that accepts but never sends its handshake.
func TestSlowHandshake(t *testing.T) {
	f := newFake(t, func(fc *fconn) { fc.readLine(); fc.readLine(); fc.readLine() })
	c := f.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Mechanisms(ctx); !isTimeout(err) {
		t.Fatalf("got %v", err)
	}
	// Without a ctx deadline, Timeout applies.
	c.Timeout = 200 * time.Millisecond
	ex, _ := c.Start(context.Background(), "PLAIN", sasl.Client{}, plain("a", "b"))
	if _, err := ex.Next(context.Background(), nil); !isTimeout(err) {
		t.Fatal("no error without a handshake")
	}
}

// The connection died while idle, and the client learns it only when
// it sends (a restarted Dovecot behind TCP answers the next write with
// a reset): the request is retried once on a new connection instead of
// failing.
func TestReconnectAfterIdleBreak(t *testing.T) {
	var mu sync.Mutex
	n := 0
	f := newFake(t, func(fc *fconn) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first { // one exchange; the next request meets a dead end
			fc.handshake(stdHandshake)
			s, _ := fc.readLine()
			fc.send("OK\t" + strings.Split(s, "\t")[1] + "\tuser=alice@v.test\n")
			fc.readLine()
			return
		}
		authServer(fc)
	})
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	for i := range 3 {
		st, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret"))
		if err != nil || st.User != "alice@v.test" {
			t.Fatalf("exchange %d: %+v %v", i, st, err)
		}
	}
	if f.connCount() != 2 {
		t.Errorf("%d connections, want 2", f.connCount())
	}
}

// Exchanges run at once on one connection; replies come back in
// another order than the requests went out.
func TestConcurrent(t *testing.T) {
	f := newFake(t, func(fc *fconn) {
		if !fc.handshake(stdHandshake) {
			return
		}
		// Collect 40 AUTH lines, answer them in reverse order.
		var ids []string
		for len(ids) < 40 {
			s, ok := fc.readLine()
			if !ok {
				return
			}
			f := strings.Split(s, "\t")
			b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[len(f)-1], "resp="))
			ids = append(ids, f[1]+"\t"+strings.Split(string(b), "\x00")[1])
		}
		for i := len(ids) - 1; i >= 0; i-- {
			id, user, _ := strings.Cut(ids[i], "\t")
			fc.send("OK\t" + id + "\tuser=" + user + "\n")
		}
		fc.readLine()
	})
	c := f.client()
	defer c.Close()
	ctx := ctxT(t, 20*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			u := fmt.Sprintf("user%d", i)
			st, _, err := run(ctx, c, "PLAIN", plain(u, "pw"))
			if err == nil && st.User != u {
				err = fmt.Errorf("%s got %+v", u, st)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.connCount() != 1 {
		t.Errorf("%d connections, want 1", f.connCount())
	}
}

func TestIdleClose(t *testing.T) {
	f := newFake(t, authServer)
	c := f.client()
	c.IdleTimeout = 50 * time.Millisecond
	defer c.Close()
	ctx := ctxT(t, 10*time.Second)
	if _, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret")); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	select { // the event: the connection is closed while idle
	case <-cn.dead:
	case <-ctx.Done():
		t.Fatal("not closed while idle")
	}
	if err := cn.broken(); err != errIdle {
		t.Fatalf("closed with %v", err)
	}
	if st, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret")); err != nil || st.User == "" {
		t.Fatalf("after the idle close: %+v %v", st, err)
	}
}

func TestClosedClient(t *testing.T) {
	f := newFake(t, authServer)
	c := f.client()
	c.Close()
	if _, err := c.Mechanisms(ctxT(t, time.Second)); err == nil {
		t.Fatal("Mechanisms after Close")
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct{ path, network, addr, err string }{
		{"private/auth", "unix", "/var/spool/postern/private/auth", ""},
		{"/run/dovecot/auth-client", "unix", "/run/dovecot/auth-client", ""},
		{"unix:/run/x", "unix", "/run/x", ""},
		{"unix:private/auth", "unix", "/var/spool/postern/private/auth", ""},
		{"inet:127.0.0.1:12345", "tcp", "127.0.0.1:12345", ""},
		{"inet:[::1]:12345", "tcp", "[::1]:12345", ""},
		{"inet:localhost", "", "", "want inet:host:port"},
		{"inet::25", "", "", "want inet:host:port"},
		{"unix:", "", "", "without a path"},
		{"", "", "", "empty"},
	} {
		n, a, err := ParsePath(tc.path, "/var/spool/postern")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("%q: %s %s %v", tc.path, n, a, err)
		}
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, esc string }{
		{"plain", "plain"},
		{"a\tb", "a\x01tb"},
		{"a\nb\rc", "a\x01nb\x01rc"},
		{"\x00\x01", "\x010\x011"},
	} {
		if got := escape(tc.in); got != tc.esc {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.esc)
		}
		if got := unescape(tc.esc); got != tc.in {
			t.Errorf("unescape(%q) = %q", tc.esc, got)
		}
	}
	if got := unescape("a\x01xb\x01"); got != "axb" {
		t.Errorf("unescape of unknown escapes: %q", got)
	}
	if got := printable("ok é\x1b[0m\xff"); got != "ok é?[0m?" {
		t.Errorf("printable: %q", got)
	}
}

// A session that goes away while its exchange waits (ctx cancelled)
// leaves the shared connection to the others.
func TestCancelKeepsConnection(t *testing.T) {
	got := make(chan string, 8)
	f := newFake(t, func(fc *fconn) {
		if !fc.handshake(stdHandshake) {
			return
		}
		for {
			s, ok := fc.readLine()
			if !ok {
				return
			}
			got <- s
			if f := strings.Split(s, "\t"); strings.HasSuffix(s, base64.StdEncoding.EncodeToString(plain("fast", "pw"))) {
				fc.send("OK\t" + f[1] + "\tuser=fast\n")
			} // "slow" is never answered
		}
	})
	c := f.client()
	defer c.Close()
	ctx, cancel := context.WithCancel(ctxT(t, 10*time.Second))
	ex, _ := c.Start(ctx, "PLAIN", sasl.Client{}, plain("slow", "pw"))
	errc := make(chan error, 1)
	go func() { _, err := ex.Next(ctx, nil); errc <- err }()
	<-got // the slow AUTH reached the server
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled exchange: %v", err)
	}
	st, _, err := run(ctxT(t, 10*time.Second), c, "PLAIN", plain("fast", "pw"))
	if err != nil || st.User != "fast" {
		t.Fatalf("%+v %v", st, err)
	}
	// A step deadline shorter than ReplyTimeout (Dovecot delays
	// failures on purpose) does not break it either.
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, _, err := run(short, c, "PLAIN", plain("slow", "pw")); !isTimeout(err) {
		t.Fatalf("slow exchange: %v", err)
	}
	if st, _, err := run(ctxT(t, 10*time.Second), c, "PLAIN", plain("fast", "pw")); err != nil || st.User != "fast" {
		t.Fatalf("%+v %v", st, err)
	}
	if n := f.connCount(); n != 1 {
		t.Errorf("%d connections: a cancelled or timed-out exchange broke the shared one", n)
	}
}

// Sessions that find Dovecot unreachable together share one failed
// dial instead of each waiting for its own in turn.
func TestDialFailureShared(t *testing.T) {
	f := newFake(t, func(fc *fconn) { fc.readLine(); fc.readLine(); fc.readLine() }) // no handshake
	c := f.client()
	c.Timeout = 300 * time.Millisecond
	defer c.Close()
	ctx := ctxT(t, 30*time.Second)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := c.Mechanisms(ctx); !isTimeout(err) {
				t.Errorf("got %v", err)
			}
		})
	}
	wg.Wait()
	if n := f.connCount(); n != 1 {
		t.Errorf("%d dials for 5 sessions waiting together, want 1", n)
	}
}

// Without a ctx deadline, ReplyTimeout bounds the wait for a reply.
func TestReplyTimeout(t *testing.T) {
	f := newFake(t, func(fc *fconn) {
		fc.handshake(stdHandshake)
		for {
			if _, ok := fc.readLine(); !ok {
				return
			}
		}
	})
	c := f.client()
	c.ReplyTimeout = 200 * time.Millisecond // and the silent connection is closed as hung
	defer c.Close()
	ex, _ := c.Start(context.Background(), "PLAIN", sasl.Client{}, plain("a", "b"))
	if _, err := ex.Next(context.Background(), nil); !isTimeout(err) {
		t.Fatalf("got %v", err)
	}
	if n := f.connCount(); n != 1 {
		t.Errorf("%d connections: a timed-out request was retried", n)
	}
}

// smtpd_sasl_service (the Client's Service) is what Dovecot gets, not
// the session's default.
func TestService(t *testing.T) {
	f := newFake(t, scripted("FAIL\t%d\n"))
	c := New("unix", f.path, "submission")
	defer c.Close()
	ex, _ := c.Start(ctxT(t, 10*time.Second), "PLAIN", sasl.Client{Service: "smtp"}, plain("a", "b"))
	ex.Next(ctxT(t, 10*time.Second), nil)
	rec := f.received()
	if l := rec[len(rec)-1]; !strings.Contains(l, "\tservice=submission\t") {
		t.Errorf("AUTH line %q", l)
	}
}

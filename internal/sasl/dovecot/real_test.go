package dovecot

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/sasl"
)

// startDovecot runs a private Dovecot (internal/dovecottest) whose
// users are alice (a SHA512-CRYPT hash made by doveadm pw) and bob (a
// plaintext password with a space and an @).
func startDovecot(t testing.TB) *dovecottest.Dovecot {
	t.Helper()
	users := "alice@v.test:" + dovecottest.Hash(t, "SHA512-CRYPT", "secret") + "\n" +
		"bob@v.test:{PLAIN}p@ss word\n"
	return dovecottest.Start(t, users)
}

func TestRealDovecot(t *testing.T) {
	d := startDovecot(t)
	n := 0
	for _, c := range []*Client{New("unix", d.Socket, "smtp"), New("tcp", d.Inet, "smtp")} {
		t.Run(c.network, func(t *testing.T) {
			defer c.Close()
			ctx := ctxT(t, 60*time.Second)
			mechs, err := c.Mechanisms(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []sasl.Mechanism{{Name: "PLAIN", Plaintext: true}, {Name: "LOGIN", Plaintext: true}}
			if fmt.Sprint(mechs) != fmt.Sprint(want) {
				t.Errorf("mechanisms %+v", mechs)
			}
			secured := sasl.Client{Secured: true, LocalAddr: netip.MustParseAddrPort("127.0.0.1:587"), RemoteAddr: netip.MustParseAddrPort("192.0.2.7:50000")}
			for _, tc := range []struct {
				name, mech string
				cl         sasl.Client
				initial    []byte
				answers    []string
				user       string
				reason     string
			}{
				{"PLAIN right", "PLAIN", secured, plain("alice@v.test", "secret"), nil, "alice@v.test", ""},
				{"PLAIN right, space and @ in the password", "PLAIN", secured, plain("bob@v.test", "p@ss word"), nil, "bob@v.test", ""},
				{"PLAIN wrong", "PLAIN", secured, plain("alice@v.test", "Secret"), nil, "", ""},
				{"PLAIN unknown user", "PLAIN", secured, plain("carol@v.test", "secret"), nil, "", ""},
				{"PLAIN no initial response", "PLAIN", secured, nil, []string{"\x00alice@v.test\x00secret"}, "alice@v.test", ""},
				{"LOGIN right", "LOGIN", secured, nil, []string{"alice@v.test", "secret"}, "alice@v.test", ""},
				{"LOGIN wrong", "LOGIN", secured, nil, []string{"alice@v.test", "nope"}, "", ""},
				{"LOGIN unknown user", "LOGIN", secured, nil, []string{"nobody@v.test", "secret"}, "", ""},
				{"injection in the user name", "PLAIN", secured, plain("alice@v.test\tuser=bob@v.test\n", "secret"), nil, "", ""},
			} {
				// Each case from its own address: Dovecot slows down
				// failures per client address (auth penalty).
				n++
				tc.cl.RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}), 50000)
				start := time.Now()
				ex, err := c.Start(ctx, tc.mech, tc.cl, tc.initial)
				if err != nil {
					t.Fatal(err)
				}
				st, err := ex.Next(ctx, nil)
				answers := tc.answers
				for err == nil && !st.Done && len(answers) > 0 {
					st, err = ex.Next(ctx, []byte(answers[0]))
					answers = answers[1:]
				}
				if err != nil || !st.Done || st.User != tc.user || !strings.Contains(st.Reason, tc.reason) {
					t.Errorf("%s: %+v %v", tc.name, st, err)
				}
				t.Logf("%s: %v", tc.name, time.Since(start))
			}
		})
	}
}

// Concurrent exchanges against the real Dovecot on one client.
func TestRealDovecotConcurrent(t *testing.T) {
	d := startDovecot(t)
	c := New("unix", d.Socket, "smtp")
	defer c.Close()
	ctx := ctxT(t, 120*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			user, pass, want := "bob@v.test", "p@ss word", "bob@v.test"
			if i%3 == 0 {
				pass, want = "wrong", ""
			}
			ex, _ := c.Start(ctx, "LOGIN", sasl.Client{Secured: true}, nil)
			st, err := ex.Next(ctx, nil)
			for _, a := range []string{user, pass} {
				if err == nil && !st.Done {
					st, err = ex.Next(ctx, []byte(a))
				}
			}
			if err == nil && (!st.Done || st.User != want) {
				err = fmt.Errorf("exchange %d: %+v", i, st)
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
}

// Dovecot stopped (a temporary failure) and started again: the client
// reconnects.
func TestRealDovecotRestart(t *testing.T) {
	d := startDovecot(t)
	c := New("unix", d.Socket, "smtp")
	// Dovecot 2.3's master waits (up to 30 s) for its auth process,
	// which waits for its clients to disconnect: the idle close lets
	// it stop.
	c.IdleTimeout = 100 * time.Millisecond
	defer c.Close()
	ctx := ctxT(t, 60*time.Second)
	auth := func() (sasl.Step, error) {
		ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
		return ex.Next(ctx, nil)
	}
	if st, err := auth(); err != nil || st.User != "bob@v.test" {
		t.Fatalf("%+v %v", st, err)
	}
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	d.Stop()
	<-cn.dead // the event: the client saw the connection close
	if _, err := auth(); err == nil {
		t.Fatal("no error while Dovecot is down")
	}
	d.Run(t)
	if st, err := auth(); err != nil || st.User != "bob@v.test" {
		t.Fatalf("after Dovecot restarted: %+v %v", st, err)
	}
}

// BenchmarkRealShared: exchanges multiplexed on one connection.
func BenchmarkRealShared(b *testing.B) {
	d := startDovecot(b)
	c := New("unix", d.Socket, "smtp")
	defer c.Close()
	ctx := context.Background()
	b.SetParallelism(10) // 10 sessions per CPU at once
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
			if st, err := ex.Next(ctx, nil); err != nil || st.User == "" {
				b.Fatal(st, err)
			}
		}
	})
}

// BenchmarkRealPerExchange: a new connection (and handshake) for each
// exchange, for comparison.
func BenchmarkRealPerExchange(b *testing.B) {
	d := startDovecot(b)
	ctx := context.Background()
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := New("unix", d.Socket, "smtp")
			ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
			if st, err := ex.Next(ctx, nil); err != nil || st.User == "" {
				b.Fatal(st, err)
			}
			c.Close()
		}
	})
}

package smtp

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
)

func TestStageTimeout(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.ext = nil // no pipelining: RCPT is read on its own
	srv.delay = map[string]time.Duration{"RCPT": 30 * time.Second}
	srv.start()
	cfg := testConfig(nil, nil)
	cfg.Timeouts.Rcpt = 200 * time.Millisecond
	a := newAgent(t, cfg)
	start := time.Now()
	res := deliverOne(t, a, request(relay(srv), "a@example.net"))
	if r := res[0]; r.Kind != deliver.Deferred || r.DSN != "4.4.2" ||
		r.Reason != "conversation with 127.0.0.1[127.0.0.1] timed out while sending RCPT TO" {
		t.Errorf("%+v", r)
	}
	if d := time.Since(start); d > 15*time.Second { // the timeout, not the server's 30 s
		t.Errorf("took %v", d)
	}
}

func TestContextCancel(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.delay = map[string]time.Duration{"DATA": 30 * time.Second}
	srv.start()
	a := newAgent(t, testConfig(nil, nil))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // cancelled once the server holds DATA, however long that takes
		for ctx.Err() == nil && !slices.Contains(srv.commands(), "DATA") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	res := a.Deliver(ctx, request(relay(srv), "a@example.net", "b@example.net"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	for _, r := range res {
		if r.Kind != deliver.Deferred || r.DSN != "4.3.0" || r.Reason != "delivery interrupted: context canceled" {
			t.Errorf("%+v", r)
		}
	}
	if a.IdleSessions() != 0 {
		t.Error("an interrupted session was cached")
	}
}

func TestContentReadError(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	a := newAgent(t, testConfig(nil, nil))
	req := request(relay(srv), "a@example.net")
	req.Content = func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("Subject: x\r\n"), errReader{})), nil
	}
	res := deliverOne(t, a, req)
	if r := res[0]; r.Kind != deliver.Deferred || r.DSN != "4.3.0" || !strings.HasPrefix(r.Reason, "local data error while talking to") {
		t.Errorf("%+v", r)
	}
	time.Sleep(100 * time.Millisecond)
	if len(srv.messages()) != 0 {
		t.Error("a truncated message was delivered")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("disk on fire") }

func TestBindAddress(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	cfg := testConfig(nil, nil)
	cfg.BindAddress4 = netip.MustParseAddr("127.0.0.5")
	a := newAgent(t, cfg)
	deliverOne(t, a, request(relay(srv), "a@example.net"))
	if s := srv.sessionInfos(); len(s) != 1 || s[0].remote != cfg.BindAddress4 {
		t.Errorf("sessions %+v", s)
	}
}

func TestConnectionReuse(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	cfg := testConfig(nil, nil)
	cfg.CacheTimeLimit = 300 * time.Millisecond
	a := newAgent(t, cfg)
	for i := range 5 {
		r := deliverOne(t, a, request(relay(srv), "a@example.net"))[0]
		if r.Kind != deliver.Sent {
			t.Fatalf("%+v", r)
		}
		if want := map[bool]int{true: 0, false: i + 1}[i == 0]; r.ConnUse != want { // Postfix's conn_use=
			t.Errorf("message %d: ConnUse %d, want %d", i+1, r.ConnUse, want)
		}
	}
	if conns, _ := srv.counts(); conns != 1 || a.IdleSessions() != 1 {
		t.Errorf("%d connections, %d idle", conns, a.IdleSessions())
	}
	rsets := 0
	for _, c := range srv.commands() {
		if c == "RSET" {
			rsets++
		}
	}
	if rsets != 4 {
		t.Errorf("%d RSET probes", rsets)
	}
	// The idle session ends: wait for its QUIT to reach the server.
	deadline := time.Now().Add(30 * time.Second)
	for _, quits := srv.counts(); (quits == 0 || a.IdleSessions() > 0) && time.Now().Before(deadline); _, quits = srv.counts() {
		time.Sleep(20 * time.Millisecond)
	}
	if _, quits := srv.counts(); quits != 1 || a.IdleSessions() != 0 {
		t.Errorf("after the idle limit: %d QUIT, %d idle", quits, a.IdleSessions())
	}

	// Without the cache every message has its own session.
	cfg.ConnectionCache = false
	b := newAgent(t, cfg)
	srv2 := newTestServer(t, "127.0.0.1").start()
	for range 3 {
		deliverOne(t, b, request(relay(srv2), "a@example.net"))
	}
	if conns, _ := srv2.counts(); conns != 3 {
		t.Errorf("without cache: %d connections", conns)
	}
}

// A cached session that died is replaced by a new one.
func TestStaleCachedSession(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1").start()
	a := newAgent(t, testConfig(nil, nil))
	deliverOne(t, a, request(relay(srv), "a@example.net"))
	srv.dropAll()
	if r := deliverOne(t, a, request(relay(srv), "a@example.net"))[0]; r.Kind != deliver.Sent {
		t.Errorf("%+v", r)
	}
	if conns, _ := srv.counts(); conns != 2 {
		t.Errorf("%d connections", conns)
	}
}

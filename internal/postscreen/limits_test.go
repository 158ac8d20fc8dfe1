package postscreen

import (
	"bufio"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// postscreen_client_connection_count_limit and postscreen_pre_queue_limit,
// with Postfix's replies and log lines: the client's connection over the
// count limit is refused even when allowlisted; over the pre-queue limit
// a client that must wait for the tests is refused, a cached one passes;
// a connection that ends is no longer counted.
func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		conn, pre     int
		mynets, cache bool // the third client: allowlisted, cached
		reply, log    string
		thirdPasses   bool
	}{
		{"count limit", 1, 0, true, false, "421 4.7.0 Error: too many connections",
			"NOQUEUE: reject: CONNECT from [127.0.0.1]:", false},
		{"pre-queue limit", 0, 2, false, true, "421 4.3.2 All screening ports are busy",
			"reject: connect from [127.0.0.1]:", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ConnLimit, cfg.PreQueueLimit = tc.conn, tc.pre
			mynets := false
			if tc.mynets {
				cfg.AccessList = []string{"permit_mynetworks"}
			}
			scr := &Screen{Config: cfg, MyNetworks: func(netip.Addr) bool { return mynets }}
			if err := scr.Open(); err != nil {
				t.Fatal(err)
			}
			var lb logBuf
			cache := NewCache()
			log := slog.New(slog.NewTextHandler(&lb, nil))
			first, out1 := screenOne(t, scr, cache, log) // in the greet wait
			if l := readLine(t, bufio.NewReader(first)); l != "220-mx.example ESMTP" {
				t.Fatalf("first client: %q", l)
			}
			second, out2 := screenOne(t, scr, cache, log)
			if l := readLine(t, bufio.NewReader(second)); l != tc.reply {
				t.Fatalf("second client: %q, want %q", l, tc.reply)
			}
			if got := <-out2; got != nil {
				t.Fatal("the second client was let through")
			}
			if !strings.Contains(lb.String(), tc.log) || !strings.Contains(lb.String(), "DISCONNECT [127.0.0.1]:") {
				t.Fatalf("log lacks %q and DISCONNECT:\n%s", tc.log, lb.String())
			}
			mynets = tc.mynets
			if tc.cache {
				cache.Put(netip.MustParseAddr("127.0.0.1"), Record{Pregreet: time.Now().Add(time.Hour)}, time.Now(), time.Hour)
			}
			_, out3 := screenOne(t, scr, cache, log)
			if got := <-out3; (got != nil) != tc.thirdPasses {
				t.Fatalf("third client passed %v, want %v:\n%s", got != nil, tc.thirdPasses, lb.String())
			} else if got != nil {
				got.Close()
			}
			// The first client leaves: a new one is counted from zero.
			first.Close()
			<-out1
			mynets = true
			cfg.AccessList = []string{"permit_mynetworks"}
			_, out4 := screenOne(t, scr, cache, log)
			if got := <-out4; got == nil {
				t.Fatalf("a client after the first left was refused:\n%s", lb.String())
			} else {
				got.Close()
			}
		})
	}
}

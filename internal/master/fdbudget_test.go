package master

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver/local"
	"github.com/postern-mta/postern/internal/deliver/smtp"
)

// TestFDBudget checks the budget against every consumer of descriptors
// at their worst at once: the sessions it allows, each holding its
// connection, the busy ones among them with a queue file or A/AAAA
// sockets besides, each delivery with its queue file and its agent's
// most (smtp: connection and A/AAAA sockets; local: directory, lock,
// mailbox…), the smtp client's idle cache as smtpConfig sizes it, the
// background and fixed needs, and what was open at start. With hard
// limit 1024 and 100 deliveries the former reserve (32 + 3 per
// delivery, no cache) allowed 336 sessions: 12 + 336×2 + 100×3 + 100
// cached = 1084 > 1024.
func TestFDBudget(t *testing.T) {
	for _, tc := range []struct {
		limit      uint64
		open, dels int
		milters    int
		ok         bool
		atLeast    int // sessions
	}{
		{limit: 1024, open: 12, dels: 100, ok: true},
		{limit: 4096, open: 12, dels: 100, ok: true},
		{limit: 1024, open: 40, dels: 50, ok: true},
		{limit: 128, open: 12, dels: 2, ok: true},
		{limit: 128, open: -1, dels: 2, ok: true},
		{limit: 64, open: 12, dels: 100, ok: false},
		{limit: 1 << 40, open: 12, dels: 100, ok: true},
		// issue 19: 10,000 idle sessions and the load beside them in a
		// hard limit of 20,000 (this project's test machine)
		{limit: 20000, open: 20, dels: 100, ok: true, atLeast: 10200},
		// review 19 M2: with milters each session holds a connection
		// to each
		{limit: 20000, open: 20, dels: 100, milters: 1, ok: true, atLeast: 6000},
		{limit: 20000, open: 20, dels: 100, milters: 3, ok: true, atLeast: 3000},
		{limit: 1024, open: 12, dels: 100, milters: 2, ok: true},
		{limit: 128, open: 12, dels: 2, milters: 1, ok: true},
		{limit: 80, open: 12, dels: 2, milters: 30, ok: false},
	} {
		got, busy, reserve, ok := fdBudget(tc.limit, tc.open, tc.dels, tc.milters)
		if ok != tc.ok {
			t.Errorf("fdBudget(%d, %d, %d) ok = %v, want %v", tc.limit, tc.open, tc.dels, ok, tc.ok)
		}
		if got < tc.atLeast {
			t.Errorf("fdBudget(%d, %d, %d) = %d sessions, want at least %d", tc.limit, tc.open, tc.dels, got, tc.atLeast)
		}
		if !ok || tc.limit > 1<<30 {
			continue
		}
		if busy < 1 || busy > got {
			t.Errorf("fdBudget(%d, %d, %d) = %d busy of %d sessions", tc.limit, tc.open, tc.dels, busy, got)
		}
		open := tc.open
		if open < 0 {
			open = fdReserveFixed
		}
		perDelivery := 1 + max(smtp.FDsPerDelivery, local.FDsPerDelivery)
		cached := 2 * min(smtp.DefaultCacheMaxIdle, tc.dels) // smtp and lmtp
		sessions := got*(fdsPerSession+tc.milters) + busy*fdsPerBusy
		use := open + fdReserveFixed + fdsBackground + sessions + tc.dels*perDelivery + cached
		if use > int(tc.limit) {
			t.Errorf("fdBudget(%d, %d, %d) = %d sessions, %d busy: at worst %d descriptors in use", tc.limit, tc.open, tc.dels, got, busy, use)
		}
		if use+fdsPerSession+tc.milters+fdsPerBusy <= int(tc.limit) {
			t.Errorf("fdBudget(%d, %d, %d) = %d sessions, %d busy: room for one more", tc.limit, tc.open, tc.dels, got, busy)
		}
		if reserve != use-open-sessions {
			t.Errorf("fdBudget(%d, %d, %d) reserve %d, want %d", tc.limit, tc.open, tc.dels, reserve, use-open-sessions)
		}
	}
}

// The smtp client's cache holds no more idle connections than the budget
// reserves for it.
func TestSMTPCacheWithinBudget(t *testing.T) {
	for _, dels := range []string{"1", "2", "100", "500"} {
		cfg := config.New(t.TempDir(), nil).With("default_process_limit", dels)
		sc, err := smtpConfig(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(dels)
		if want := min(smtp.DefaultCacheMaxIdle, n); sc.CacheMaxIdle != want || cacheMaxIdle(n) != want {
			t.Errorf("default_process_limit %s: cache of %d idle connections, budget %d, want %d", dels, sc.CacheMaxIdle, cacheMaxIdle(n), want)
		}
	}
}

// The busy cap is at least max(1, sessions/4) at every limit (review 19
// L4: rounding left one busy slot for nine sessions), the budget
// still holds, and a limit too small is one session, busy.
func TestFDBudgetBusyShare(t *testing.T) {
	for _, tc := range []struct {
		limit         uint64
		open, milters int
	}{
		{limit: 64, open: 12}, {limit: 66, open: 12}, {limit: 69, open: 12}, {limit: 70, open: 12},
		{limit: 75, open: 12}, {limit: 79, open: 12}, {limit: 80, open: 12}, {limit: 96, open: 12},
		{limit: 128, open: 12}, {limit: 1024, open: 12}, {limit: 20000, open: 20},
		{limit: 80, open: 12, milters: 1}, {limit: 100, open: 12, milters: 2},
	} {
		sessions, busy, reserve, ok := fdBudget(tc.limit, tc.open, 2, tc.milters)
		if busy < max(1, sessions/4) {
			t.Errorf("fdBudget(%d, %d, 2, %d) = %d sessions, %d busy: want at least %d busy", tc.limit, tc.open, tc.milters, sessions, busy, max(1, sessions/4))
		}
		if !ok {
			if sessions != 1 || busy != 1 {
				t.Errorf("fdBudget(%d, %d, 2, %d) not ok: %d sessions, %d busy; want 1, 1", tc.limit, tc.open, tc.milters, sessions, busy)
			}
			continue
		}
		if use := tc.open + reserve + sessions*(fdsPerSession+tc.milters) + busy*fdsPerBusy; use > int(tc.limit) {
			t.Errorf("fdBudget(%d, %d, 2, %d) = %d sessions, %d busy: %d descriptors at worst", tc.limit, tc.open, tc.milters, sessions, busy, use)
		}
	}
}

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The daemon is killed with SIGKILL at random moments while ten clients
// send numbered messages, and restarted each time. Once the queue has
// drained, every message that was answered 250 at the end of DATA is in
// the Maildir, and no message is there more than once — not even one the
// daemon delivered just before it was killed, before the queue file
// recorded it. The sender is the recipient, so a bounce would show up in
// the Maildir too. It runs with messages queued before delivery, and
// again with direct delivery (a Maildir copy, no queue file, before 250).
func TestCrashLosesNoAcceptedMessage(t *testing.T) {
	becomeSubreaper(t)
	for _, tc := range []struct {
		direct string
		kills  int
	}{{"no", 20}, {"yes", 10}} {
		t.Run("direct_local_delivery="+tc.direct, func(t *testing.T) {
			if testing.Short() {
				tc.kills = 5
			}
			in, maildir := mailInstance(t, fmt.Sprintf("local_destination_concurrency_limit = %d\ndirect_local_delivery = %s\n", localConcurrency, tc.direct))
			u, _ := user.Current()
			crashRun(t, in, u.Username+"@mx.example.test", maildir, tc.kills)
		})
	}
}

// The same for the virtual delivery agent, which names its Maildir
// copies as local delivery does.
func TestVirtualCrashLosesNoAcceptedMessage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: virtual delivery writes as the mailbox owner (CI runs as root)")
	}
	becomeSubreaper(t)
	kills := 10
	if testing.Short() {
		kills = 5
	}
	extra, base := virtualSetup(t)
	in, _ := mailInstance(t, extra+fmt.Sprintf("virtual_destination_concurrency_limit = %d\n", localConcurrency))
	crashRun(t, in, "alice@v.test", filepath.Join(base, "v.test", "alice"), kills)
}

// crashRun kills the daemon kills times while clients send numbered
// messages from and to rcpt, whose Maildir is maildir, and checks that
// every message answered 250 is there exactly once.
func crashRun(t *testing.T, in *instance, rcpt, maildir string, kills int) {
	crashRunDups(t, in, rcpt, maildir, kills, false)
}

// crashRunDups is crashRun; with dupsOK, a message delivered twice is
// only counted (a mail store over LMTP cannot recognise a retry).
func crashRunDups(t *testing.T, in *instance, rcpt, maildir string, kills int, dupsOK bool) {
	clients := 10
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	var (
		next    atomic.Int64
		mu      sync.Mutex
		results = map[int]smtpOutcome{}
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		// acked counts the messages answered 250; ackedMore wakes the
		// kill loop when it grows.
		acked     atomic.Int64
		ackedMore = make(chan struct{}, 1)
	)
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopClients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(next.Add(1))
				o := sendSMTP(addr, rcpt, rcpt, numberedMessage(n, 2048))
				mu.Lock()
				results[n] = o
				mu.Unlock()
				if o.Queued {
					acked.Add(1)
					select {
					case ackedMore <- struct{}{}:
					default:
					}
				}
				if o.Stage == "connect" {
					time.Sleep(5 * time.Millisecond) // the daemon is down
				}
			}
		}()
	}
	// Each kill comes after a random number of messages answered 250
	// by the new daemon, not after a time: on a loaded machine the
	// daemon may take longer to answer, but every kill still hits live
	// traffic (and the sessions in flight at that moment).
	waitAcks := func(n int64) {
		target := acked.Load() + n
		for acked.Load() < target {
			select {
			case <-ackedMore:
			case <-time.After(60 * time.Second):
				t.Fatalf("no message answered 250 for a minute (%d of %d)", acked.Load(), target)
			}
		}
	}
	for range kills {
		waitAcks(int64(20 + rand.IntN(250))) // about as many as 50–450 ms gave on an idle machine
		killHard(t, in.daemonPid(t))
		in.start(t)
	}
	waitAcks(10)
	stopClients()
	in.waitQueueEmpty(t, 60*time.Second)

	copies, strays := maildirCopies(t, maildir)
	if len(strays) > 0 {
		t.Errorf("Maildir holds %d unexpected messages (bounces?): %v", len(strays), strays)
	}
	var queued, unqueued, unqueuedDelivered int
	failedAt := map[string]int{}
	var lost, dups []int
	for n, o := range results {
		c := len(copies[n])
		if o.Queued {
			queued++
			if c == 0 {
				lost = append(lost, n)
			}
		} else {
			unqueued++
			failedAt[o.Stage]++
			if c > 0 {
				unqueuedDelivered++
			}
		}
		if c > 1 {
			dups = append(dups, n)
		}
	}
	for n := range copies {
		if _, sent := results[n]; !sent {
			t.Errorf("message %d was never sent but is in the Maildir", n)
		}
	}
	t.Logf("%d kills; %d messages attempted: %d answered 250, %d not (%s), %d of those delivered anyway; %d delivered twice",
		kills, len(results), queued, unqueued, stageSummary(failedAt), unqueuedDelivered, len(dups))
	if len(lost) > 0 {
		sort.Ints(lost)
		t.Errorf("%d messages answered 250 are not in the Maildir: %v", len(lost), lost)
	}
	if len(dups) > 0 && !dupsOK {
		// Local delivery names a Maildir copy after the queue ID and
		// recipient, so a retry after a kill finds its earlier copy.
		sort.Ints(dups)
		t.Errorf("%d messages delivered more than once: %v", len(dups), dups)
	}
	if queued == 0 || unqueued == 0 {
		t.Errorf("%d queued and %d refused: the kills did not interrupt live traffic", queued, unqueued)
	}
	if log := in.maillog(t); strings.Contains(log, "corrupt queue file") {
		t.Errorf("a SIGKILL left a corrupt queue file:\n%s", grepLines(log, "corrupt"))
	}
}

// localConcurrency bounds the deliveries in flight when a daemon dies.
const localConcurrency = 2

func stageSummary(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d at %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return firstLines(strings.Join(out, "\n"), 20)
}

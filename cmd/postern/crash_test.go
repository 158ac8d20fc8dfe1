package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The daemon is killed with SIGKILL at random moments while ten clients
// send numbered messages, and restarted each time. Once the queue has
// drained, every message that was answered 250 at the end of DATA is in
// the Maildir, and no message is there more than once unless a kill
// explains the copy (the daemon died after the Maildir link, before the
// queue file recorded the delivery): such duplicates are logged, and fail
// the test when POSTERN_CRASH_EXACTLY_ONCE is set. The sender is the
// recipient, so a bounce would show up in the Maildir too.
func TestCrashLosesNoAcceptedMessage(t *testing.T) {
	kills, clients := 20, 10
	if testing.Short() {
		kills = 5
	}
	becomeSubreaper(t)
	in, maildir := mailInstance(t, fmt.Sprintf("local_destination_concurrency_limit = %d\n", localConcurrency))
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	var (
		next    atomic.Int64
		mu      sync.Mutex
		results = map[int]smtpOutcome{}
		stop    = make(chan struct{})
		wg      sync.WaitGroup
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
				if o.Stage == "connect" {
					time.Sleep(5 * time.Millisecond) // the daemon is down
				}
			}
		}()
	}
	lifetimes := []int{in.daemonPid(t)} // every daemon's pid, in order
	for range kills {
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		killHard(t, in.daemonPid(t))
		in.start(t)
		lifetimes = append(lifetimes, in.daemonPid(t))
	}
	time.Sleep(200 * time.Millisecond)
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
	sort.Ints(dups)
	if bad := unexplainedDuplicates(dups, copies, lifetimes, localConcurrency); len(bad) > 0 {
		t.Errorf("duplicates that no kill explains:\n%s", strings.Join(bad, "\n"))
	}
	if len(dups) > 0 {
		// Each remaining duplicate is a delivery whose Maildir link was on
		// disk when the daemon died, before the queue file recorded it as
		// sent: the window Postfix has too. Exactly-once needs the local
		// agent to recognise its own earlier copy (see crashDupsStrict).
		msg := fmt.Sprintf("%d messages delivered twice, each by a daemon killed before it recorded the delivery: %v", len(dups), dups)
		if os.Getenv(crashDupsStrict) != "" {
			t.Error(msg)
		} else {
			t.Log(msg + " (set " + crashDupsStrict + "=1 to fail on them)")
		}
	}
	if queued == 0 || unqueued == 0 {
		t.Errorf("%d queued and %d refused: the kills did not interrupt live traffic", queued, unqueued)
	}
	if log := in.maillog(t); strings.Contains(log, "corrupt queue file") {
		t.Errorf("a SIGKILL left a corrupt queue file:\n%s", grepLines(log, "corrupt"))
	}
}

// crashDupsStrict names the environment variable that makes the crash
// test fail on duplicates a kill explains, for when local delivery
// becomes exactly-once.
const crashDupsStrict = "POSTERN_CRASH_EXACTLY_ONCE"

// localConcurrency bounds the deliveries in flight when a daemon dies.
const localConcurrency = 2

var maildirPid = regexp.MustCompile(`P(\d+)Q`)

// unexplainedDuplicates describes the duplicates that a crash cannot
// explain: two copies written by the same daemon, a copy by a process
// that was no daemon of the test, or more repeated deliveries from one
// killed daemon than it had deliveries in flight. (Every daemon but the
// last was killed, and copies by distinct daemons sort by lifetime.)
func unexplainedDuplicates(dups []int, copies map[int][]string, lifetimes []int, inFlight int) []string {
	life := map[int]int{}
	for i, pid := range lifetimes {
		life[pid] = i
	}
	repeatedBy := map[int][]int{}
	var bad []string
	for _, n := range dups {
		var lives []int
		for _, name := range copies[n] {
			m := maildirPid.FindStringSubmatch(name)
			pid := 0
			if m != nil {
				pid, _ = strconv.Atoi(m[1])
			}
			i, ok := life[pid]
			if !ok {
				bad = append(bad, fmt.Sprintf("message %d: copy %s written by an unknown process", n, name))
				continue
			}
			lives = append(lives, i)
		}
		sort.Ints(lives)
		for k := 0; k+1 < len(lives); k++ {
			if lives[k] == lives[k+1] {
				bad = append(bad, fmt.Sprintf("message %d delivered twice by pid %d: %v", n, lifetimes[lives[k]], copies[n]))
			}
			// lives[k] < lives[k+1]: a killed daemon, which left this
			// delivery unrecorded.
			repeatedBy[lives[k]] = append(repeatedBy[lives[k]], n)
		}
	}
	for i, ns := range repeatedBy {
		if len(ns) > inFlight {
			bad = append(bad, fmt.Sprintf("pid %d left %d deliveries unrecorded (%v), more than the %d it runs at once",
				lifetimes[i], len(ns), ns, inFlight))
		}
	}
	return bad
}

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

func TestUnexplainedDuplicates(t *testing.T) {
	name := func(pid, q int) string { return fmt.Sprintf("1700000000.M1P%dQ%d.mx.example.test", pid, q) }
	lifetimes := []int{100, 200, 300}
	for _, tc := range []struct {
		name   string
		copies map[int][]string
		bad    int
	}{
		{"one copy each from two daemons", map[int][]string{1: {name(100, 1), name(200, 1)}, 2: {name(200, 2), name(300, 1)}}, 0},
		{"three lifetimes, three copies", map[int][]string{1: {name(300, 1), name(100, 1), name(200, 1)}}, 0},
		{"two copies from one daemon", map[int][]string{1: {name(200, 1), name(200, 2)}}, 1},
		{"a copy by a stranger", map[int][]string{1: {name(100, 1), name(999, 1)}}, 1},
		{"more repeats than deliveries in flight", map[int][]string{
			1: {name(100, 1), name(200, 1)}, 2: {name(100, 2), name(200, 2)}, 3: {name(100, 3), name(300, 1)}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dups []int
			for n := range tc.copies {
				dups = append(dups, n)
			}
			sort.Ints(dups)
			if bad := unexplainedDuplicates(dups, tc.copies, lifetimes, 2); len(bad) != tc.bad {
				t.Errorf("got %d complaints, want %d: %q", len(bad), tc.bad, bad)
			}
		})
	}
}

package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// A message for many local recipients, one delivery request each
// (local_destination_recipient_limit = 1) whose outcomes the queue
// manager records together: every recipient gets exactly one copy,
// logged once; and after a SIGKILL in the middle of the deliveries,
// once the restarted daemon has finished, still exactly one each, none
// lost, none twice (the copies are named after the queue ID and the
// recipient, so a recipient whose outcome was not recorded yet finds its
// copy on the next attempt). The recipients are user+N: one Maildir,
// one copy per recipient in it.
func TestManyRecipientsEachCopyOnce(t *testing.T) {
	const rcpts = 50
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	var to []string
	for i := range rcpts {
		to = append(to, fmt.Sprintf("%s+%d@mx.example.test", u.Username, i))
	}
	extra := "recipient_delimiter = +\ndirect_local_delivery = no\n"

	t.Run("delivered", func(t *testing.T) {
		in, maildir := mailInstance(t, extra)
		addr := fmt.Sprintf("127.0.0.1:%d", in.port)
		if o := sendSMTPTo(addr, to[0], to, numberedMessage(1, 2048)); !o.Queued {
			t.Fatalf("not queued: %+v", o)
		}
		in.waitQueueEmpty(t, 60*time.Second)
		checkCopies(t, maildir, []int{1}, to)
		log := in.maillog(t)
		for _, a := range to {
			if n := strings.Count(log, "to=<"+a+">, relay=local"); n != 1 || !strings.Contains(log, "to=<"+a+">, relay=local, ") {
				t.Errorf("%s: %d delivery lines, want 1", a, n)
			}
		}
		if n := strings.Count(log, "status=sent (delivered to maildir)"); n != rcpts {
			t.Errorf("%d recipients logged as delivered, want %d:\n%s", n, rcpts, firstLines(log, 20))
		}
	})

	// Through the root agent (mail_owner not root): each request
	// carries its own recipient only (internal/deliver/proxy).
	t.Run("root agent", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root: the local delivery agent process exists only when the daemon starts as root (CI runs as root)")
		}
		if _, err := user.Lookup("nobody"); err != nil {
			t.Skip("no user nobody")
		}
		var rootTo []string
		for i := range rcpts {
			rootTo = append(rootTo, fmt.Sprintf("root+%d@mx.example.test", i))
		}
		spool := t.TempDir()
		in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
			"home_mailbox =\nmail_spool_directory = %s/\nmail_owner = nobody\n%s", spool, extra))
		testperm.OpenDirs(in.dir)
		in.start(t)
		addr := fmt.Sprintf("127.0.0.1:%d", in.port)
		if o := sendSMTPTo(addr, rootTo[0], rootTo, numberedMessage(1, 2048)); !o.Queued {
			t.Fatalf("not queued: %+v", o)
		}
		in.waitQueueEmpty(t, 60*time.Second)
		checkCopies(t, filepath.Join(spool, "root"), []int{1}, rootTo)
	})

	t.Run("killed", func(t *testing.T) {
		becomeSubreaper(t)
		in, maildir := mailInstance(t, extra)
		addr := fmt.Sprintf("127.0.0.1:%d", in.port)
		const messages = 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		var queued []int
		for n := 1; n <= messages; n++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if o := sendSMTPTo(addr, to[0], to, numberedMessage(n, 2048)); o.Queued {
					mu.Lock()
					queued = append(queued, n)
					mu.Unlock()
				}
			}()
		}
		// Killed once copies arrive, while most are still to come.
		deadline := time.Now().Add(60 * time.Second)
		for {
			entries, _ := os.ReadDir(filepath.Join(maildir, "new"))
			if len(entries) >= rcpts/2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no copies for a minute; log:\n%s", firstLines(in.maillog(t), 30))
			}
			time.Sleep(time.Millisecond)
		}
		killHard(t, in.daemonPid(t))
		wg.Wait()
		entries, _ := os.ReadDir(filepath.Join(maildir, "new"))
		t.Logf("killed with %d of %d copies made (%d messages answered 250)", len(entries), messages*rcpts, len(queued))
		in.start(t)
		in.waitQueueEmpty(t, 120*time.Second)
		if len(queued) == 0 {
			t.Fatal("no message was answered 250 before the kill")
		}
		checkCopies(t, maildir, queued, to)
	})
}

var deliveredTo = regexp.MustCompile(`(?m)^Delivered-To: (\S+)$`)

// checkCopies checks that the Maildir holds exactly one copy of each
// numbered message for each recipient, and that any other copy there is
// of a message numbered but not answered 250 (sent before the kill: the
// server may deliver what the client did not see accepted), once each.
func checkCopies(t *testing.T, maildir string, msgs []int, to []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(maildir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{} // "n to"
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(maildir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m, d := messageIDSeq.FindSubmatch(b), deliveredTo.FindSubmatch(b)
		if m == nil || d == nil {
			t.Errorf("%s: not a numbered copy for a recipient", e.Name())
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		count[fmt.Sprintf("%d %s", n, d[1])]++
	}
	want := map[string]bool{}
	for _, n := range msgs {
		for _, a := range to {
			k := fmt.Sprintf("%d %s", n, a)
			want[k] = true
			if count[k] != 1 {
				t.Errorf("message %d for %s: %d copies, want 1", n, a, count[k])
			}
		}
	}
	for k, c := range count {
		if !want[k] && c > 1 {
			t.Errorf("%s (not answered 250): %d copies", k, c)
		}
	}
}

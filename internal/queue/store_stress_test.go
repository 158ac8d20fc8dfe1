package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The crash child: enqueues and updates from 4 goroutines, printing each
// acknowledgement, until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("POSTERN_QUEUE_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		fmt.Printf(format+"\n", a...)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				tag := fmt.Sprintf("message-%d-%d-", w, i)
				body := tag + strings.Repeat("x", i%3*chunkSize/2)
				id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
				if err != nil {
					say("error %v", err)
					return
				}
				say("queued %s %s", id, tag)
				if err := s.Move(id, Incoming, Active); err != nil {
					say("error %v", err)
					return
				}
				if err := s.Update(Active, id, map[int]RcptStatus{1: {State: Sent}}); err != nil {
					say("error %v", err)
					return
				}
				say("sent %s", id)
			}
		})
	}
	wg.Wait()
}

// Killed at a random moment, the queue keeps every acknowledged message
// and state change: Open recovers it, temporary files are gone, and
// nothing lands in corrupt.
func TestStoreSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "POSTERN_QUEUE_CRASH_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed once it has acknowledged killAfter messages, not on a
		// timer: a loaded machine slows the child, never the test's
		// strength. The child goes on working while the kill is on its
		// way, so it lands in the middle of some step.
		killAfter := 40 + 30*round
		queued, sent := map[string]string{}, map[string]bool{}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "queued":
				queued[f[1]] = f[2]
				if len(queued) == killAfter {
					cmd.Process.Kill()
				}
			case len(f) == 2 && f[0] == "sent":
				sent[f[1]] = true
			default:
				t.Errorf("child: %s", sc.Text())
			}
		}
		cmd.Wait()
		if len(queued) < killAfter {
			t.Fatalf("the child stopped after %d messages, before the kill", len(queued))
		}
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for id, prefix := range queued {
			m, err := s.Read(Incoming, id)
			if err != nil {
				t.Errorf("round %d: acknowledged %s: %v", round, id, err)
				continue
			}
			if sent[id] && m.Status[1].State != Sent {
				t.Errorf("round %d: %s: recorded delivery lost", round, id)
			}
			if got := readContent(t, s, Incoming, id); !strings.HasPrefix(string(got), prefix) {
				t.Errorf("round %d: %s: content %.30q, want %q…", round, id, got, prefix)
			}
		}
		for _, q := range []string{Active, Corrupt} {
			if ids, _ := s.List(q); len(ids) != 0 {
				t.Errorf("round %d: %s holds %v", round, q, ids)
			}
		}
		if entries, _ := os.ReadDir(dir + "/" + tmpDir); len(entries) != 0 {
			t.Errorf("round %d: tmp holds %d files", round, len(entries))
		}
		t.Logf("round %d: %d acknowledged, %d delivered", round, len(queued), len(sent))
		for id := range queued {
			s.Remove(Incoming, id) // keep rounds independent
		}
	}
}

// 32 sessions enqueue at once while a manager moves, updates and
// removes: every acknowledged message is readable and intact.
func TestStoreConcurrent(t *testing.T) {
	s := openStore(t, t.TempDir())
	const writers, each = 32, 8
	ids := make(chan string, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				body := fmt.Sprintf("message %d/%d\r\n", w, i)
				id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id + " " + body
			}
		})
	}
	manager := make(chan struct{})
	go func() {
		defer close(manager)
		for range 20 {
			list, _ := s.List(Incoming)
			for _, id := range list {
				if err := s.Move(id, Incoming, Active); err != nil {
					t.Errorf("Move: %v", err)
					continue
				}
				if err := s.Update(Active, id, map[int]RcptStatus{1: {State: Sent}}); err != nil {
					t.Errorf("Update: %v", err)
				}
			}
		}
	}()
	wg.Wait()
	<-manager
	close(ids)
	seen := map[string]bool{}
	for line := range ids {
		id, body, _ := strings.Cut(line, " ")
		if seen[id] {
			t.Errorf("ID %s handed out twice", id)
		}
		seen[id] = true
		q := Incoming
		if _, err := os.Stat(s.path(Active, id)); err == nil {
			q = Active
			if m, err := s.Read(q, id); err != nil || m.Status[1].State != Sent {
				t.Errorf("%s: %v, %+v", id, err, m)
			}
		}
		if got := readContent(t, s, q, id); string(got) != body {
			t.Errorf("%s: content %q, want %q", id, got, body)
		}
	}
	if len(seen) != writers*each {
		t.Errorf("%d messages, want %d", len(seen), writers*each)
	}
}

package queue

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/powercuttest"
)

// TestEnqueueSurvivesPowerCut enqueues messages onto an ext4 file
// system without a journal in a loop device, one after another (the
// file and its name flushed at once), from several goroutines at once
// (the file flushed, then linked, the directory flush shared), and into
// spares of removed messages; then cuts the power (review 19b L6). After
// fsck and recovery every acknowledged message is in incoming/, whole;
// a removed one may come back (a removal is made durable later) but
// then whole too, and nothing acknowledged is in corrupt/. Without the
// file's flush every message is lost (110 of 110 when measured); a
// missing directory flush does not show here, as ext4 without a journal
// writes a new entry's directory with the file's fsync: the fault-layer
// tests (store_fault_test.go, store_powerloss_test.go) hold the order.
func TestEnqueueSurvivesPowerCut(t *testing.T) {
	fs := powercuttest.New(t, 128<<20)
	dir := filepath.Join(fs.Dir, "queue")
	s := openStore(t, dir)
	var mu sync.Mutex
	bodies := map[string]string{}
	send := func(tag string) string {
		body := fmt.Sprintf("Subject: %s\r\n\r\n%s\r\n", tag, strings.Repeat(tag+" ", 200))
		id := enqueue(t, s, fullEnvelope(), body)
		mu.Lock()
		bodies[id] = body
		mu.Unlock()
		return id
	}
	var first []string
	for i := range 20 {
		first = append(first, send(fmt.Sprintf("first-%d", i)))
	}
	removed := first[:10]
	for _, id := range removed {
		if err := s.Complete(Incoming, id); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	for i := range 20 { // alone, into the spares first
		send(fmt.Sprintf("alone-%d", i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				send(fmt.Sprintf("company-%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	s.Flush()

	mnt, fsck := fs.Cut()
	log, logged := captureLog()
	s2, err := Open(filepath.Join(mnt, "queue"), Options{Log: log})
	if err != nil {
		t.Fatalf("recovery: %v\nfsck: %s", err, fsck)
	}
	in, _ := s2.List(Incoming)
	present := map[string]bool{}
	for _, id := range in {
		present[id] = true
	}
	gone := map[string]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	lost := 0
	for id, body := range bodies {
		if !present[id] {
			if !gone[id] {
				lost++
				t.Errorf("%s: acknowledged, not in incoming/ after the power cut", id)
			}
			continue
		}
		rc, err := s2.Content(Incoming, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, []byte(body)) {
			t.Errorf("%s: content after the power cut %q (%v), want %q", id, got, err, body)
		}
	}
	if corrupt, _ := s2.List(Corrupt); len(corrupt) > 0 {
		t.Errorf("in corrupt/ after the power cut: %v\n%s", corrupt, logged())
	}
	if t.Failed() {
		t.Logf("%d of %d acknowledged messages lost\nfsck: %s\nlog: %s", lost, len(bodies)-len(removed), fsck, logged())
	}
}

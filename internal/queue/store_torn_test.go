package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeQueueFile returns the bytes Enqueue writes for env and body.
func writeQueueFile(t testing.TB, env *Envelope, body string) (id string, data []byte) {
	t.Helper()
	s := openStore(t, t.TempDir())
	id = enqueue(t, s, env, body)
	data, err := os.ReadFile(s.path(Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	return id, data
}

// Every truncation of a complete file is recognised as corrupt, and a
// damaged content chunk is caught when the content is read.
func TestStoreTruncatedAtEveryOffset(t *testing.T) {
	for _, body := range []string{"", "Subject: x\r\n\r\nbody", strings.Repeat("y", chunkSize+100)} {
		id, data := writeQueueFile(t, fullEnvelope(), body)
		if _, err := parseQueueFile(bytes.NewReader(data), int64(len(data)), id); err != nil {
			t.Fatalf("complete file: %v", err)
		}
		for n := 0; n < len(data); n++ {
			_, err := parseQueueFile(bytes.NewReader(data[:n]), int64(n), id)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d-byte body truncated to %d of %d bytes: %v", len(body), n, len(data), err)
			}
		}
		// The same file under another ID is not that message.
		if _, err := parseQueueFile(bytes.NewReader(data), int64(len(data)), newID(time.Now(), 1)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ID mismatch: %v", err)
		}
	}
}

// Flipping any byte of the header, envelope or end marker makes Read fail;
// flipping a content byte makes Content fail; nothing reads back wrong.
func TestStoreBitFlips(t *testing.T) {
	body := "Subject: x\r\n\r\nsome content\r\n"
	id, data := writeQueueFile(t, fullEnvelope(), body)
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x20
		qf, err := parseQueueFile(bytes.NewReader(bad), int64(len(bad)), id)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip at %d: %v", i, err)
			}
			continue
		}
		if int64(i) < qf.contentOff || int64(i) >= qf.endOff {
			t.Fatalf("flip at %d (content %d..%d) not detected by Read", i, qf.contentOff, qf.endOff)
		}
		got, err := io.ReadAll(newContentReader(bytes.NewReader(bad), qf))
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d in the content: read %q, %v", i, got, err)
		}
	}
}

// captureLog returns a logger and a function returning what it logged.
func captureLog() (*slog.Logger, func() string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)
	return slog.New(h), func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// Recovery at Open: temporary files go, active messages return to
// incoming, torn files (any truncation) go to corrupt with a warning,
// and good messages stay where they are.
func TestStoreRecovery(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	good := enqueue(t, s, fullEnvelope(), "good")
	active := enqueue(t, s, fullEnvelope(), "active")
	held := enqueue(t, s, fullEnvelope(), "held")
	for _, mv := range [][3]string{{active, Incoming, Active}, {held, Incoming, Hold}} {
		if err := s.Move(mv[0], mv[1], mv[2]); err != nil {
			t.Fatal(err)
		}
	}
	torn := newID(time.Now(), 3)
	_, data := writeQueueFile(t, &Envelope{ID: torn, Recipients: []Recipient{{Addr: "t@x"}}}, "torn")
	os.WriteFile(s.path(Deferred, torn), data[:len(data)-1], 0o600)
	os.WriteFile(filepath.Join(dir, tmpDir, newID(time.Now(), 4)), data[:20], 0o600)
	os.WriteFile(filepath.Join(dir, Hold, "notes.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, Maildrop, "whatever"), []byte("x"), 0o600)

	log, logged := captureLog()
	s, err := Open(dir, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{Active: nil, Deferred: nil, Hold: {held}, Corrupt: {torn}}
	if active < good {
		want[Incoming] = []string{active, good}
	} else {
		want[Incoming] = []string{good, active}
	}
	for q, ids := range want {
		got, err := s.List(q)
		if err != nil || strings.Join(got, " ") != strings.Join(ids, " ") {
			t.Errorf("%s: %v, %v; want %v", q, got, err, ids)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(entries) != 0 {
		t.Errorf("tmp not emptied: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, Maildrop, "whatever")); err != nil {
		t.Errorf("recovery touched maildrop: %v", err)
	}
	if out := logged(); !strings.Contains(out, "corrupt queue file deferred/"+torn) || !strings.Contains(out, "notes.txt") {
		t.Errorf("log:\n%s", out)
	}
	if got := readContent(t, s, Incoming, active); string(got) != "active" {
		t.Errorf("requeued content %q", got)
	}
}

// Recovery moves a file truncated to any length to corrupt (every length
// of a small file), and Open never fails because of one.
func TestStoreRecoveryEveryTruncation(t *testing.T) {
	id, data := writeQueueFile(t, fullEnvelope(), "Subject: x\r\n\r\nbody\r\n")
	dir := t.TempDir()
	s := openStore(t, dir)
	for n := 0; n < len(data); n++ {
		if err := os.WriteFile(s.path(Active, id), data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("truncated to %d: Open: %v", n, err)
		}
		if ids, _ := s2.List(Corrupt); len(ids) != 1 {
			t.Fatalf("truncated to %d: corrupt holds %v", n, ids)
		}
		if ids, _ := s2.List(Incoming); len(ids) != 0 {
			t.Fatalf("truncated to %d: incoming holds %v", n, ids)
		}
		os.Remove(s.path(Corrupt, id))
	}
}

// A crash while recording the third of three deliveries leaves the first
// two recorded, whatever part of the third reached the disk; the next
// update cuts the torn bytes off so later records are not hidden.
func TestStoreTornUpdateIsIgnored(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	id := enqueue(t, s, fullEnvelope(), "x")
	path := s.path(Incoming, id)
	sent := RcptStatus{State: Sent, Notified: true, Action: "delivered", At: time.Unix(1e9, 0)}
	for i := range 2 {
		if err := s.Update(Incoming, id, map[int]RcptStatus{i: sent}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(path)
	third := statusRecords(nil, map[int]RcptStatus{2: sent}, 3)
	for n := 0; n < len(third); n++ {
		os.WriteFile(path, append(bytes.Clone(before), third[:n]...), 0o600)
		m, err := openStore(t, dir).Read(Incoming, id)
		if err != nil {
			t.Fatalf("torn at %d: %v", n, err)
		}
		if m.Status[0] != sent || m.Status[1] != sent || m.Status[2].State != Pending {
			t.Fatalf("torn at %d: %+v", n, m.Status)
		}
	}
	// Garbage after the torn record, then a real update: the update wins.
	os.WriteFile(path, append(append(bytes.Clone(before), third[:7]...), "junk"...), 0o600)
	if err := s.Update(Incoming, id, map[int]RcptStatus{2: {State: Bounced, At: time.Unix(1e9, 0)}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Read(Incoming, id)
	if err != nil || m.Status[2].State != Bounced || m.Status[0] != sent {
		t.Fatalf("after repair: %v %+v", err, m)
	}
}

// Many updates do not grow the file without bound: it is compacted, and
// the state and content survive.
func TestStoreCompaction(t *testing.T) {
	s := openStore(t, t.TempDir())
	env := fullEnvelope()
	body := strings.Repeat("z", 3000)
	id := enqueue(t, s, env, body)
	st, _ := os.Stat(s.path(Incoming, id))
	fresh := st.Size()
	long := strings.Repeat("connection refused ", 20)
	for i := range 1000 {
		err := s.Update(Incoming, id, map[int]RcptStatus{i % 3: {Action: "delayed", Reason: long, At: time.Unix(int64(i), 0)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Defer(id, Incoming, time.Unix(5000, 0)); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(s.path(Deferred, id))
	if st.Size() > fresh+2*compactAfter {
		t.Errorf("file grew from %d to %d bytes", fresh, st.Size())
	}
	m, err := s.Read(Deferred, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range m.Status {
		if r.Reason != long || r.At.Unix() != int64(999-(999-i)%3) {
			t.Errorf("rcpt %d: %+v", i, r)
		}
	}
	if !m.NextAttempt.Equal(time.Unix(5000, 0)) {
		t.Errorf("next attempt %v", m.NextAttempt)
	}
	if got := readContent(t, s, Deferred, id); string(got) != body {
		t.Error("content changed")
	}
	if entries, _ := os.ReadDir(filepath.Join(s.dir, tmpDir)); len(entries) != 0 {
		t.Errorf("tmp: %v", entries)
	}
}

// A message with thousands of recipients: one update of all of them (far
// more than one record may hold) and the compacted snapshot read back;
// an envelope field too long for a record is refused at Enqueue.
func TestStoreManyRecipients(t *testing.T) {
	s := openStore(t, t.TempDir())
	env := &Envelope{}
	all := map[int]RcptStatus{}
	reason := strings.Repeat("r", maxStatusText+10)
	for i := range 3000 {
		env.Recipients = append(env.Recipients, Recipient{Addr: fmt.Sprintf("user%d@example.test", i)})
		all[i] = RcptStatus{State: Sent, Reason: reason, At: time.Unix(int64(i), 0)}
	}
	id := enqueue(t, s, env, "x")
	for range 2 { // the second update triggers compaction
		if err := s.Update(Incoming, id, all); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Read(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range m.Status {
		if st.State != Sent || st.Reason != reason[:maxStatusText] || st.At.Unix() != int64(i) {
			t.Fatalf("rcpt %d: %v %d-byte reason %v", i, st.State, len(st.Reason), st.At)
		}
	}
	huge := &Envelope{Helo: strings.Repeat("h", maxRecord), Recipients: []Recipient{{Addr: "a@b"}}}
	if _, err := s.Enqueue(context.Background(), huge, strings.NewReader("x")); err == nil {
		t.Error("an envelope field of 1 MiB was accepted")
	}
}

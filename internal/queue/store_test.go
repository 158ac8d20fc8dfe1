package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fullEnvelope sets every field of Envelope, with DSN options and bytes
// a text format would trip over.
func fullEnvelope() *Envelope {
	return &Envelope{
		Sender: "sénder+x@example.test",
		Recipients: []Recipient{
			{Addr: "a@example.test", Notify: "SUCCESS,FAILURE,DELAY", ORcpt: "rfc822;A@Example.test"},
			{Addr: "b@example.test", Notify: "NEVER", Orig: "b"},
			{Addr: "c\x00\n@example.test", ORcpt: "utf-8;ç@example.test"},
		},
		ClientAddr: "2001:db8::1",
		ClientName: "client.example.net",
		Helo:       "[192.0.2.1]",
		Protocol:   "ESMTP",
		EightBit:   true,
		SMTPUTF8:   true,
		Ret:        "HDRS",
		EnvID:      "envid+2B123",
		Arrival:    time.Date(2026, 11, 24, 16, 22, 31, 123456789, time.UTC),
	}
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.freeSpace = func() (int64, error) { return 1 << 40, nil }
	return s
}

func enqueue(t testing.TB, s *Store, env *Envelope, body string) string {
	t.Helper()
	id, err := s.Enqueue(context.Background(), env, strings.NewReader(body))
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return id
}

func readContent(t testing.TB, s *Store, queue, id string) []byte {
	t.Helper()
	rc, err := s.Content(queue, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading content: %v", err)
	}
	return b
}

// sameEnvelope compares envelopes, times by instant.
func sameEnvelope(a, b Envelope) bool {
	if !a.Arrival.Equal(b.Arrival) {
		return false
	}
	a.Arrival, b.Arrival = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestStoreRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"no final newline", "Subject: x\r\n\r\nno newline at the end"},
		{"crlf", "Subject: x\r\n\r\nbody\r\n"},
		{"binary", "\x00\xff\r\r\n.\r\n\x80"},
		{"two chunks", strings.Repeat("0123456789abcdef", chunkSize/16+3)},
		{"exactly one chunk", strings.Repeat("x", chunkSize)},
	}
	s := openStore(t, t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fullEnvelope()
			id := enqueue(t, s, env, tt.body)
			if !ValidID(id) || env.ID != "" {
				t.Fatalf("ID %q, caller's envelope ID %q", id, env.ID)
			}
			m, err := s.Read(Incoming, id)
			if err != nil {
				t.Fatal(err)
			}
			want := *env
			want.ID = id
			if !sameEnvelope(m.Envelope, want) {
				t.Errorf("envelope\n got %+v\nwant %+v", m.Envelope, want)
			}
			if m.ID != id || m.Queue != Incoming || m.Size != int64(len(tt.body)) || !m.NextAttempt.IsZero() || m.DelayWarned {
				t.Errorf("message %+v", m)
			}
			if len(m.Status) != 3 || m.Status[0] != (RcptStatus{}) {
				t.Errorf("fresh status %+v", m.Status)
			}
			if got := readContent(t, s, Incoming, id); string(got) != tt.body {
				t.Errorf("content %d bytes, want %d", len(got), len(tt.body))
			}
		})
	}
}

// Enqueue keeps a given ID, refuses a malformed or used one, and sets
// the arrival time when the envelope has none.
func TestStoreEnqueueIDs(t *testing.T) {
	// Ahead of the process-wide clock that IDs come from, which never
	// goes back (other tests, or an earlier -count run, moved it on).
	now := time.Now()
	idClock.Lock()
	if last := time.UnixMicro(idClock.last); last.After(now) {
		now = last
	}
	idClock.Unlock()
	now = now.Add(time.Minute).Truncate(time.Second)
	s, err := Open(t.TempDir(), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	given := newID(now, 77)
	env := &Envelope{ID: given, Recipients: []Recipient{{Addr: "x@y"}}}
	if id := enqueue(t, s, env, "a"); id != given {
		t.Fatalf("got ID %s, want %s", id, given)
	}
	if err := s.Move(given, Incoming, Hold); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{given, "../../../etc/passwd", "x"} {
		env := &Envelope{ID: id, Recipients: []Recipient{{Addr: "x@y"}}}
		if _, err := s.Enqueue(context.Background(), env, strings.NewReader("b")); err == nil {
			t.Errorf("Enqueue with ID %q succeeded", id)
		}
	}
	if _, err := s.Enqueue(context.Background(), &Envelope{}, strings.NewReader("b")); err == nil {
		t.Error("Enqueue without recipients succeeded")
	}
	id := enqueue(t, s, &Envelope{Recipients: []Recipient{{Addr: "x@y"}}}, "")
	m, err := s.Read(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Envelope.Arrival.Equal(now) {
		t.Errorf("arrival %v, want %v", m.Envelope.Arrival, now)
	}
	if got, _ := IDTime(id); got.Unix() != now.Unix() {
		t.Errorf("ID time %v, want %v (Options.Now)", got, now)
	}
	if got := readContent(t, s, Hold, given); string(got) != "a" {
		t.Errorf("the first message was overwritten: %q", got)
	}
}

// A 12 MB message is streamed: Enqueue allocates far less than its size.
func TestStoreLargeMessageStreams(t *testing.T) {
	s := openStore(t, t.TempDir())
	const size = 12 << 20
	src := io.LimitReader(rand.NewChaCha8([32]byte{1}), size)
	hash := sha256.New()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	id, err := s.Enqueue(context.Background(), fullEnvelope(), io.TeeReader(src, hash))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("Enqueue of %d bytes allocated %d bytes: not streaming", size, alloc)
	}
	m, err := s.Read(Incoming, id)
	if err != nil || m.Size != size {
		t.Fatalf("Read: %v, size %d", err, m.Size)
	}
	rc, err := s.Content(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	if n, err := io.Copy(got, rc); err != nil || n != size {
		t.Fatalf("content: %d bytes, %v", n, err)
	}
	if !bytes.Equal(got.Sum(nil), hash.Sum(nil)) {
		t.Error("content differs")
	}
}

// A body error or a cancelled context queues nothing.
func TestStoreEnqueueAbort(t *testing.T) {
	s := openStore(t, t.TempDir())
	errBody := errors.New("client went away")
	body := io.MultiReader(strings.NewReader("partial"), iotestErrReader{errBody})
	if _, err := s.Enqueue(context.Background(), fullEnvelope(), body); !errors.Is(err, errBody) {
		t.Errorf("body error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Enqueue(ctx, fullEnvelope(), strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	assertEmpty(t, s)
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// assertEmpty checks that no message and no temporary file is visible.
func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	for _, d := range append(queueDirs, tmpDir) {
		entries, err := os.ReadDir(filepath.Join(s.dir, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("left behind: %s/%s", d, e.Name())
		}
	}
}

// The queue manager's side: state updates, delay warnings, deferral,
// moves and removal, all surviving a reopen.
func TestStoreManagerLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	id := enqueue(t, s, fullEnvelope(), "hello\r\n")
	if err := s.Move(id, Incoming, Active); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 17, 0, 0, 5, time.UTC)
	sent := RcptStatus{State: Sent, Notified: true, Action: "relayed", DSN: "2.0.0", Reason: "250 2.0.0 Ok",
		RemoteMTA: "dns; mx.example.net", At: at}
	delayed := RcptStatus{Action: "delayed", DSN: "4.4.1", Reason: "connection refused",
		Diagnostic: "X-Postern; connection refused", At: at}
	if err := s.Update(Active, id, map[int]RcptStatus{0: sent}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(Active, id, map[int]RcptStatus{1: sent, 2: delayed}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDelayWarned(Active, id); err != nil {
		t.Fatal(err)
	}
	next := at.Add(5 * time.Minute)
	if err := s.Defer(id, Active, next); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[int]RcptStatus{{3: sent}, {-1: sent}, {0: {State: 9}}} {
		if err := s.Update(Deferred, id, bad); err == nil {
			t.Errorf("Update(%v) succeeded", bad)
		}
	}
	s = openStore(t, dir) // as after a restart
	if ids, _ := s.List(Deferred); len(ids) != 1 || ids[0] != id {
		t.Fatalf("deferred queue %v", ids)
	}
	m, err := s.Read(Deferred, id)
	if err != nil {
		t.Fatal(err)
	}
	if !m.NextAttempt.Equal(next) || !m.DelayWarned {
		t.Errorf("next attempt %v, delay warned %v", m.NextAttempt, m.DelayWarned)
	}
	for i, want := range []RcptStatus{sent, sent, delayed} {
		got := m.Status[i]
		if !got.At.Equal(want.At) {
			t.Errorf("rcpt %d: At %v, want %v", i, got.At, want.At)
		}
		got.At = want.At
		if got != want {
			t.Errorf("rcpt %d: %+v, want %+v", i, got, want)
		}
	}
	if got := readContent(t, s, Deferred, id); string(got) != "hello\r\n" {
		t.Errorf("content %q", got)
	}
	if err := s.Move(id, Hold, Active); !errors.Is(err, ErrNotFound) {
		t.Errorf("Move from the wrong queue: %v", err)
	}
	if err := s.Remove(Deferred, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(Deferred, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read after Remove: %v", err)
	}
	if err := s.Remove(Deferred, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	assertEmpty(t, s)
}

// Queue names and IDs from outside never leave the queue directory.
func TestStoreRefusesPaths(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "x")
	if _, err := s.List("../incoming"); err == nil {
		t.Error("List of a path succeeded")
	}
	if _, err := s.List(tmpDir); err == nil {
		t.Error("List of tmp succeeded")
	}
	for _, c := range [][2]string{{"..", id}, {Incoming, "../incoming/" + id}, {"tmp", id}} {
		if _, err := s.Read(c[0], c[1]); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Read(%q, %q): %v", c[0], c[1], err)
		}
		if err := s.Move(c[1], c[0], Hold); err == nil {
			t.Errorf("Move(%q, %q): no error", c[1], c[0])
		}
		if err := s.Remove(c[0], c[1]); err == nil {
			t.Errorf("Remove(%q, %q): no error", c[0], c[1])
		}
	}
	if err := s.Move(id, Incoming, "../x"); err == nil {
		t.Error("Move to a path succeeded")
	}
	os.WriteFile(filepath.Join(s.dir, Incoming, "README"), nil, 0o600)
	if ids, err := s.List(Incoming); err != nil || len(ids) != 1 || ids[0] != id {
		t.Errorf("List: %v, %v", ids, err)
	}
}

// Move never replaces a message.
func TestStoreMoveRefusesToReplace(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "first")
	if err := s.Move(id, Incoming, Hold); err != nil {
		t.Fatal(err)
	}
	// A second file with the same ID appears in incoming (by hand).
	data, _ := os.ReadFile(s.path(Hold, id))
	os.WriteFile(s.path(Incoming, id), data, 0o600)
	if err := s.Move(id, Incoming, Hold); !errors.Is(err, ErrExists) {
		t.Errorf("Move onto an existing message: %v", err)
	}
}

// ReadWithContent gives a small message's content with its envelope,
// checked like Content's; a larger one's content is left to Content.
func TestStoreReadWithContent(t *testing.T) {
	s := openStore(t, t.TempDir())
	body := "Subject: inline\r\n\r\n" + strings.Repeat("body line\r\n", 50)
	id := enqueue(t, s, &Envelope{Sender: "s@x", Recipients: []Recipient{{Addr: "r@y"}}}, body)
	m, content, err := s.ReadWithContent(Incoming, id, 64<<10)
	if err != nil || string(content) != body || m.Envelope.Sender != "s@x" || m.Size != int64(len(body)) {
		t.Fatalf("small: %+v %q %v", m, content, err)
	}
	m, content, err = s.ReadWithContent(Incoming, id, 100)
	if err != nil || content != nil || len(m.Envelope.Recipients) != 1 {
		t.Fatalf("over the limit: %+v %q %v", m, content, err)
	}
	path := filepath.Join(s.Dir(), Incoming, id)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("body line"))
	data[i] = 'B' // damaged content
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadWithContent(Incoming, id, 64<<10); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged content: %v, want ErrCorrupt", err)
	}
}

// Version changes when the file is written, and only then.
func TestStoreVersion(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "x")
	v1, err := s.Version(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Version(Incoming, id); v != v1 {
		t.Errorf("unchanged file: %v then %v", v1, v)
	}
	if err := s.Defer(id, Incoming, time.Unix(9, 0)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Version(Deferred, id); err != nil || v == v1 {
		t.Errorf("after Defer: %v %v, was %v", v, err, v1)
	}
	if _, err := s.Version(Incoming, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("moved file: %v", err)
	}
}

// A message enqueued with Envelope.Hold goes straight to hold, never
// through incoming, and is released as any held message.
func TestStoreEnqueueHold(t *testing.T) {
	s := openStore(t, t.TempDir())
	env := fullEnvelope()
	env.Hold = true
	id := enqueue(t, s, env, "Subject: held\r\n\r\nx\r\n")
	if ids, _ := s.List(Incoming); len(ids) != 0 {
		t.Errorf("incoming holds %v", ids)
	}
	m, err := s.Read(Hold, id)
	if err != nil {
		t.Fatal(err)
	}
	env.Hold = false // not in the file: the directory says it
	env.ID = id
	if !sameEnvelope(m.Envelope, *env) {
		t.Errorf("envelope %+v, want %+v", m.Envelope, *env)
	}
	if got := readContent(t, s, Hold, id); string(got) != "Subject: held\r\n\r\nx\r\n" {
		t.Errorf("content %q", got)
	}
	if err := s.Defer(id, Hold, time.Now()); err != nil { // postsuper -H
		t.Fatal(err)
	}
	if _, err := s.Read(Deferred, id); err != nil {
		t.Error(err)
	}
}

package queue

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// Run with: go test -run=^$ -fuzz=^FuzzReadQueueFile$ -fuzztime=60s
// Inputs worth keeping live in testdata/fuzz/FuzzReadQueueFile.

// memFile is an in-memory fileWriter.
type memFile struct{ b []byte }

func (m *memFile) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	return copy(m.b[off:], p), nil
}

func encodeMem(t testing.TB, env *Envelope, body string) []byte {
	var m memFile
	if _, err := encodeQueueFile(context.Background(), &m, env, strings.NewReader(body), make([]byte, chunkSize)); err != nil {
		t.Fatal(err)
	}
	return m.b
}

// FuzzReadQueueFile: arbitrary bytes never make the parser or the
// content reader panic, hang or allocate without bound; whatever parses
// is consistent, and writing it again gives back the same message.
//
// Checksums stop random bytes at the first record, so the input is also
// used as records the fuzz function frames itself ("type, length byte,
// payload" with correct checksums and a V record pointing at the first
// E), which reaches the envelope, end marker and state decoders.
func FuzzReadQueueFile(f *testing.F) {
	id := newID(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), 1)
	env := fullEnvelope()
	env.ID = id
	full := encodeMem(f, env, "Subject: x\r\n\r\nbody\r\n")
	full = statusRecords(full, map[int]RcptStatus{1: {State: Sent, Notified: true, Reason: "ok", At: time.Unix(7, 8)}}, 3)
	full = appendRecord(full, recWarned, nil)
	f.Add(full)
	f.Add(encodeMem(f, &Envelope{ID: id, Recipients: []Recipient{{Addr: "a"}}}, ""))
	f.Add(unframeRecords(f, full))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		checkParse(t, frameRecords(data))
	})
}

// frameRecords turns "type, length byte, payload" triples into a queue
// file with valid checksums.
func frameRecords(data []byte) []byte {
	var recs [][]byte
	endOff := -1
	off := headerEnd
	for len(data) >= 2 {
		typ, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		rec := appendRecord(nil, typ, data[:n])
		data = data[n:]
		if typ == recEnd && endOff < 0 {
			endOff = off
		}
		recs = append(recs, rec)
		off += len(rec)
	}
	out := append([]byte(fileMagic), headerRecord(int64(max(endOff, 0)))...)
	return append(out, bytes.Join(recs, nil)...)
}

// unframeRecords is the inverse of frameRecords, for seeds.
func unframeRecords(t testing.TB, file []byte) []byte {
	r := bufio.NewReader(bytes.NewReader(file[headerEnd:]))
	var out []byte
	for {
		typ, p, _, err := readRecord(r, int64(len(file)), nil)
		if err == io.EOF {
			return out
		}
		if err != nil || len(p) > 255 {
			t.Fatalf("cannot unframe: %v", err)
		}
		out = append(append(out, typ, byte(len(p))), p...)
	}
}

func checkParse(t *testing.T, data []byte) {
	qf, err := parseQueueFile(bytes.NewReader(data), int64(len(data)), "")
	if err != nil {
		return
	}
	n := len(qf.env.Recipients)
	if n == 0 || len(qf.status) != n || !ValidID(qf.env.ID) {
		t.Fatalf("parsed %d recipients, %d states, ID %q", n, len(qf.status), qf.env.ID)
	}
	if !(int64(headerEnd) <= qf.contentOff && qf.contentOff <= qf.endOff && qf.endOff < qf.tailOff &&
		qf.tailOff <= qf.validEnd && qf.validEnd <= qf.fileSize) {
		t.Fatalf("offsets %+v", qf)
	}
	content, err := io.ReadAll(newContentReader(bytes.NewReader(data), qf))
	if int64(len(content)) > qf.size || (err == nil && int64(len(content)) != qf.size) {
		t.Fatalf("content %d bytes (%v), end marker says %d", len(content), err, qf.size)
	}
	if err != nil {
		return
	}
	// Written again, with the parsed state as one snapshot, it reads the same.
	again := encodeMem(t, &qf.env, string(content))
	all := map[int]RcptStatus{}
	for i, st := range qf.status {
		all[i] = st
	}
	again = statusRecords(again, all, n)
	qf2, err := parseQueueFile(bytes.NewReader(again), int64(len(again)), qf.env.ID)
	if err != nil {
		t.Fatalf("re-encoded file: %v", err)
	}
	if !sameEnvelope(qf.env, qf2.env) || qf2.size != qf.size {
		t.Fatalf("round trip:\n%+v\n%+v", qf.env, qf2.env)
	}
	for i := range qf.status {
		a, b := qf.status[i], qf2.status[i]
		if max(len(a.Action), len(a.DSN), len(a.Reason), len(a.Diagnostic), len(a.RemoteMTA)) > maxStatusText {
			continue // cut when written again
		}
		if !a.At.Equal(b.At) {
			t.Fatalf("rcpt %d: At %v then %v", i, a.At, b.At)
		}
		a.At, b.At = time.Time{}, time.Time{}
		if a != b {
			t.Fatalf("rcpt %d: %+v then %+v", i, a, b)
		}
	}
}

// The seeds parse, framed and unframed: the fuzzer starts from valid
// files.
func TestFuzzSeedsParse(t *testing.T) {
	id := newID(time.Now(), 1)
	env := fullEnvelope()
	env.ID = id
	full := encodeMem(t, env, "x")
	full = statusRecords(full, map[int]RcptStatus{2: {State: Bounced}}, 3)
	framed := frameRecords(unframeRecords(t, full))
	for _, data := range [][]byte{full, framed} {
		qf, err := parseQueueFile(bytes.NewReader(data), int64(len(data)), id)
		if err != nil || qf.status[2].State != Bounced || qf.validEnd != int64(len(data)) {
			t.Fatalf("%v %+v", err, qf)
		}
	}
}

package smtpd

import (
	"net"
	"os"
	"testing"
	"time"
)

// clockConn is a connection on a virtual clock: every Read delivers the
// next piece the client sends, the clock moving on to when it was sent,
// and fails as a real one would if the read deadline passed first.
type clockConn struct {
	net.Conn
	now      time.Time
	deadline time.Time
	pieces   int
	piece    int
	interval time.Duration
}

func (c *clockConn) Read(p []byte) (int, error) {
	if c.pieces == 0 {
		return 0, os.ErrClosed
	}
	c.now = c.now.Add(c.interval)
	if !c.deadline.IsZero() && c.now.After(c.deadline) {
		c.now = c.deadline
		return 0, os.ErrDeadlineExceeded
	}
	c.pieces--
	return min(c.piece, len(p)), nil
}

// Postfix's smtpd_min_data_rate arithmetic, on a virtual clock: what a
// client sending at a given rate gets through before the deadline.
func TestContentDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		perReq   bool
		piece    int
		interval time.Duration
		total    int  // bytes the client sends
		cut      bool // the deadline ends it
		after    time.Duration
	}{
		// 2 MB at 15 KB/s (136 s) with smtpd_timeout = 300s or 10s.
		{"2MB at 15KB/s", true, 1500, 100 * time.Millisecond, 2 << 20, false, 0},
		// 400 bytes/s: each second spends 1 s and earns 0.8 s, so a
		// 10 s budget lasts 50 s.
		{"400 B/s", true, 40, 100 * time.Millisecond, 1 << 20, true, 50 * time.Second},
		// A pause longer than smtpd_timeout after fast content.
		{"pause", true, 4096, 11 * time.Second, 1 << 20, true, 10 * time.Second},
		// Per read (smtpd_per_request_deadline = no): any rate passes.
		{"400 B/s per read", false, 40, 100 * time.Millisecond, 100 << 10, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			c := &clockConn{now: start, piece: tc.piece, interval: tc.interval, pieces: tc.total / tc.piece}
			r := &connReader{conn: c, timeout: 10 * time.Second, perReq: tc.perReq, rate: 500,
				now: func() time.Time { return c.now }, setReadDL: func(d time.Time) error { c.deadline = d; return nil }}
			r.startContent(0)
			buf := make([]byte, 4096)
			var err error
			for err == nil {
				_, err = r.Read(buf)
			}
			if cut := err == os.ErrDeadlineExceeded; cut != tc.cut {
				t.Fatalf("cut %v after %v and %d bytes, want cut %v", cut, c.now.Sub(start), r.received, tc.cut)
			}
			if elapsed := c.now.Sub(start); tc.cut && (elapsed < tc.after-time.Second || elapsed > tc.after+time.Second) {
				t.Errorf("cut after %v, want about %v", elapsed, tc.after)
			}
		})
	}
}

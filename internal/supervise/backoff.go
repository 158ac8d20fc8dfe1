package supervise

import "time"

// Backoff is the delay between the restarts of a worker that keeps
// exiting: Min after a worker that ran for at least Reset, else twice the
// previous delay, at most Max.
type Backoff struct {
	Min, Max, Reset time.Duration
	next            time.Duration
}

// DefaultBackoff restarts at once (0.1 s) after a worker that ran for
// 10 s, and waits at most 10 s for one that keeps exiting sooner.
func DefaultBackoff() *Backoff {
	return &Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Reset: 10 * time.Second}
}

// Next returns the delay before the next start of a worker that ran for
// ran before it exited.
func (b *Backoff) Next(ran time.Duration) time.Duration {
	if b.next == 0 || ran >= b.Reset {
		b.next = b.Min
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d
}

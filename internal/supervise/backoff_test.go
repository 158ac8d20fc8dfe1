package supervise

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	b := DefaultBackoff()
	for i, c := range []struct {
		ran, want time.Duration
	}{
		{0, 100 * ms}, // the first exit
		{ms, 200 * ms},
		{ms, 400 * ms},
		{ms, 800 * ms},
		{ms, 1600 * ms},
		{ms, 3200 * ms},
		{ms, 6400 * ms},
		{ms, 10 * time.Second}, // capped
		{ms, 10 * time.Second},
		{9 * time.Second, 10 * time.Second}, // not long enough to count as healthy
		{10 * time.Second, 100 * ms},        // ran a while: from the start again
		{2 * time.Hour, 100 * ms},           // and again
		{0, 200 * ms},                       // then doubling again
	} {
		if got := b.Next(c.ran); got != c.want {
			t.Errorf("step %d (ran %v): %v, want %v", i, c.ran, got, c.want)
		}
	}
}

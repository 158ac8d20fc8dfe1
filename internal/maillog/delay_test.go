package maillog

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"}, {-time.Second, "0"}, {4 * time.Millisecond, "0"}, {10 * time.Millisecond, "0.01"},
		{54 * time.Millisecond, "0.05"}, {500 * time.Millisecond, "0.5"}, {time.Second, "1"},
		{1234 * time.Millisecond, "1.2"}, {9990 * time.Millisecond, "9.9"}, {12300 * time.Millisecond, "12"},
		{312 * time.Second, "312"},
	} {
		if got := Delay(c.d); got != c.want {
			t.Errorf("Delay(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

package qmgr

import (
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

func TestFormatDelay(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"}, {-time.Second, "0"}, {4 * time.Millisecond, "0"}, {10 * time.Millisecond, "0.01"},
		{54 * time.Millisecond, "0.05"}, {500 * time.Millisecond, "0.5"}, {time.Second, "1"},
		{1234 * time.Millisecond, "1.2"}, {9990 * time.Millisecond, "9.9"}, {12300 * time.Millisecond, "12"},
		{312 * time.Second, "312"},
	} {
		if got := formatDelay(c.d); got != c.want {
			t.Errorf("formatDelay(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestToField(t *testing.T) {
	for _, c := range []struct {
		r    queue.Recipient
		want string
	}{
		{queue.Recipient{Addr: "known@mx.example.test"}, "to=<known@mx.example.test>"},
		{queue.Recipient{Addr: "known@mx.example.test", Orig: "known"}, "to=<known@mx.example.test>, orig_to=<known>"},
		{queue.Recipient{Addr: "Known@MX.example.test", Orig: "known@mx.example.test"}, "to=<Known@MX.example.test>"},
	} {
		if got := toField(c.r); got != c.want {
			t.Errorf("toField(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}

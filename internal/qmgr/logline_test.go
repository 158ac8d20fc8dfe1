package qmgr

import (
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

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

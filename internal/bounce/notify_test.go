package bounce

import (
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

func TestWanted(t *testing.T) {
	tests := []struct {
		notify                  string
		failure, delay, success bool
	}{
		{"", true, true, false}, // RFC 3461 default as Postfix applies it
		{"NEVER", false, false, false},
		{"never", false, false, false},
		{"SUCCESS", false, false, true},
		{"FAILURE", true, false, false},
		{"DELAY", false, true, false},
		{"SUCCESS,FAILURE", true, false, true},
		{"FAILURE,DELAY", true, true, false},
		{"success, failure ,delay", true, true, true},
		{"NEVER,SUCCESS", false, false, false}, // invalid; NEVER wins
		{"BOGUS", false, false, false},
		{" ", true, true, false},
	}
	for _, tc := range tests {
		env := &queue.Envelope{Sender: "alice@example.test", Recipients: []queue.Recipient{{Addr: "bob@example.net", Notify: tc.notify}}}
		for kind, want := range map[Kind]bool{Failure: tc.failure, Delay: tc.delay, Success: tc.success} {
			if got := Wanted(kind, env, 0, "mx.example.test"); got != want {
				t.Errorf("NOTIFY=%q: Wanted(%v) = %v, want %v", tc.notify, kind, got, want)
			}
		}
	}
}

func TestWantedEdges(t *testing.T) {
	env := &queue.Envelope{Sender: "alice@example.test", Recipients: []queue.Recipient{{Addr: "bob@example.net"}}}
	tests := []struct {
		name string
		env  *queue.Envelope
		rcpt int
		host string
		want bool
	}{
		{"ok", env, 0, "mx.example.test", true},
		{"nil envelope", nil, 0, "mx.example.test", false},
		{"index below", env, -1, "mx.example.test", false},
		{"index above", env, 1, "mx.example.test", false},
		{"null sender", &queue.Envelope{Recipients: env.Recipients}, 0, "mx.example.test", false},
		{"double-bounce sender", &queue.Envelope{Sender: "double-bounce@mx.example.test", Recipients: env.Recipients}, 0, "mx.example.test", false},
		{"double-bounce of another host", &queue.Envelope{Sender: "double-bounce@other.example", Recipients: env.Recipients}, 0, "mx.example.test", true},
		{"unknown kind", env, 0, "mx.example.test", false},
	}
	for _, tc := range tests {
		kind := Failure
		if tc.name == "unknown kind" {
			kind = Kind(9)
		}
		if got := Wanted(kind, tc.env, tc.rcpt, tc.host); got != tc.want {
			t.Errorf("%s: Wanted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Failure: "FAILURE", Delay: "DELAY", Success: "SUCCESS", 0: "Kind(0)", 7: "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

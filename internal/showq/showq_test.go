package showq

import (
	"slices"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

func TestRecipients(t *testing.T) {
	at := func(s int) time.Time { return arrivedAt.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name   string
		rcpts  []queue.Recipient
		status []queue.RcptStatus
		want   []rcpt
	}{
		{"no status yet: all pending",
			[]queue.Recipient{{Addr: "a@x"}, {Addr: "b@x"}}, nil,
			[]rcpt{{"a@x", ""}, {"b@x", ""}}},
		{"fewer statuses than recipients",
			[]queue.Recipient{{Addr: "a@x"}, {Addr: "b@x"}},
			[]queue.RcptStatus{{State: queue.Sent, Notified: true}},
			[]rcpt{{"b@x", ""}}},
		{"sent, bounced and expanded are hidden, DSN due or not",
			[]queue.Recipient{{Addr: "a@x"}, {Addr: "b@x"}, {Addr: "c@x"}, {Addr: "d@x"}, {Addr: "e@x"}},
			[]queue.RcptStatus{
				{State: queue.Sent, Action: "delivered"},
				{State: queue.Sent, Notified: true, Action: "expanded"},
				{State: queue.Bounced, Action: "failed", Reason: "unknown user"},
				{State: queue.Bounced, Notified: true, Action: "failed", Reason: "unknown user"},
				{State: queue.Pending, Action: "delayed", Reason: "busy"},
			},
			[]rcpt{{"e@x", "busy"}}},
		{"deferred first, in deferral order; then the rest in envelope order",
			[]queue.Recipient{{Addr: "a@x"}, {Addr: "b@x"}, {Addr: "c@x"}, {Addr: "d@x"}, {Addr: "e@x"}},
			[]queue.RcptStatus{
				{State: queue.Pending},
				{State: queue.Pending, Action: "delayed", Reason: "later", At: at(2)},
				{State: queue.Pending, Action: "delayed", Reason: "first", At: at(1)},
				{State: queue.Pending, Action: "delayed", Reason: "", At: at(0)}, // no reason: with the rest
				{State: queue.Pending, Action: "delayed", Reason: "later too", At: at(2)},
			},
			[]rcpt{{"c@x", "first"}, {"b@x", "later"}, {"e@x", "later too"}, {"a@x", ""}, {"d@x", ""}}},
		{"a reason without the delayed action is not a deferral",
			[]queue.Recipient{{Addr: "a@x"}},
			[]queue.RcptStatus{{State: queue.Pending, Action: "relayed", Reason: "stale"}},
			[]rcpt{{"a@x", ""}}},
		{"empty address and unprintable text",
			[]queue.Recipient{{Addr: ""}, {Addr: "t\tab@x"}},
			[]queue.RcptStatus{{}, {State: queue.Pending, Action: "delayed", Reason: "line\r\nbreak"}},
			[]rcpt{{"t?ab@x", "line??break"}, {"MAILER-DAEMON", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &queue.Message{Envelope: queue.Envelope{Recipients: tt.rcpts}, Status: tt.status}
			if got := recipients(m); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user@example.net", "user@example.net"},
		{"zoë@example.net", "zoë@example.net"},
		{"中国@example.net", "中国@example.net"},
		{"a\x1b[31mred", "a?[31mred"},
		{"bell\a, del\x7f, nul\x00", "bell?, del?, nul?"},
		{"csi\u009b2J", "csi?2J"}, // C1 control: postern only (Postfix passes it)
		{"na\xc3ve", "na?ve"},     // a lone leader byte, resynchronised
		{"\xff\xfe", "??"},
		{"\xed\xa0\x80", "???"},          // a surrogate is malformed UTF-8
		{"\xef\xbf\xbd", "\xef\xbf\xbd"}, // U+FFFD itself is valid
		{"", ""},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestArrival(t *testing.T) {
	id := "4jYww771THz1SNrx" // Postfix's arrival_time for it was 1795555847
	tests := []struct {
		name    string
		id      string
		arrival time.Time
		want    int64
	}{
		{"envelope time", id, arrivedAt, arrivedAt.Unix()},
		{"from the queue ID", id, time.Time{}, 1795555847},
		{"neither", "not-an-id", time.Time{}, 0},
	}
	for _, tt := range tests {
		m := &queue.Message{ID: tt.id, Envelope: queue.Envelope{Arrival: tt.arrival}}
		if got := newEntry(m).arrival.Unix(); got != tt.want {
			t.Errorf("%s: arrival %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestEntryID(t *testing.T) {
	m := &queue.Message{Envelope: queue.Envelope{ID: testID}}
	if got := newEntry(m).id; got != testID {
		t.Errorf("id %q, want the envelope's %q when Message.ID is empty", got, testID)
	}
}

func TestSort(t *testing.T) {
	msg := func(q, id string) *queue.Message { return &queue.Message{ID: id, Queue: q} }
	msgs := []*queue.Message{
		msg(queue.Hold, "B"), nil, msg(queue.Corrupt, "A"), msg(queue.Deferred, "C"),
		msg(queue.Incoming, "A"), msg(queue.Deferred, "A"), msg(queue.Active, "Z"), msg(queue.Maildrop, "Y"),
	}
	Sort(msgs)
	var got []string
	for _, m := range msgs {
		if m == nil {
			got = append(got, "nil")
			continue
		}
		got = append(got, m.Queue+"/"+m.ID)
	}
	want := []string{"maildrop/Y", "active/Z", "incoming/A", "deferred/A", "deferred/C", "hold/B", "corrupt/A", "nil"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

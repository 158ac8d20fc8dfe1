package sendlimit

import (
	"context"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

func localMessage(uid int, sender string, rcpts int) *cleanup.Message {
	env := &queue.Envelope{ID: "ID", Sender: sender}
	for i := 0; i < rcpts; i++ {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: "r@example.net"})
	}
	return &cleanup.Message{Env: env, Origin: cleanup.Origin{Local: true, UID: uid}}
}

// pickup counts a message and its recipients at once: a message held
// on the message limit leaves the recipient budget as it was (review
// 16, 8), and one held on the recipient limit the message budget.
func TestStageAllOrNothing(t *testing.T) {
	l := &Limiter{Spec: "test:t", Tables: []Table{mapTable{"uid:33": "2/1h, 4rcpt/1h"}}, Counter: &Counter{}}
	s := &Stage{L: l}
	for i, tc := range []struct {
		rcpts int
		hold  bool
	}{
		{1, false},
		{4, true}, // 5 recipients: held, the message not counted
		{1, false},
		{1, true}, // third message: held, its recipient not counted
	} {
		v := s.Apply(context.Background(), localMessage(33, "app@example.com", tc.rcpts))
		if (v.Action == cleanup.Hold) != tc.hold {
			t.Fatalf("message %d: %+v, want hold %v", i, v, tc.hold)
		}
	}
	if v, err := l.Recipients(2, "uid:33"); err != nil || v.Over {
		t.Fatalf("the held messages' recipients were counted: %+v %v", v, err)
	}
}

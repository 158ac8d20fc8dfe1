package showq

import (
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// arrivedAt is a Wednesday with a one-digit day, which asctime pads.
var arrivedAt = time.Date(2026, 11, 4, 9, 5, 7, 0, time.UTC)

const testID = "4jYww771THz1SNrx" // a Postfix long queue ID (16 characters)

// rc is a recipient and its status for newMsg.
type rc struct {
	addr string
	st   queue.RcptStatus
}

func pending(addr string) rc { return rc{addr: addr} }

func delayed(addr, reason string) rc {
	return rc{addr, queue.RcptStatus{State: queue.Pending, Action: "delayed", Reason: reason, At: arrivedAt}}
}

func newMsg(q, sender string, size int64, rcpts ...rc) *queue.Message {
	m := &queue.Message{ID: testID, Queue: q, Size: size,
		Envelope: queue.Envelope{ID: testID, Sender: sender, Arrival: arrivedAt}}
	for _, r := range rcpts {
		m.Envelope.Recipients = append(m.Envelope.Recipients, queue.Recipient{Addr: r.addr})
		m.Status = append(m.Status, r.st)
	}
	return m
}

func sp(n int) string { return strings.Repeat(" ", n) }

// Column prefixes of the long layout.
var (
	longHeading = "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n"
	longIndent  = sp(47)
)

// reasonLine is a "(reason)" line with the given number of leading spaces.
func reasonLine(pad int, reason string) string { return sp(pad) + "(" + reason + ")\n" }

// failWriter fails every write.
type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

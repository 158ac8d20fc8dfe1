package master

import "time"

// busyGate is smtpd.Busy over a gate: it caps the sessions that are not
// waiting for their client's next command, whose descriptors beyond the
// connection the budget counts (fdbudget.go). A session waits for room
// however long it takes: busy sessions finish their command (or their
// client's timeout ends them), and a stop closes their connections.
type busyGate struct{ g *gate }

func (b busyGate) Begin() {
	if b.g != nil {
		b.g.enter(time.Now, func() bool { return false })
	}
}

func (b busyGate) End() {
	if b.g != nil {
		b.g.leave()
	}
}

package master

import "time"

// busyGate is smtpd.Busy over a gate: it caps the sessions that are not
// waiting for their client's next command, whose descriptors beyond the
// connection the budget counts (fdbudget.go). A session waits for room
// until its deadline (smtpd_timeout): busy sessions finish their
// command, or their client's timeout ends them, and a stop closes their
// connections; one that gets none ends (421, smtpd's tooBusy), so that
// clients holding every slot stall others' commands for a timeout at
// most.
type busyGate struct{ g *gate }

func (b busyGate) Begin(deadline time.Time) bool {
	if b.g == nil {
		return true
	}
	return b.g.enterBy(deadline)
}

func (b busyGate) End() {
	if b.g != nil {
		b.g.leave()
	}
}

// enterBy takes a slot of g, waiting for one until deadline; it reports
// whether it got one.
func (g *gate) enterBy(deadline time.Time) bool {
	var timeout <-chan time.Time
	for {
		g.mu.Lock()
		if !g.full() {
			g.active++
			g.mu.Unlock()
			return true
		}
		wake := g.wake
		g.waiting = true
		g.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		}
	}
}

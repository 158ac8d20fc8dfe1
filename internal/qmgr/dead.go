package qmgr

import (
	"time"

	"github.com/postern-mta/postern/internal/deliver"
)

// Dead destinations, as Postfix's qmgr throttles them: when a delivery
// attempt to a destination cannot even connect (every recipient deferred
// with relay=none), the destination is suspended for minimal_backoff_time
// and its other mail is deferred at once with that reason ("delivery
// temporarily suspended: connect to …"), so that a down relayhost does not
// tie up every delivery slot. The first successful delivery revives it.

type deadDest struct {
	until  time.Time
	reason string
	dsn    string
}

// suspended returns the reason a destination is suspended now, if it is.
func (m *Manager) suspended(key string, now time.Time) (deadDest, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dead[key]
	if ok && now.After(d.until) {
		delete(m.dead, key)
		return deadDest{}, false
	}
	return d, ok
}

// learn updates a destination's state from an attempt's results and
// reports whether the destination could not be reached.
func (m *Manager) learn(key string, results []deliver.Result, now, until time.Time) bool {
	unreachable := len(results) > 0
	for _, r := range results {
		if r.Kind != deliver.Deferred || (r.Relay != "" && r.Relay != "none") {
			unreachable = false
			break
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case unreachable:
		if _, already := m.dead[key]; !already {
			m.dead[key] = deadDest{until: until, reason: results[0].Reason, dsn: results[0].DSN}
		}
	default:
		delete(m.dead, key)
	}
	return unreachable
}

// suspendedResults defers every recipient with the suspension's reason.
func suspendedResults(req *deliver.Request, d deadDest) []deliver.Result {
	dsn := d.dsn
	if dsn == "" {
		dsn = "4.4.1"
	}
	return deliver.Unavailable{Reason: "delivery temporarily suspended: " + d.reason}.DeliverDSN(req, dsn)
}

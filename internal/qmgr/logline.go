package qmgr

import (
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/queue"
)

// toField is a delivery line's "to=<addr>", followed by ", orig_to=<addr>"
// when the client wrote the address differently (Postfix's log_adhoc: not
// for a difference in case only).
func toField(r queue.Recipient) string {
	if r.Orig == "" || strings.EqualFold(r.Orig, r.Addr) {
		return "to=<" + r.Addr + ">"
	}
	return "to=<" + r.Addr + ">, orig_to=<" + r.Orig + ">"
}

// timing is what a delivery line's delay= and delays= report: a = before
// the queue manager (arrival to this attempt's start), b = in the queue
// manager, c = connection set-up, d = transmission.
type timing struct {
	arrival, activated, handed time.Time
	setup, transfer            time.Duration
}

func (t timing) String(now time.Time) string {
	return fmt.Sprintf("delay=%s, delays=%s/%s/%s/%s", maillog.Delay(now.Sub(t.arrival)),
		maillog.Delay(t.activated.Sub(t.arrival)), maillog.Delay(t.handed.Sub(t.activated)),
		maillog.Delay(t.setup), maillog.Delay(t.transfer))
}

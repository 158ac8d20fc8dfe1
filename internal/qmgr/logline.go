package qmgr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

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

// formatDelay prints a duration in seconds as Postfix's log lines do
// (format_tv with two significant digits and at most two decimals):
// 312, 12, 1.2, 0.05, 0.
func formatDelay(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := d.Seconds()
	var out string
	switch {
	case s >= 10:
		return strconv.FormatInt(int64(s), 10)
	case s >= 1:
		out = strconv.FormatFloat(float64(int64(s*10))/10, 'f', 1, 64)
	default:
		out = strconv.FormatFloat(float64(int64(s*100))/100, 'f', 2, 64)
	}
	out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	if out == "" {
		return "0"
	}
	return out
}

// timing is what a delivery line's delay= and delays= report: a = before
// the queue manager (arrival to this attempt's start), b = in the queue
// manager, c = connection set-up, d = transmission.
type timing struct {
	arrival, activated, handed time.Time
	setup, transfer            time.Duration
}

func (t timing) String(now time.Time) string {
	return fmt.Sprintf("delay=%s, delays=%s/%s/%s/%s", formatDelay(now.Sub(t.arrival)),
		formatDelay(t.activated.Sub(t.arrival)), formatDelay(t.handed.Sub(t.activated)),
		formatDelay(t.setup), formatDelay(t.transfer))
}

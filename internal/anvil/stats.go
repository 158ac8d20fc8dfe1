package anvil

import (
	"fmt"
	"time"
)

// peaks are the highest count and rates since the last Report, with
// the client and time of each, as Postfix's anvil keeps them for its
// "statistics:" log lines; and the most clients known at once.
type peaks struct {
	max       [numEvents + 1]peak // the rates, then the session count
	cacheSize int
	cacheTime time.Time
}

type peak struct {
	value  int
	client Client
	when   time.Time
}

func (p *peaks) update(i Event, v int, cl Client, now time.Time) {
	if v > p.max[i].value {
		p.max[i] = peak{v, cl, now}
	}
}

func (p *peaks) cache(size int, now time.Time) {
	if size > p.cacheSize {
		p.cacheSize, p.cacheTime = size, now
	}
}

// Report returns Postfix's anvil statistics lines for the peaks since
// the last Report, and starts over: none when nothing happened. unit is
// anvil_rate_time_unit, which the rate lines name ("…/60s").
func (c *Counter) Report(unit time.Duration) []string {
	c.mu.Lock()
	p := c.peaks
	c.peaks = peaks{}
	c.mu.Unlock()
	secs := int(unit / time.Second)
	var lines []string
	rate := func(e Event, name string) {
		if m := p.max[e]; m.value > 0 {
			lines = append(lines, fmt.Sprintf("statistics: max %s rate %d/%ds for (%s) at %s", name, m.value, secs, m.client, stamp(m.when)))
		}
	}
	rate(Conn, "connection")
	if m := p.max[numEvents]; m.value > 0 {
		lines = append(lines, fmt.Sprintf("statistics: max connection count %d for (%s) at %s", m.value, m.client, stamp(m.when)))
	}
	rate(Mail, "message")
	rate(Rcpt, "recipient")
	rate(NewTLS, "newtls")
	rate(Auth, "auth")
	if p.cacheSize > 0 {
		lines = append(lines, fmt.Sprintf("statistics: max cache size %d at %s", p.cacheSize, stamp(p.cacheTime)))
	}
	return lines
}

// stamp is ctime's "Dec  7 15:01:24", as Postfix prints the time.
func stamp(t time.Time) string { return t.Local().Format("Jan _2 15:04:05") }

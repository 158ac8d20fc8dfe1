package smtpd

import (
	"fmt"
	"strings"
)

// counterOrder is Postfix's smtpd_cmd_table order, in which the
// disconnect line lists the commands a client used.
var counterOrder = [...]string{"helo", "ehlo", "xclient", "xforward", "starttls", "auth", "mail", "rcpt",
	"data", "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"}

// counters tallies commands for the disconnect log line: a command
// succeeded when its last reply was not an error (4xx or 5xx). The
// counts are indexed as counterOrder, in the session itself: no
// allocation per session.
type counters struct {
	ok, total [len(counterOrder)]int32
}

func (c *counters) add(verb string, success bool) {
	i := len(counterOrder) - 1 // "unknown"
	name := strings.ToLower(verb)
	for j, n := range counterOrder {
		if n == name {
			i = j
			break
		}
	}
	c.total[i]++
	if success {
		c.ok[i]++
	}
}

// String is the tail of Postfix's disconnect line: "ehlo=1 mail=1
// rcpt=0/1 quit=1 commands=3/4", with "/total" only where some failed.
func (c *counters) String() string {
	var b strings.Builder
	ok, total := 0, 0
	for i, n := range counterOrder {
		if c.total[i] == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", n, ratio(int(c.ok[i]), int(c.total[i])))
		ok += int(c.ok[i])
		total += int(c.total[i])
	}
	fmt.Fprintf(&b, " commands=%s", ratio(ok, total))
	return b.String()
}

// ratio is "n" when all n succeeded, else "ok/total"; a session without
// commands shows "commands=0/0", as Postfix logs it.
func ratio(ok, total int) string {
	if ok == total && total > 0 {
		return fmt.Sprint(total)
	}
	return fmt.Sprintf("%d/%d", ok, total)
}

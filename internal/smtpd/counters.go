package smtpd

import (
	"fmt"
	"strings"
)

// counterOrder is Postfix's smtpd_cmd_table order, in which the
// disconnect line lists the commands a client used.
var counterOrder = []string{"helo", "ehlo", "xclient", "xforward", "starttls", "auth", "mail", "rcpt",
	"data", "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"}

// counters tallies commands for the disconnect log line: a command
// succeeded when its last reply was not an error (4xx or 5xx).
type counters struct {
	ok, total map[string]int
}

func (c *counters) add(verb string, success bool) {
	if c.total == nil {
		c.ok, c.total = map[string]int{}, map[string]int{}
	}
	name := strings.ToLower(verb)
	known := false
	for _, n := range counterOrder {
		known = known || n == name
	}
	if !known {
		name = "unknown"
	}
	c.total[name]++
	if success {
		c.ok[name]++
	}
}

// String is the tail of Postfix's disconnect line: "ehlo=1 mail=1
// rcpt=0/1 quit=1 commands=3/4", with "/total" only where some failed.
func (c *counters) String() string {
	var b strings.Builder
	ok, total := 0, 0
	for _, n := range counterOrder {
		if c.total[n] == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", n, ratio(c.ok[n], c.total[n]))
		ok += c.ok[n]
		total += c.total[n]
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

package maillog

import (
	"strconv"
	"strings"
	"time"
)

// Delay prints a duration in seconds as Postfix's log lines do (its
// format_tv with two significant digits and at most two decimals, as in
// delays= and postscreen's "PREGREET 11 after 0.27"): 312, 12, 1.2,
// 0.05, 0.
func Delay(d time.Duration) string {
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

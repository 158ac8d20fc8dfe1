package anvil

import (
	"slices"
	"testing"
	"time"
)

// TestReport: the peaks since the last report, in Postfix's anvil's
// words and order, then nothing until something happens again.
func TestReport(t *testing.T) {
	c := New()
	if l := c.Report(time.Minute); len(l) != 0 {
		t.Fatalf("report with no activity: %q", l)
	}
	at := time.Date(2026, 12, 7, 15, 1, 24, 0, time.Local)
	a, b := cl("smtp", "192.0.2.1"), cl("smtp", "2001:db8::1")
	c.Connect(a, at, time.Minute)
	c.Connect(a, at, time.Minute)
	c.Connect(b, at.Add(time.Second), time.Minute)
	c.Event(a, Mail, at.Add(2*time.Second), time.Minute)
	c.Event(b, Rcpt, at.Add(3*time.Second), time.Minute)
	c.Event(b, NewTLS, at.Add(3*time.Second), time.Minute)
	c.Event(a, Auth, at.Add(4*time.Second), time.Minute)
	want := []string{
		"statistics: max connection rate 2/60s for (smtp:192.0.2.1) at Dec  7 15:01:24",
		"statistics: max connection count 2 for (smtp:192.0.2.1) at Dec  7 15:01:24",
		"statistics: max message rate 1/60s for (smtp:192.0.2.1) at Dec  7 15:01:26",
		"statistics: max recipient rate 1/60s for (smtp:2001:db8::/64) at Dec  7 15:01:27",
		"statistics: max newtls rate 1/60s for (smtp:2001:db8::/64) at Dec  7 15:01:27",
		"statistics: max auth rate 1/60s for (smtp:192.0.2.1) at Dec  7 15:01:28",
		"statistics: max cache size 2 at Dec  7 15:01:25",
	}
	if got := c.Report(time.Minute); !slices.Equal(got, want) {
		t.Errorf("report:\n%q\nwant\n%q", got, want)
	}
	if l := c.Report(time.Minute); len(l) != 0 {
		t.Errorf("second report with no activity: %q", l)
	}
}

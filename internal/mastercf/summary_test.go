package mastercf

import "testing"

func TestSummary(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{Default(), "smtp inet on port 25 (smtpd), pickup, cleanup, qmgr, tlsmgr and 20 more"},
		{"smtp inet n - y - - smtpd\n", "smtp inet on port 25 (smtpd)"},
		{"127.0.0.1:2525 inet n - y - - smtpd\npickup unix n - y 60 1 pickup\n", "127.0.0.1:2525 inet on port 2525 (smtpd) and pickup"},
		{"", "no services"},
	} {
		f, _ := Parse("master.cf", tc.text)
		if got := f.Summary(); got != tc.want {
			t.Errorf("Summary of %q = %q, want %q", tc.text, got, tc.want)
		}
	}
}

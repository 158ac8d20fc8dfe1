package tlsconf

import (
	"crypto/tls"
	"testing"
)

func TestParseProtocols(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max uint16
		err      bool
	}{
		{">=TLSv1.2", tls.VersionTLS12, tls.VersionTLS13, false},
		{"!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", tls.VersionTLS12, tls.VersionTLS13, false},
		{"!SSLv2,!SSLv3", tls.VersionTLS10, tls.VersionTLS13, false},
		{"!SSLv2:!SSLv3:!TLSv1", tls.VersionTLS11, tls.VersionTLS13, false},
		{"", tls.VersionTLS10, tls.VersionTLS13, false},
		{">=TLSv1", tls.VersionTLS10, tls.VersionTLS13, false},
		{"<=TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, false},
		{">=TLSv1.1, <=TLSv1.2", tls.VersionTLS11, tls.VersionTLS12, false},
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, false},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13, false},
		{"tlsv1.2, tlsv1.3", tls.VersionTLS12, tls.VersionTLS13, false},
		{">=TLSv1.2, !TLSv1.3", tls.VersionTLS12, tls.VersionTLS12, false},
		{"SSLv3 TLSv1", tls.VersionTLS10, tls.VersionTLS10, false},
		// errors
		{"!TLSv1.2", 0, 0, true},        // a gap between 1.1 and 1.3
		{"TLSv1.1 TLSv1.3", 0, 0, true}, // the same
		{"SSLv3", 0, 0, true},           // nothing Go speaks
		{">=TLSv1.3, <=TLSv1.2", 0, 0, true},
		{"TLSv1.4", 0, 0, true},
		{">= TLSv1.2", 0, 0, true},
		{"!bogus", 0, 0, true},
	} {
		min, max, err := ParseProtocols(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseProtocols(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (min != tc.min || max != tc.max) {
			t.Errorf("ParseProtocols(%q) = %x-%x, want %x-%x", tc.in, min, max, tc.min, tc.max)
		}
	}
}

func FuzzParseProtocols(f *testing.F) {
	for _, s := range []string{">=TLSv1.2", "!SSLv2, !SSLv3", "<=TLSv1.3", "TLSv1.2 TLSv1.3", "!TLSv1.2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		min, max, err := ParseProtocols(s)
		if err != nil {
			return
		}
		if min < tls.VersionTLS10 || max > tls.VersionTLS13 || min > max {
			t.Fatalf("%q: range %x-%x", s, min, max)
		}
	})
}

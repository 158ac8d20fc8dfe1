package sendlimit

import (
	"reflect"
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Rule
		bad  bool
	}{
		{in: "100/1h", want: []Rule{{Max: 100, Per: time.Hour}}},
		{in: "100/1h, 1000rcpt/1d", want: []Rule{{Max: 100, Per: time.Hour}, {Max: 1000, Rcpt: true, Per: 24 * time.Hour}}},
		{in: "5msg/m 7RCPT/30s", want: []Rule{{Max: 5, Per: time.Minute}, {Max: 7, Rcpt: true, Per: 30 * time.Second}}},
		{in: "1/366d", want: []Rule{{Max: 1, Per: 366 * 24 * time.Hour}}},
		{in: "", bad: true},
		{in: " , ", bad: true},
		{in: "100", bad: true},
		{in: "0/1h", bad: true},
		{in: "-1/1h", bad: true},
		{in: "+1/1h", bad: true},
		{in: "rcpt/1h", bad: true},
		{in: "10/", bad: true},
		{in: "10/1", bad: true},
		{in: "10/1w", bad: true},
		{in: "10/0h", bad: true},
		{in: "10/-1h", bad: true},
		{in: "10/367d", bad: true},
		{in: "10/999999999d", bad: true},
		{in: "1234567890/1h", bad: true},
		{in: "10/1h/2", bad: true},
		{in: "1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s 1/s", bad: true},
	} {
		got, err := ParseRules(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRules(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRules(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseRules: no panic, and every accepted rule is within bounds
// and prints back to a value that parses to the same rule.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"100/1h, 1000rcpt/1d", "5msg/m", "10/999999999d", "1/s,,2rcpt/2S", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s)
		if err != nil {
			return
		}
		if len(rules) == 0 || len(rules) > maxRules {
			t.Fatalf("%q: %d rules", s, len(rules))
		}
		for _, r := range rules {
			if r.Max < 1 || r.Per <= 0 || r.Per > maxPer {
				t.Fatalf("%q: rule %+v out of bounds", s, r)
			}
		}
	})
}

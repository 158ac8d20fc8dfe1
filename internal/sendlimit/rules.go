package sendlimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule is one limit: at most Max messages (or recipients, when Rcpt)
// per Per.
type Rule struct {
	Max  int
	Rcpt bool
	Per  time.Duration
}

func (r Rule) String() string {
	kind := ""
	if r.Rcpt {
		kind = "rcpt"
	}
	per := fmt.Sprintf("%ds", r.Per/time.Second)
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if r.Per%u.d == 0 {
			per = fmt.Sprintf("%d%s", r.Per/u.d, u.name)
			break
		}
	}
	return fmt.Sprintf("%d%s/%s", r.Max, kind, per)
}

// maxRules bounds one table value, so a hostile value costs little.
const maxRules = 16

// ParseRules parses a table value: rules separated by commas or white
// space, each "N/T" (messages) or "Nrcpt/T" (recipients).
func ParseRules(s string) ([]Rule, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("sendlimit: empty rule list")
	}
	if len(fields) > maxRules {
		return nil, fmt.Errorf("sendlimit: more than %d rules", maxRules)
	}
	rules := make([]Rule, 0, len(fields))
	for _, f := range fields {
		r, err := parseRule(f)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(f string) (Rule, error) {
	var r Rule
	count, per, ok := strings.Cut(f, "/")
	if !ok {
		return r, fmt.Errorf("sendlimit: rule %q: want N/time or Nrcpt/time", f)
	}
	lower := strings.ToLower(count)
	if n, found := strings.CutSuffix(lower, "rcpt"); found {
		r.Rcpt, lower = true, n
	} else if n, found := strings.CutSuffix(lower, "msg"); found {
		lower = n
	}
	n, err := strconv.Atoi(lower)
	if err != nil || n < 1 || len(lower) > 9 || lower[0] < '0' || lower[0] > '9' {
		return r, fmt.Errorf("sendlimit: rule %q: count %q is not a number from 1 to 999999999", f, count)
	}
	r.Max = n
	if r.Per, err = parsePer(per); err != nil {
		return r, fmt.Errorf("sendlimit: rule %q: %w", f, err)
	}
	return r, nil
}

var units = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}

// parsePer parses "[N]unit": at most 9 digits, then s, m, h or d.
func parsePer(s string) (time.Duration, error) {
	bad := fmt.Errorf("time %q is not [N]s, m, h or d", s)
	if s == "" || len(s) > 10 {
		return 0, bad
	}
	unit, ok := units[s[len(s)-1]|0x20]
	if !ok {
		return 0, bad
	}
	n := 1
	if digits := s[:len(s)-1]; digits != "" {
		var err error
		if n, err = strconv.Atoi(digits); err != nil || n < 1 || digits[0] < '0' || digits[0] > '9' {
			return 0, bad
		}
	}
	if time.Duration(n) > maxPer/unit {
		return 0, fmt.Errorf("time %q is longer than %d days", s, maxPer/(24*time.Hour))
	}
	return time.Duration(n) * unit, nil
}

// maxPer is the longest window: a year.
const maxPer = 366 * 24 * time.Hour

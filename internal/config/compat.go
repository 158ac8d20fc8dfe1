package config

import (
	"fmt"
	"strconv"
	"strings"
)

// CompatLevel is a compatibility_level value: major[.minor[.patch]].
type CompatLevel struct{ Major, Minor, Patch int }

// ParseCompatLevel parses a compatibility level as Postfix does; levels
// newer than postern knows are accepted.
func ParseCompatLevel(s string) (CompatLevel, error) {
	var l CompatLevel
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 3 {
		return l, fmt.Errorf("malformed compatibility level syntax: %q", s)
	}
	dst := []*int{&l.Major, &l.Minor, &l.Patch}
	for i, p := range parts {
		if !allDigits(p) {
			return l, fmt.Errorf("malformed compatibility level syntax: %q", s)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return l, fmt.Errorf("malformed compatibility level syntax: %q", s)
		}
		*dst[i] = n
	}
	return l, nil
}

// Compare returns -1, 0 or 1.
func (l CompatLevel) Compare(o CompatLevel) int {
	for _, d := range [][2]int{{l.Major, o.Major}, {l.Minor, o.Minor}, {l.Patch, o.Patch}} {
		if d[0] < d[1] {
			return -1
		}
		if d[0] > d[1] {
			return 1
		}
	}
	return 0
}

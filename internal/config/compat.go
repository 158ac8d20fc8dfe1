package config

import (
	"fmt"
	"strconv"
	"strings"
)

// CompatLevel is a compatibility_level value: major[.minor[.patch]].
type CompatLevel struct{ Major, Minor, Patch uint64 }

// Postfix packs a level into one number: minor and patch get 10 bits,
// so they cannot exceed 1023, and the major must leave room for them.
const (
	maxCompatMinor = 1023
	maxCompatMajor = 1<<43 - 1
)

// ParseCompatLevel parses a compatibility level as Postfix does (each part
// read like strtoul: leading blanks and a sign allowed); levels newer than
// postern knows are accepted.
func ParseCompatLevel(s string) (CompatLevel, error) {
	var l CompatLevel
	bad := fmt.Errorf("malformed compatibility level syntax: \"%s\"", s)
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return l, bad
	}
	dst := []*uint64{&l.Major, &l.Minor, &l.Patch}
	for i, p := range parts {
		p = strings.TrimLeft(p, " \t\n\r\v\f")
		neg := strings.HasPrefix(p, "-")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "+"), "-")
		if !allDigits(p) {
			return l, bad
		}
		n, err := strconv.ParseUint(p, 10, 64)
		limit := uint64(maxCompatMinor)
		if i == 0 {
			limit = maxCompatMajor
		}
		if err != nil || n > limit || neg && n != 0 {
			return l, bad
		}
		*dst[i] = n
	}
	return l, nil
}

// Compare returns -1, 0 or 1.
func (l CompatLevel) Compare(o CompatLevel) int {
	for _, d := range [][2]uint64{{l.Major, o.Major}, {l.Minor, o.Minor}, {l.Patch, o.Patch}} {
		if d[0] < d[1] {
			return -1
		}
		if d[0] > d[1] {
			return 1
		}
	}
	return 0
}

package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a parameter's value type; it decides how a value is validated
// and which typed getter reads it.
type Kind int

const (
	String       Kind = iota
	Bool              // yes/no, case-insensitive
	Int               // decimal integer, no unit suffix
	Time              // integer with optional unit s, m, h, d, w
	Size              // byte count (an Int that is a size)
	List              // comma/whitespace separated list
	MapList           // list of type:table lookup tables
	Restrictions      // smtpd_*_restrictions list
)

func (k Kind) String() string {
	return [...]string{"string", "boolean", "integer", "time", "size", "list", "map list", "restriction list"}[k]
}

// Fields splits a list value on commas and whitespace; `{ ... }` groups
// text with whitespace into one element (braces stripped, inner text
// trimmed), as Postfix's mystrtokq does for restriction lists.
func Fields(v string) []string {
	var out []string
	for i := 0; i < len(v); {
		c := v[i]
		if c == ',' || isSpace(c) {
			i++
			continue
		}
		j := i
		level := 0
		for j < len(v) {
			switch v[j] {
			case '{':
				level++
			case '}':
				if level > 0 {
					level--
				}
			}
			if level == 0 && (v[j] == ',' || isSpace(v[j])) {
				break
			}
			j++
		}
		tok := v[i:j]
		if len(tok) >= 2 && tok[0] == '{' && tok[len(tok)-1] == '}' {
			tok = strings.Trim(tok[1:len(tok)-1], " \t\r\n")
		}
		out = append(out, tok)
		i = j
	}
	return out
}

// ParseBool parses yes/no as Postfix does (case-insensitive).
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean value %q (use yes or no)", v)
}

// ParseInt parses a decimal integer with no unit.
func ParseInt(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad numerical value %q (an integer without unit is expected)", v)
	}
	return n, nil
}

var timeUnits = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}

// ParseTime parses a time value in seconds; a bare number takes unit def.
func ParseTime(v string, def byte) (int64, error) {
	num, unit := v, def
	if n := len(v); n > 0 && (v[n-1] < '0' || v[n-1] > '9') {
		num, unit = v[:n-1], v[n-1]
	}
	mult, okUnit := timeUnits[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !okUnit || err != nil || n < 0 {
		return 0, fmt.Errorf("bad time value or unit %q (use a number with s, m, h, d or w)", v)
	}
	return n * mult, nil
}

package maps

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldKey folds a lookup key the way Postfix does for exact-key tables.
//
// With smtputf8_enable = yes (the default from compatibility_level 3.0 on)
// Postfix folds with ICU's case folding; with "no", and for keys that are
// not valid UTF-8, it lowercases ASCII only. Measured with postmap 3.7.11
// at compatibility level 3.6: "ÄÖ" is stored and found as "äö", and
// "Straße", "STRASSE" and "STRAßE" all fold to "strasse".
//
// Go's standard library has no full case folding, so non-ASCII runes are
// folded with simple case mapping (lower(upper(r)), which also maps final
// sigma and the long s like CaseFolding.txt) plus the full foldings that
// occur in practice: ß/ẞ → "ss" and the Latin ligatures U+FB00–U+FB06.
// Other full foldings (e.g. "ǰ", Armenian ligatures) are not applied, so
// such keys only match when written identically in table and query.
// FoldKey is the folding exact-key tables apply to keys when they are
// built and queried (aliases uses it too).
func FoldKey(s string) string { return foldKey(s) }

func foldKey(s string) string {
	ascii, upper := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		return asciiLower(s)
	}
	if !utf8.ValidString(s) {
		return asciiLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f, ok := fullFold[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
	}
	return b.String()
}

var fullFold = map[rune]string{
	'ß': "ss", 'ẞ': "ss",
	'ﬀ': "ff", 'ﬁ': "fi", 'ﬂ': "fl", 'ﬃ': "ffi", 'ﬄ': "ffl", 'ﬅ': "st", 'ﬆ': "st",
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

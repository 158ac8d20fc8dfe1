package aliases

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fold folds an alias name or local part to lower case exactly as the
// maps package folds the keys of hash:/cdb: tables when it builds and
// queries them (Postfix with smtputf8_enable = yes): ASCII-only text and
// text that is not UTF-8 lose only ASCII upper case; other text gets
// simple case folding plus ß → ss and the Latin ligatures. It must stay in
// step with maps' foldKey, or names with such letters would be stored
// under a key that lookups never ask for (TestFoldMatchesMaps checks).
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(s) {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
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

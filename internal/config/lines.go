package config

import (
	"strings"
)

// Line is one logical line: physical lines joined by continuation.
type Line struct {
	Num  int    // number of the first physical line (1-based)
	Text string // joined text, continuation whitespace kept verbatim
}

// isSpace matches Postfix's ISSPACE for the characters that occur in text files.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// isCommentOrBlank reports whether a physical line is dropped: empty,
// all whitespace, or its first non-blank character is '#'.
func isCommentOrBlank(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n\v\f")
	return t == "" || t[0] == '#'
}

// LogicalLines assembles physical lines into logical lines as Postfix's
// readllines() does. Logical lines that would begin with whitespace (an
// indented first line) are returned in dropped, so the caller can warn.
func LogicalLines(data string) (lines, dropped []Line) {
	var cur *Line
	flush := func() {
		if cur == nil {
			return
		}
		if isSpace(cur.Text[0]) {
			dropped = append(dropped, *cur)
		} else {
			lines = append(lines, *cur)
		}
		cur = nil
	}
	num := 0
	for len(data) > 0 {
		num++
		phys := data
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			phys, data = data[:i], data[i+1:]
		} else {
			data = ""
		}
		if isCommentOrBlank(phys) {
			continue
		}
		if isSpace(phys[0]) && cur != nil {
			cur.Text += phys
			continue
		}
		flush()
		cur = &Line{Num: num, Text: phys}
	}
	flush()
	return lines, dropped
}

// DroppedLineText is Postfix's quotation of a dropped line: its first 30
// characters, with "..." when it was longer.
func DroppedLineText(text string) string {
	if len(text) > 30 {
		return text[:30] + "..."
	}
	return text
}

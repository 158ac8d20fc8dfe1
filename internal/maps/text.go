package maps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/config"
)

// Entry is one "key value" record of a text table source.
type Entry struct {
	Key   string // as written, not folded; quotes and backslashes kept
	Value string
	Line  int // first physical line of the logical line
}

// ParseSource splits table source text into records as postmap(1) and
// texthash: do in Postfix 3.7 (measured):
//
//   - logical lines as in main.cf (comments, continuation lines);
//   - the key ends at the first whitespace outside double quotes; a
//     backslash protects the next character; quotes and backslashes stay
//     in the key ("a b" is a key with the quotes, k\ x one with the
//     backslash);
//   - the value is the rest, without leading and trailing whitespace;
//   - lines that are not valid UTF-8 are skipped, as with smtputf8_enable.
//
// Duplicate keys (after folding) keep the first entry, as postmap (hash)
// and texthash do; postmap -r would replace instead.
//
// Skipped lines produce warnings naming file and line, in file order.
// texthash selects texthash's wording, which differs from postmap's in one
// suffix.
func ParseSource(path, data string, texthash bool) (entries []Entry, warnings []string) {
	lines, w := logicalLines(path, data)
	seen := make(map[string]bool, len(lines))
	ignoring := ""
	if texthash {
		ignoring = " -- ignoring this line"
	}
	for _, ln := range lines {
		text := ln.Text
		if !utf8.ValidString(text) {
			w.add(ln.Num, "%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line", path, ln.Num, Printable(text))
			continue
		}
		i, quoted := 0, false
	scan:
		for ; i < len(text); i++ {
			switch c := text[i]; {
			case c == '\\':
				if i+1 == len(text) {
					i = len(text)
					break scan
				}
				i++
			case isSpace(c) && !quoted:
				break scan
			case c == '"':
				quoted = !quoted
			}
		}
		if quoted {
			w.add(ln.Num, "%s, line %d: unbalanced '\"' in '%s' -- ignoring this line", path, ln.Num, text)
			continue
		}
		key := text[:i]
		value := strings.Trim(text[i:], spaceChars)
		if key == "" || value == "" {
			w.add(ln.Num, "%s, line %d: expected format: key whitespace value%s", path, ln.Num, ignoring)
			continue
		}
		if strings.HasSuffix(key, ":") {
			w.add(ln.Num, "%s, line %d: record is in \"key: value\" format; is this an alias file?", path, ln.Num)
		}
		if k := foldKey(key); seen[k] {
			w.add(ln.Num, "%s, line %d: duplicate entry: \"%s\"", path, ln.Num, key)
			continue
		} else {
			seen[k] = true
		}
		entries = append(entries, Entry{Key: key, Value: value, Line: ln.Num})
	}
	return entries, w.sorted()
}

// lineWarnings collects warnings tagged with line numbers, so that
// warnings found in different passes come out in file order.
type lineWarnings []struct {
	line int
	msg  string
}

func (w *lineWarnings) add(line int, format string, args ...any) {
	*w = append(*w, struct {
		line int
		msg  string
	}{line, fmt.Sprintf(format, args...)})
}

func (w lineWarnings) sorted() []string {
	sort.SliceStable(w, func(i, j int) bool { return w[i].line < w[j].line })
	out := make([]string, len(w))
	for i, x := range w {
		out[i] = x.msg
	}
	return out
}

// logicalLines splits a table file into logical lines and starts its
// warnings with those about dropped indented lines.
func logicalLines(path, data string) ([]config.Line, lineWarnings) {
	lines, dropped := config.LogicalLines(data)
	var w lineWarnings
	for _, d := range dropped {
		w.add(d.Num, "%s: logical line must not start with whitespace: \"%s\"",
			path, config.DroppedLineText(d.Text))
	}
	return lines, w
}

// Printable replaces bytes that Postfix's logging would not print as is.
func Printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < ' ' && c != '\t' || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// openError words a failure to open a table file as Postfix does
// ("open database /x: No such file or directory").
func openError(prefix, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", prefix, path, err)
}

// texthash is an in-memory table read from a text file at open time.
// Unlike Postfix it does not re-read a file that changed while it was
// being read; the caller reopens tables when files change.
type texthash struct {
	base
	m     map[string]string
	order []Entry
}

func openTexthash(spec, path string) (Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, openError("open database", path, err)
	}
	entries, warnings := ParseSource(path, string(data), true)
	t := &texthash{base: base{spec: spec, warnings: warnings}, m: make(map[string]string, len(entries)), order: entries}
	for _, e := range entries {
		t.m[foldKey(e.Key)] = e.Value
	}
	return t, nil
}

func (t *texthash) Lookup(key string) (string, bool, error) {
	v, ok := t.m[foldKey(key)]
	return v, ok, nil
}

// each supports Dump.
func (t *texthash) each(fn func(key, value string) error) error {
	for _, e := range t.order {
		if err := fn(foldKey(e.Key), e.Value); err != nil {
			return err
		}
	}
	return nil
}

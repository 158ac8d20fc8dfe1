package mastercf

import (
	"io"
	"slices"
	"sort"
	"strings"
)

// Layout constants measured against postconf 3.7 (postconf -M, -Mf, -F).
const (
	lineLimit = 80     // -f folds before an item that would reach this column
	indent    = "    " // continuation lines of -Mf/-Ff/-Pf
)

// columnGoal is where postconf -M starts each of the 8 columns; a column
// that runs long pushes the next one right, with at least one blank.
var columnGoal = [8]int{0, 11, 17, 25, 33, 41, 49, 57}

// fieldNames are postconf's names for the columns (-F name/type/field).
var fieldNames = [8]string{"service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command"}

// Options selects postconf's output variants.
type Options struct {
	Fold     bool // -f: fold long lines
	HideName bool // -h: values only (-F and -P)
	// Expand, when set (-x), gives the value to show for a -o
	// name=value argument or a -P value of service s.
	Expand func(s *Service, v string) string
}

func (s *Service) columns() []string {
	return []string{s.Name, s.Type, string(s.Private), string(s.Unpriv), string(s.Chroot), s.Wakeup, s.MaxProc, s.Command}
}

// Entry formats the service as `postconf -M` does (fold: -Mf), ending in
// a newline: aligned columns, then the arguments; with fold every -o
// option starts a new indented line.
func (s *Service) Entry(fold bool) string {
	return s.entry(Options{Fold: fold})
}

func (s *Service) entry(o Options) string {
	w := lineWriter{s: s, expand: o.Expand}
	for i, c := range s.columns() {
		if i > 0 {
			w.add(" ")
			for w.n < columnGoal[i] {
				w.add(" ")
			}
		}
		w.add(c)
	}
	w.args(s.Args, o.Fold, 3)
	w.WriteString("\n")
	return w.String()
}

// Field formats column i (0-7, see postconf -F) as `postconf -F` does;
// "" for any other i.
func (s *Service) Field(i int, o Options) string {
	if i < 0 || i >= len(fieldNames) {
		return ""
	}
	w := lineWriter{s: s, expand: o.Expand}
	v := s.columns()[i]
	if !o.HideName {
		w.add(s.Key() + "/" + fieldNames[i] + " = ")
		// postconf wraps a long value even without -f.
		if w.n+len(v) > lineLimit {
			w.newline()
		}
	}
	w.add(v)
	if i == len(fieldNames)-1 {
		w.args(s.Args, o.Fold, 1)
	}
	w.WriteString("\n")
	return w.String()
}

// readsBack reports whether the -M form of s parses back to the same
// columns and arguments.
func (s *Service) readsBack() (string, bool) {
	line := strings.TrimSuffix(s.Entry(false), "\n")
	toks, _ := splitArgs(line)
	if len(toks) < 8 {
		return line, false
	}
	args, _, _ := normalize(toks[8:])
	return line, slices.Equal(toks[:8], s.columns()) && slices.Equal(args, s.Args)
}

// lineWriter tracks the output column like postconf's line_len.
type lineWriter struct {
	strings.Builder
	n      int
	s      *Service
	expand func(*Service, string) string
}

func (w *lineWriter) add(s string) { w.WriteString(s); w.n += len(s) }

func (w *lineWriter) newline() { w.WriteString("\n" + indent); w.n = len(indent) }

// args writes daemon arguments the way postconf does, quirks included:
// an option that takes a value (-o, and a lone "-") is kept on one line
// with its value and, when folding, sits on a line of its own; values and
// later non-option arguments that contain blanks get { }, but the first
// non-option argument never does. valWidth is the width postconf counts
// for the blank between option and value (3 in -M, 1 in -F).
func (w *lineWriter) args(args []string, fold bool, valWidth int) {
	opts := true
	for i := 0; i < len(args); i++ {
		a, val, hasVal, braces := args[i], "", false, false
		width := len(a)
		if !opts {
			braces = hasBlank(a)
		} else if a == "" || a[0] != '-' || a == "--" {
			opts = false
		} else if (len(a) == 1 || a[1] == 'o') && i+1 < len(args) {
			w.n = lineLimit
			val, hasVal = args[i+1], true
			if a == "-o" && w.expand != nil {
				val = w.expand(w.s, val)
			}
			width += len(val) + valWidth
			if braces = hasBlank(val); braces {
				width += 2
				val = "{" + val + "}"
			}
		}
		if w.n > len(indent) {
			if !fold || w.n+1+width < lineLimit {
				w.add(" ")
			} else {
				w.newline()
			}
		}
		if !opts && braces {
			a = "{" + a + "}"
		}
		w.add(a)
		if hasVal {
			w.add(" " + val)
			i++
			w.n = lineLimit
		}
	}
}

func hasBlank(s string) bool { return strings.ContainsAny(s, blanks) }

// printLine is postconf's pcf_print_line(): runs of blanks become one
// space, and with fold a word that would reach lineLimit goes on a new
// indented line.
func printLine(b *strings.Builder, fold bool, text string) {
	n := 0
	for _, word := range strings.FieldsFunc(text, func(r rune) bool { return r < 0x80 && strings.ContainsRune(blanks, r) }) {
		if n > 0 {
			if !fold || n+len(word) < lineLimit {
				b.WriteString(" ")
				n++
			} else {
				b.WriteString("\n" + indent)
				n = len(indent)
			}
		}
		b.WriteString(word)
		n += len(word)
	}
	b.WriteString("\n")
}

// paramTables returns, per entry, the -o parameters that postconf -P
// shows for it. postconf keeps one table per "name/type" that all entries
// with that name and type share, so a duplicate entry shows the union of
// both (later values winning); an entry sees the table only once an entry
// up to and including it has a well-formed -o.
func (f *File) paramTables() []map[string]string {
	shared := map[string]map[string]string{}
	tables := make([]map[string]string, len(f.Services))
	for i, s := range f.Services {
		t := shared[s.Key()]
		for _, o := range s.Overrides {
			if t == nil {
				t = map[string]string{}
				shared[s.Key()] = t
			}
			t[o.Name] = o.Value
		}
		tables[i] = t
	}
	return tables
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // byte order, like postconf's strcmp()
	return keys
}

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

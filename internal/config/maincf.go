package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Severity of a diagnostic.
type Severity int

const (
	Warning Severity = iota
	Error
)

// Diag is one problem found in a configuration file. File and Line locate
// it (Line 0: the whole file); Param names the parameter when there is one.
type Diag struct {
	Severity Severity
	File     string
	Line     int
	Param    string
	Msg      string
	// Unlined: Postfix words this one without a line number.
	Unlined bool
}

// String renders the diagnostic as `FILE:LINE: parameter NAME: message`.
func (d Diag) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if d.Param != "" {
		fmt.Fprintf(&b, "parameter %s: ", d.Param)
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Postfix renders the diagnostic the way Postfix programs word it:
// `FILE, line N: message`.
func (d Diag) Postfix() string {
	if d.Line > 0 && !d.Unlined {
		return fmt.Sprintf("%s, line %d: %s", d.File, d.Line, d.Msg)
	}
	return d.File + ": " + d.Msg
}

// Entry is one `name = value` assignment in main.cf.
type Entry struct {
	Name  string
	Value string // leading and trailing whitespace removed, interior kept
	Line  int
}

// MainFile is a parsed main.cf. Entries keeps every assignment in file
// order; Values maps each name to its last assignment.
type MainFile struct {
	Path    string
	Entries []Entry
	Values  map[string]Entry
	Diags   []Diag
}

// ErrMissingEquals and ErrMissingName classify malformed main.cf lines.
var (
	ErrMissingEquals = errors.New("missing '=' after attribute name")
	ErrMissingName   = errors.New("missing attribute name")
)

// SplitNameValue splits `name = value` as Postfix's split_nameval() does.
func SplitNameValue(s string) (name, value string, err error) {
	s = strings.TrimLeft(s, " \t\r\n\v\f")
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '=' {
		i++
	}
	name = s[:i]
	rest := strings.TrimLeft(s[i:], " \t\r\n\v\f")
	if name == "" {
		return "", "", ErrMissingName
	}
	if rest == "" || rest[0] != '=' {
		return "", "", ErrMissingEquals
	}
	value = strings.Trim(rest[1:], " \t\r\n\v\f")
	return name, value, nil
}

// ReadMainFile reads and parses the main.cf at path.
func ReadMainFile(path string) (*MainFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMain(path, string(data)), nil
}

// ParseMain parses main.cf text. It never fails: malformed lines become
// error Diags and are skipped, as are dropped (indented) logical lines.
func ParseMain(path, data string) *MainFile {
	f := &MainFile{Path: path, Values: map[string]Entry{}}
	lines, dropped := LogicalLines(data)
	for _, l := range dropped {
		f.Diags = append(f.Diags, Diag{Severity: Warning, File: path, Line: l.Num, Unlined: true,
			Msg: fmt.Sprintf("logical line must not start with whitespace: \"%s\"", DroppedLineText(l.Text))})
	}
	for _, l := range lines {
		name, value, err := SplitNameValue(l.Text)
		if err != nil {
			f.Diags = append(f.Diags, Diag{Severity: Error, File: path, Line: l.Num,
				Msg: fmt.Sprintf("%v: \"%s\"", err, l.Text)})
			continue
		}
		if old, ok := f.Values[name]; ok {
			f.Diags = append(f.Diags, Diag{Severity: Warning, File: path, Line: l.Num, Param: name,
				Msg: fmt.Sprintf("overriding earlier entry: %s=%s", name, old.Value)})
		}
		e := Entry{Name: name, Value: value, Line: l.Num}
		f.Entries = append(f.Entries, e)
		f.Values[name] = e
	}
	return f
}

// FirstError returns the first error Diag, or nil.
func (f *MainFile) FirstError() *Diag {
	for i := range f.Diags {
		if f.Diags[i].Severity == Error {
			return &f.Diags[i]
		}
	}
	return nil
}

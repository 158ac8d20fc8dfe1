package mastercf

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// This file reads single entries the way postconf does when it shows or
// edits master.cf (pcf_parse_master_entry()): strict where Parse is
// lenient, stopping at the first problem with postconf's own message.
// `postern conf -M/-F/-P` and the editing forms use it so that scripts
// see the same failures as with Postfix; `postern check` keeps using
// Parse, which reports every problem with file, line and advice.

// errFieldCount is postconf's message for an entry with fewer than 8
// fields; callers prefix "file PATH: line N: ".
var errFieldCount = errors.New("bad field count")

// PostfixEntry parses one (possibly multi-line) entry as postconf does.
// warnings are postconf's texts for repaired { } groups and -o values
// that are not name=value ("master.cf: missing '}' in ..."); err is
// postconf's fatal message.
func PostfixEntry(text string) (s *Service, warnings []string, err error) {
	toks, _ := splitArgs(text)
	if len(toks) < 8 {
		return nil, nil, errFieldCount
	}
	if err := checkColumns(toks[:8], text); err != nil {
		return nil, nil, err
	}
	args, fixes, _ := normalize(toks[8:])
	for _, fx := range fixes {
		warnings = append(warnings, fx.postfix)
	}
	// A '{' left open runs to the end of the entry, line ends included
	// when postconf edits it; postconf 3.7 then writes "{arg\n}", and
	// the "}" line breaks the file. The master daemon reads the entry
	// without line ends, so drop them, as it does.
	cols := slices.Clone(toks[:8])
	for _, list := range [][]string{cols, args} {
		for i, a := range list {
			list[i] = strings.ReplaceAll(a, "\n", "")
		}
	}
	return newService(cols, args), warnings, nil
}

func newService(cols []string, args []string) *Service {
	s := &Service{Name: cols[0], Type: cols[1], Private: Flag(cols[2]), Unpriv: Flag(cols[3]),
		Chroot: Flag(cols[4]), Wakeup: cols[5], MaxProc: cols[6], Command: cols[7]}
	if len(args) > 0 {
		s.Args = args
	}
	return s
}

// checkColumns is postconf's pcf_check_master_entry(): the type, the
// three y/n/- columns, wakeup and process limit, in that order. raw is
// the text quoted in the message, newlines shown as spaces.
func checkColumns(cols []string, raw string) error {
	raw = strings.ReplaceAll(raw, "\n", " ")
	bad := func(field, v string) error {
		return fmt.Errorf("invalid %s field \"%s\" in \"%s\"", field, v, raw)
	}
	if !slices.Contains(types, cols[1]) {
		return bad("type", cols[1])
	}
	for i := 2; i <= 4; i++ {
		if c := cols[i]; len(c) != 1 || !strings.Contains("yn-", c) {
			return bad(fieldNames[i], c)
		}
	}
	w := strings.TrimSuffix(cols[5], "?")
	if w != UseDefault && strings.Trim(w, "0123456789") != "" {
		return bad(fieldNames[5], cols[5])
	}
	if m := cols[6]; m != UseDefault && strings.Trim(m, "0123456789") != "" {
		return bad(fieldNames[6], m)
	}
	return nil
}

// PostfixCheck reads data as postconf -M, -F and -P do before they print
// anything: it returns postconf's fatal message for the first entry
// postconf refuses ("file PATH: line N: bad field count", or
// "invalid private field ..." naming the entry), and its warnings.
func PostfixCheck(path, data string) (warnings []string, err error) {
	lines, dropped := config.LogicalLines(data)
	for _, l := range lines {
		for len(dropped) > 0 && dropped[0].Num < l.Num {
			warnings = append(warnings, fmt.Sprintf("%s: logical line must not start with whitespace: \"%s\"",
				path, config.DroppedLineText(dropped[0].Text)))
			dropped = dropped[1:]
		}
		_, w, err := PostfixEntry(l.Text)
		if errors.Is(err, errFieldCount) {
			return warnings, fmt.Errorf("file %s: line %d: %v", path, l.Num, err)
		}
		if err != nil {
			return warnings, err
		}
		warnings = append(warnings, w...)
	}
	for _, l := range dropped {
		warnings = append(warnings, fmt.Sprintf("%s: logical line must not start with whitespace: \"%s\"",
			path, config.DroppedLineText(l.Text)))
	}
	return warnings, nil
}

// Printable is how Postfix's logging shows a message: control characters
// become '?'.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

package mastercf

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// EditKind is what an edit request names: a whole entry (-M), one of its
// fields (-F) or one of its -o parameters (-P).
type EditKind int

// EditOp is what an edit request does: set (-e), remove (-X) or comment
// out (-#, entries only).
type EditOp int

// Edit kinds and operations.
const (
	EditEntry EditKind = iota
	EditField
	EditParam
)

const (
	EditSet EditOp = iota
	EditRemove
	EditComment
)

// editOpts is how postconf names the editing options in its messages.
const editOpts = "-Me, -Fe, -Pe, -X, or -#"

// editReq is one command-line edit request.
type editReq struct {
	raw     string
	pattern []string // name, type[, field or parameter]
	value   string
	field   int // -F: column index
	matches int
}

// Edit applies postconf's master.cf edits (`postconf -Me`, -MX, -M#,
// -Fe, -Pe, -PX) to data, the text of the master.cf at path, exactly as
// Postfix 3.7 does: entries a request names are written again in
// postconf -Mf form (aligned columns, each -o on an indented line), with
// -M# every line of the entry gets a '#', with -MX it goes; every other
// line, comments and blank lines included, is kept byte for byte.
// Entries are parsed only where an edit needs it, so a malformed entry
// elsewhere stays as it is. warnings are postconf's warning texts; err
// is postconf's fatal message, and then out is "" and nothing may be
// written.
func Edit(path, data string, kind EditKind, op EditOp, args []string) (out string, warnings []string, err error) {
	reqs, err := parseEditRequests(kind, op, args)
	if err != nil {
		return "", nil, err
	}
	e := &editor{path: path, kind: kind, op: op, reqs: reqs, lines: physicalLines(data)}
	if err := e.run(); err != nil {
		return "", nil, err
	}
	return e.out.String(), e.warnings, nil
}

// parseEditRequests checks the arguments as postconf does before it
// opens any file.
func parseEditRequests(kind EditKind, op EditOp, args []string) ([]*editReq, error) {
	var reqs []*editReq
	for _, raw := range args {
		r := &editReq{raw: raw, field: -1}
		if strings.Contains(raw, "\n") {
			return nil, errors.New(editOpts + " accept no multi-line input")
		}
		cp := strings.TrimLeft(raw, " \t\r\n\v\f")
		if strings.HasPrefix(cp, "#") {
			return nil, errors.New(editOpts + " accept no comment input")
		}
		pattern := cp
		if op == EditSet {
			name, value, err := config.SplitNameValue(cp)
			if err != nil {
				return nil, fmt.Errorf("%v: \"%s\"", err, raw)
			}
			pattern, r.value = name, value
		} else {
			if strings.Contains(cp, "=") {
				return nil, errors.New("-X or -# requires names without value")
			}
			pattern = strings.TrimRight(pattern, " \t\r\n\v\f")
		}
		var usage string
		n := 3
		switch kind {
		case EditEntry:
			n, usage = 2, "-Me, -MX or -M# requires service_name/type"
		case EditField:
			usage = "-Fe or -FX requires service_name/type/field_name"
		default:
			usage = "-Pe or -PX requires service_name/type/parameter"
		}
		pr, err := parseRequests([]string{pattern}, n, usage)
		if err != nil || len(strings.FieldsFunc(pattern, func(r rune) bool { return r == '/' })) < n {
			return nil, errors.New(usage)
		}
		r.pattern = pr[0].parts
		switch kind {
		case EditField:
			name := r.pattern[2]
			if name == "*" {
				return nil, errors.New("-Fe does not accept wild-card field name")
			}
			if r.field = slices.Index(fieldNames[:], name); r.field < 0 {
				return nil, fmt.Errorf("invalid service attribute name: \"%s\"", name)
			}
			if op == EditSet && r.field < 7 && hasBlank(r.value) {
				return nil, errors.New("-Fe does not accept whitespace in non-command field")
			}
			if op == EditSet && r.value == "" {
				// Postfix 3.7 writes an empty column, which shifts the
				// others when the file is read again, or crashes (command).
				return nil, fmt.Errorf("-Fe requires a non-empty %s value: \"%s\"", name, raw)
			}
			if op == EditSet && r.field == 0 {
				if err := checkName(r.value); err != nil {
					return nil, err
				}
			}
		case EditParam:
			if r.pattern[2] == "*" {
				return nil, errors.New("-Pe does not accept wild-card parameter name")
			}
			if op == EditSet && hasBlank(r.value) {
				return nil, errors.New("-Pe does not accept whitespace in parameter value")
			}
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

// physicalLines splits data into lines, each with its "\n" (postconf
// 3.7 copies a last line without one as it is).
func physicalLines(data string) []string {
	var lines []string
	for data != "" {
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

const cfSpace = " \t\n\r\v\f" // C isspace()

// isContent reports whether a physical line is part of an entry (not a
// comment or blank line), and whether it continues the previous one.
func isContent(line string) (content, continued bool) {
	t := strings.TrimLeft(line, cfSpace)
	if t == "" || t[0] == '#' {
		return false, false
	}
	return true, len(t) < len(line)
}

type editor struct {
	path     string
	kind     EditKind
	op       EditOp
	reqs     []*editReq
	lines    []string
	next     int // index of the next physical line
	lineno   int // postconf's line counter (see gobble)
	out      strings.Builder
	warnings []string
}

// write adds s to the output. Unlike postconf 3.7, which glues an entry
// it appends onto a last line without newline ("pickupnew  unix ..."),
// it ends such a line first.
func (e *editor) write(s string) {
	if n := e.out.Len(); n > 0 && e.out.String()[n-1] != '\n' {
		e.out.WriteString("\n")
	}
	e.out.WriteString(s)
}

func (e *editor) run() error {
	matched := false
	for e.next < len(e.lines) {
		line := e.lines[e.next]
		e.next++
		e.lineno++
		content, continued := isContent(line)
		switch {
		case !content:
			e.write(line)
			continue
		case continued:
			if !matched {
				e.write(line)
			} else if e.op == EditComment {
				e.write("#" + line)
			}
			continue
		}
		var err error
		var entry *Service
		matched, entry, err = e.head(line)
		if err != nil {
			return err
		}
		switch {
		case entry != nil:
			e.write(entry.Entry(true))
		case !matched:
			e.write(line)
		case e.op == EditComment:
			e.write("#" + line)
		}
	}
	for _, r := range e.reqs {
		if r.matches > 0 {
			continue
		}
		if e.kind == EditEntry && e.op == EditSet {
			s, err := e.parseValue(r)
			if err != nil {
				return err
			}
			e.write(s.Entry(true))
		} else if e.kind != EditEntry {
			e.warnings = append(e.warnings, fmt.Sprintf("unmatched service_name/type: \"%s\"", r.raw))
		}
	}
	return nil
}

// head handles the first line of an entry: it reports whether a request
// matches the entry, and returns the entry to write in its place, if any.
func (e *editor) head(line string) (matched bool, entry *Service, err error) {
	f := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(blanks, r) })
	if len(f) < 2 {
		return false, nil, fmt.Errorf("file %s: line %d: specify service name and type on the same line", e.path, e.lineno)
	}
	name, typ := f[0], f[1]
	if strings.Contains(name, "=") {
		return false, nil, fmt.Errorf("file %s: line %d: service name syntax \"%s\" is unsupported with %s",
			e.path, e.lineno, name, editOpts)
	}
	if strings.ContainsAny(typ, "=/") {
		return false, nil, fmt.Errorf("file %s: line %d: service type syntax \"%s\" is unsupported with %s",
			e.path, e.lineno, typ, editOpts)
	}
	for _, r := range e.reqs {
		var tentative *Service
		if e.kind == EditEntry && e.op == EditSet {
			if tentative, err = e.parseValue(r); err != nil {
				return false, nil, err
			}
		}
		use := false
		switch {
		case matchPattern(r.pattern, name, typ):
			matched = true
			r.matches++
			switch {
			case e.kind == EditEntry:
				use = r.matches == 1 && tentative != nil
			case e.op == EditSet || e.kind == EditParam:
				if entry == nil {
					if entry, err = e.gobble(line); err != nil {
						return false, nil, err
					}
				}
				if err := e.apply(entry, r); err != nil {
					return false, nil, err
				}
			}
		case tentative != nil && matchPattern([]string{tentative.Name, tentative.Type}, name, typ):
			matched = true
			r.matches++
			use = r.matches == 1
		}
		if use {
			entry = tentative
		}
	}
	return matched, entry, nil
}

func matchPattern(p []string, name, typ string) bool {
	return (p[0] == "*" || p[0] == name) && (p[1] == "*" || p[1] == typ)
}

// parseValue parses the entry that a -Me request gives.
func (e *editor) parseValue(r *editReq) (*Service, error) {
	s, w, err := PostfixEntry(r.value)
	if errors.Is(err, errFieldCount) {
		return nil, fmt.Errorf("%v: \"%s\"", err, r.raw)
	}
	e.warnings = append(e.warnings, w...)
	if err == nil {
		err = checkName(s.Name)
	}
	return s, err
}

// checkName refuses a service name that postconf would write at the
// start of a line where it turns the entry into a comment, and its -o
// lines into strays.
func checkName(name string) error {
	if strings.HasPrefix(name, "#") {
		return fmt.Errorf("service name \"%s\" starts with '#': the entry would become a comment", name)
	}
	return nil
}

// gobble reads the rest of the entry that starts with line and parses
// it. Comment and blank lines inside the entry are written out at once,
// so they end up before the rewritten entry, as with postconf. Like
// postconf, it does not count the lines it reads, so line numbers in
// later messages are off by that many.
func (e *editor) gobble(line string) (*Service, error) {
	full := line
	for e.next < len(e.lines) {
		l := e.lines[e.next]
		if l[0] != '#' && !strings.ContainsRune(cfSpace, rune(l[0])) {
			break
		}
		e.next++
		if content, _ := isContent(l); content {
			full += l
		} else {
			e.write(l)
		}
	}
	s, w, err := PostfixEntry(full)
	if errors.Is(err, errFieldCount) {
		return nil, fmt.Errorf("file %s: line %d: %v", e.path, e.lineno, err)
	}
	e.warnings = append(e.warnings, w...)
	return s, err
}

// apply makes a -Fe, -Pe or -PX change to s.
func (e *editor) apply(s *Service, r *editReq) error {
	if e.kind == EditParam {
		s.Args = editParam(s.Args, r.pattern[2], r.value, e.op == EditSet)
		if len(s.Args) == 0 {
			s.Args = nil
		}
		return nil
	}
	cols := s.columns()
	if r.field == 7 {
		toks, _ := splitArgs(r.value)
		cols[7] = toks[0]
		args, fixes, _ := normalize(slices.Concat(s.Args[:0:0], toks[1:]))
		for _, fx := range fixes {
			e.warnings = append(e.warnings, fx.postfix)
		}
		*s = *newService(cols, args)
	} else {
		cols[r.field] = r.value
		*s = *newService(cols, s.Args)
	}
	return checkColumns(cols, r.value)
}

// editParam sets (or removes) every `-o name=...` among the leading
// options of args; a set that finds none appends `-o name=value` after
// the last option, as postconf's pcf_edit_master_param() does.
func editParam(args []string, name, value string, set bool) []string {
	args = slices.Clone(args)
	found := false
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if (len(a) > 1 && a[1] != 'o') || i+1 >= len(args) {
			continue
		}
		if a == "-o" && strings.HasPrefix(args[i+1], name+"=") {
			found = true
			if set {
				args[i+1] = name + "=" + value
			} else {
				args = slices.Delete(args, i, i+2)
				i -= 2
			}
		}
		i++
	}
	if set && !found {
		i = min(i, len(args))
		args = slices.Insert(args, i, "-o", name+"="+value)
	}
	return args
}

package config

import (
	"fmt"
	"strings"
)

// EditOp is how EditMain changes the named parameters.
type EditOp int

const (
	EditSet     EditOp = iota // replace in place, or append (postconf -e)
	EditRemove                // delete the logical line (postconf -X)
	EditComment               // prefix '#' to its lines (postconf -#)
)

// Assignment is one name=value edit request.
type Assignment struct{ Name, Value string }

// EditMain applies edits to main.cf text the way postconf does: each
// matching logical line is rewritten (canonical `name = value`), removed
// or commented out, with its continuation lines; comment and blank lines
// inside it are kept; other text is untouched. Names not present are
// appended for EditSet. It returns the new text and warnings.
func EditMain(path, data string, op EditOp, edits []Assignment) (string, []string) {
	var warns []string
	want := map[string]string{}
	var order []string
	for _, a := range edits {
		if old, dup := want[a.Name]; dup {
			warns = append(warns, fmt.Sprintf("ignoring earlier request: '%s = %s'", a.Name, old))
		} else {
			order = append(order, a.Name)
		}
		want[a.Name] = a.Value
	}
	seen := map[string]int{}
	var out strings.Builder
	editing := false // inside a logical line being edited
	phys := strings.SplitAfter(data, "\n")
	if phys[len(phys)-1] == "" {
		phys = phys[:len(phys)-1]
	}
	for _, line := range phys {
		body := strings.TrimRight(line, "\n")
		switch {
		case isCommentOrBlank(body):
			out.WriteString(line)
			continue
		case isSpace(body[0]):
			if editing {
				if op == EditComment {
					out.WriteString("#" + line)
				}
				continue
			}
			out.WriteString(line)
			continue
		}
		editing = false
		name, _, err := SplitNameValue(body)
		v, match := want[name]
		if err != nil || !match {
			out.WriteString(line)
			continue
		}
		editing = true
		seen[name]++
		switch op {
		case EditSet:
			out.WriteString(name + " = " + v + "\n")
		case EditComment:
			out.WriteString("#" + line)
		}
	}
	text := out.String()
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	for _, name := range order {
		if seen[name] > 1 {
			warns = append(warns, fmt.Sprintf("%s: multiple entries for %q", path, name))
		}
		if seen[name] == 0 && op == EditSet {
			text += name + " = " + want[name] + "\n"
		}
	}
	return text, warns
}

package mastercf

import (
	"fmt"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// blanks separate master.cf columns and arguments. Unlike main.cf lists,
// commas are ordinary text here: "-o a=b,c" is one argument, which is
// why config.Fields cannot be used.
const blanks = " \t\r\n"

// splitArgs splits s on blanks outside { } groups, as Postfix's
// mystrtokq() does. A '}' without an open '{' is ordinary text. open
// reports that the last token has a '{' that is never closed: it then
// runs to the end of the line.
func splitArgs(s string) (toks []string, open bool) {
	for i := 0; i < len(s); {
		if strings.IndexByte(blanks, s[i]) >= 0 {
			i++
			continue
		}
		j, level := i, 0
		for ; j < len(s); j++ {
			c := s[j]
			if c == '{' {
				level++
			} else if c == '}' && level > 0 {
				level--
			} else if level == 0 && strings.IndexByte(blanks, c) >= 0 {
				break
			}
		}
		toks = append(toks, s[i:j])
		open = level > 0
		i = j
	}
	return toks, open
}

// unbrace returns the text inside a leading { } group with surrounding
// whitespace removed, like Postfix's extpar(). problem is non-empty when
// the group is not closed or text follows it; the text is still used.
func unbrace(tok string) (inner, problem string) {
	level, end := 0, 0
	for i := 0; i < len(tok) && end == 0; i++ {
		switch tok[i] {
		case '{':
			level++
		case '}':
			if level--; level == 0 {
				end = i + 1
			}
		}
	}
	switch {
	case end == 0:
		inner, problem = tok[1:], missingBrace
	case end < len(tok):
		inner, problem = tok[1:end-1], textAfterBrace
	default:
		inner = tok[1 : end-1]
	}
	return strings.Trim(inner, " \t\r\n\v\f"), problem
}

const (
	missingBrace   = "missing '}'"
	textAfterBrace = "text after the closing '}'"
)

// argFix records a { } group that unbrace() had to repair (problem says
// how), or a -o { } value that is not name=value (problem ""). postfix is
// postconf's warning for it.
type argFix struct{ tok, problem, postfix string }

// normalize brings daemon arguments into postconf's canonical form so that
// printing matches `postconf -M` byte for byte:
//
//   - an option cluster is cut before its first 'o' after the first
//     letter: "-vo" becomes "-v" "-o";
//   - "-oVALUE" becomes "-o" "VALUE";
//   - a -o value in { } is unbraced and "name = value" becomes
//     "name=value"; other { } arguments are unbraced;
//   - option processing stops at the first argument that does not start
//     with '-', or at "--".
//
// misread reports a cluster such as "-ofoo=bar" whose attached value
// contains an 'o': postconf cuts it again ("-o f -o -o=bar") although
// the daemon's getopt() reads it as -o foo=bar.
func normalize(in []string) (args []string, fixes []argFix, misread string) {
	args = slices.Clone(in)
	unbraceAt := func(i int) string {
		inner, problem := unbrace(args[i])
		switch problem {
		case missingBrace:
			fixes = append(fixes, argFix{args[i], problem, "master.cf: missing '}' in \"" + args[i] + "\""})
		case textAfterBrace:
			fixes = append(fixes, argFix{args[i], problem, "master.cf: syntax error after '}' in \"" + args[i] + "\""})
		}
		return inner
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if k := strings.IndexByte(a[min(2, len(a)):], 'o'); k >= 0 {
			k += 2
			if a[1] == 'o' && misread == "" {
				misread = a
			}
			args = slices.Insert(args, i+1, "-"+a[k:])
			a = a[:k]
			args[i] = a
		}
		// A lone "-" takes a value like -o: postconf's strchr() test
		// matches the terminating NUL.
		if len(a) > 1 && a[1] != 'o' {
			continue
		}
		if len(a) > 2 {
			args = slices.Insert(args, i+1, a[2:])
			args[i] = a[:2]
		} else if i+1 >= len(args) {
			continue
		}
		i++
		if !strings.HasPrefix(args[i], "{") {
			continue
		}
		v := unbraceAt(i)
		if args[i-1] == "-o" {
			if name, value, err := config.SplitNameValue(v); err == nil {
				v = name + "=" + value
			} else {
				fixes = append(fixes, argFix{args[i], "", fmt.Sprintf("master.cf: %v: \"%s\"", err, v)})
			}
		}
		args[i] = v
	}
	for ; i < len(args); i++ {
		if strings.HasPrefix(args[i], "{") {
			args[i] = unbraceAt(i)
		}
	}
	return args, fixes, misread
}

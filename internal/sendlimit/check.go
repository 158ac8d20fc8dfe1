package sendlimit

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// Syntax says what a table value may be, for messages about bad ones.
const Syntax = `rules separated by commas or spaces, each N/T (N messages) or Nrcpt/T (N recipients) per T = [N]s, m, h or d, e.g. "100/1h, 1000rcpt/1d"`

// Problem is a bad value found by Check.
type Problem struct {
	Table string // "texthash:/etc/postern/sender_limits"
	File  string // where the value is written, "" if not known
	Line  int    // its line, 0 if not known
	Key   string // the entry's key or the rule's pattern
	Value string
	Err   error // what ParseRules said
}

func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s, line %d", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File)
	default:
		b.WriteString("table " + p.Table)
	}
	if p.Key != "" {
		fmt.Fprintf(&b, ", key %s", p.Key)
	}
	fmt.Fprintf(&b, ": bad value %q: %s; accepted: %s", p.Value, strings.TrimPrefix(p.Err.Error(), "sendlimit: "), Syntax)
	return b.String()
}

// Check parses every value of tables that can be listed, and every
// result without $n substitutions of pattern tables, so that a bad one
// is found before a sender meets it (then its mail would wait: 451).
// unlisted names the tables whose values cannot be known in advance;
// errs are tables that could not be read to the end.
func Check(tables []maps.Table) (problems []Problem, unlisted []string, errs []error) {
	for _, t := range tables {
		ok, err := maps.Results(t, func(r maps.Result) error {
			if r.Subst {
				return nil
			}
			if _, err := ParseRules(r.Value); err != nil {
				problems = append(problems, Problem{Table: t.Name(), File: r.File, Line: r.Line, Key: r.Key, Value: r.Value, Err: err})
			}
			return nil
		})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("table %s: %w", t.Name(), err))
		case !ok:
			unlisted = append(unlisted, t.Name())
		}
	}
	return problems, unlisted, errs
}

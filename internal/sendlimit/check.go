package sendlimit

import (
	"fmt"
	"net/netip"
	"strconv"
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
	Err   error // what ParseRules said, or why Key never matches
	// BadKey: Key is the problem (a client: or uid: key that no
	// lookup ever makes), not Value.
	BadKey bool
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
	if p.BadKey {
		fmt.Fprintf(&b, ": %v", p.Err)
		return b.String()
	}
	fmt.Fprintf(&b, ": bad value %q: %s; accepted: %s", p.Value, strings.TrimPrefix(p.Err.Error(), "sendlimit: "), Syntax)
	return b.String()
}

// Check parses every value of tables that can be listed, and every
// result without $n substitutions of pattern tables, so that a bad one
// is found before a sender meets it (then its mail would wait: 451);
// a client: or uid: key that no lookup makes (CheckKey) is a problem
// too, as its limit would never apply.
// unlisted names the tables whose values cannot be known in advance;
// errs are tables that could not be read to the end.
func Check(tables []maps.Table) (problems []Problem, unlisted []string, errs []error) {
	for _, t := range tables {
		ok, err := maps.Results(t, func(r maps.Result) error {
			if err := CheckKey(r.Key); err != nil {
				problems = append(problems, Problem{Table: t.Name(), File: r.File, Line: r.Line, Key: r.Key, Value: r.Value, Err: err, BadKey: true})
			}
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

// CheckKey says why a client: or uid: key of a table would never be
// looked up: it must be written as ClientKey and UIDKey write it.
// Other keys are not judged.
func CheckKey(key string) error {
	switch {
	case strings.HasPrefix(key, "client:"):
		s := strings.TrimPrefix(key, "client:")
		var addr netip.Addr
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is6() && !p.Addr().Is4In6() {
			addr = p.Addr()
		} else if a, err := netip.ParseAddr(s); err == nil {
			addr = a
		} else {
			return fmt.Errorf("%q is not an IPv4 address or an IPv6 /64 network", s)
		}
		if want := ClientKey(addr); want != key {
			return fmt.Errorf("never looked up: IPv4 clients are looked up by address, IPv6 clients by /64 network; write %s", want)
		}
	case strings.HasPrefix(key, "uid:"):
		n, err := strconv.Atoi(strings.TrimPrefix(key, "uid:"))
		if err != nil || n < 0 || UIDKey(n) != key {
			return fmt.Errorf("never looked up: want uid:N, N a user id in decimal")
		}
	}
	return nil
}

// HasCatchAll reports whether one of tables has a CatchAll entry (for
// postern check: without one, senders that no key finds, such as the
// null sender or a domain the table does not name, are not limited).
// A table that fails counts as having one (its error is reported
// elsewhere).
func HasCatchAll(tables []maps.Table) bool {
	for _, t := range tables {
		if _, found, err := t.Lookup(CatchAll); found || err != nil {
			return true
		}
	}
	return false
}

package mastercf

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// request is one command-line pattern: name[/type[/field-or-parameter]],
// each part either literal or "*", missing parts "*".
type request struct {
	raw   string
	parts []string
	hits  int
}

// parseRequests parses postconf patterns. usage is postconf's fatal
// message for a malformed pattern; like postconf, nothing is printed
// when any pattern is bad.
func parseRequests(patterns []string, max int, usage string) ([]*request, error) {
	var reqs []*request
	for _, raw := range patterns {
		parts := strings.FieldsFunc(raw, func(r rune) bool { return r == '/' })
		bad := strings.HasPrefix(raw, "/") || len(parts) < 1 || len(parts) > max
		for _, p := range parts {
			bad = bad || p != "*" && strings.Contains(p, "*") // "*" only on its own
		}
		if bad {
			return nil, errors.New(usage)
		}
		for len(parts) < max {
			parts = append(parts, "*")
		}
		reqs = append(reqs, &request{raw: raw, parts: parts})
	}
	return reqs, nil
}

func (r *request) match(s *Service) bool {
	return (r.parts[0] == "*" || r.parts[0] == s.Name) && (r.parts[1] == "*" || r.parts[1] == s.Type)
}

// unmatched returns postconf's warnings for requests that matched nothing.
func unmatched(reqs []*request) []string {
	var out []string
	for _, r := range reqs {
		if r.hits == 0 {
			out = append(out, fmt.Sprintf("unmatched request: %q", r.raw))
		}
	}
	return out
}

// each calls fn for every service and matching request (once per service
// with no requests), in postconf's order: file order, then request order.
func (f *File) each(reqs []*request, fn func(s *Service, r *request)) {
	for _, s := range f.Services {
		if len(reqs) == 0 {
			fn(s, nil)
		}
		for _, r := range reqs {
			if r.match(s) {
				fn(s, r)
			}
		}
	}
}

// WriteEntries writes the entries like `postconf -M [-f] [pattern ...]`;
// patterns are "name" or "name/type", "*" matching any. warnings are
// postconf's `unmatched request: "nosuch/inet"` texts (without the
// "postconf: warning: " prefix); err is postconf's fatal usage message.
func (f *File) WriteEntries(w io.Writer, o Options, patterns ...string) (warnings []string, err error) {
	reqs, err := parseRequests(patterns, 2, "-M option requires service_name[/type]")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	f.each(reqs, func(s *Service, r *request) {
		if r != nil {
			r.hits++
		}
		b.WriteString(s.entry(o))
	})
	return unmatched(reqs), writeString(w, b.String())
}

// WriteFields writes `name/type/field = value` lines like `postconf -F`;
// patterns are name[/type[/field]] with postconf's field names.
func (f *File) WriteFields(w io.Writer, o Options, patterns ...string) (warnings []string, err error) {
	reqs, err := parseRequests(patterns, 3, "-F option requires service_name[/type[/field]]")
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if r.parts[2] != "*" && !slices.Contains(fieldNames[:], r.parts[2]) {
			return nil, fmt.Errorf("invalid service attribute name: %q", r.parts[2])
		}
	}
	var b strings.Builder
	f.each(reqs, func(s *Service, r *request) {
		if r != nil {
			r.hits++
		}
		for i, name := range fieldNames {
			if r == nil || r.parts[2] == "*" || r.parts[2] == name {
				b.WriteString(s.Field(i, o))
			}
		}
	})
	return unmatched(reqs), writeString(w, b.String())
}

// WriteParams writes `name/type/parameter = value` lines for -o options
// like `postconf -P`: per entry sorted by name, the last value winning,
// whitespace collapsed. Patterns are name[/type[/parameter]].
func (f *File) WriteParams(w io.Writer, o Options, patterns ...string) (warnings []string, err error) {
	reqs, err := parseRequests(patterns, 3, "-P option requires service_name[/type[/parameter]]")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	tables := f.paramTables()
	index := map[*Service]int{}
	for i, s := range f.Services {
		index[s] = i
	}
	f.each(reqs, func(s *Service, r *request) {
		t := tables[index[s]]
		for _, name := range sortedKeys(t) {
			if r != nil && r.parts[2] != "*" && r.parts[2] != name {
				continue
			}
			if r != nil {
				r.hits++
			}
			v := t[name]
			if o.Expand != nil {
				v = o.Expand(s, v)
			}
			if o.HideName {
				printLine(&b, o.Fold, v)
			} else {
				printLine(&b, o.Fold, s.Key()+"/"+name+" = "+v)
			}
		}
	})
	return unmatched(reqs), writeString(w, b.String())
}

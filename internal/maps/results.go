package maps

import (
	"os"
	"strconv"
	"strings"
)

// Result is one answer a table can give: an entry of a table that lists
// its entries (Each), a rule of a pattern table, or static:'s value.
// Checkers of a parameter's values (postern check) use it to judge
// every value before a lookup meets it.
type Result struct {
	// Key is the entry's key as stored (folded), or the rule's pattern
	// as written ("/^alice@/", "!192.0.2.0/24"); static: has none.
	Key   string
	Value string
	// File and Line say where the result is written: the source file
	// of texthash:, cdb: (hash:…) when its entry there still has this
	// value, regexp:, pcre: and cidr:; "" and 0 where not known
	// (inline:, static:, an entry of a .cdb file whose source differs).
	File string
	Line int
	// Subst is set for a regexp: or pcre: result with $n
	// substitutions: Value then depends on the key ($1 stays written
	// as "$1") and cannot be judged in advance.
	Subst bool
}

// Results calls fn for every result of t. ok is false (and fn never
// called) for tables whose results cannot be known in advance (unix:,
// proxy: and the like).
func Results(t Table, fn func(Result) error) (ok bool, err error) {
	if u, wrapped := t.(utf8Table); wrapped {
		t = u.Table
	}
	switch t := t.(type) {
	case *texthash:
		_, path, _ := strings.Cut(t.spec, ":")
		for _, e := range t.order {
			if err := fn(Result{Key: foldKey(e.Key), Value: e.Value, File: path, Line: e.Line}); err != nil {
				return true, err
			}
		}
		return true, nil
	case *cdbTable:
		return true, t.results(fn)
	case *reTable:
		return true, t.results(fn)
	case *cidrTable:
		_, path, _ := strings.Cut(t.spec, ":")
		for _, r := range t.rules {
			if r.op != cidrMatch {
				continue
			}
			key := r.prefix.String()
			if !r.match {
				key = "!" + key
			}
			if err := fn(Result{Key: key, Value: r.value, File: path, Line: r.line}); err != nil {
				return true, err
			}
		}
		return true, nil
	case *static:
		return true, fn(Result{Value: t.value})
	}
	return Each(t, func(k, v string) error { return fn(Result{Key: k, Value: v}) })
}

// results lists the database's entries, placed at their line of the
// source file "name" when that still has the entry with the same value.
func (t *cdbTable) results(fn func(Result) error) error {
	_, name, _ := strings.Cut(t.spec, ":")
	src := map[string]Entry{}
	if data, err := os.ReadFile(name); err == nil {
		entries, _ := ParseSource(name, string(data), false)
		for _, e := range entries {
			src[foldKey(e.Key)] = e
		}
	}
	return t.each(func(k, v string) error {
		r := Result{Key: k, Value: v, File: name + cdbSuffix}
		if e, ok := src[k]; ok && e.Value == v {
			r.File, r.Line = name, e.Line
		}
		return fn(r)
	})
}

// results lists the rules' results; those with $n substitutions are
// written back with "$n" and marked Subst.
func (t *reTable) results(fn func(Result) error) error {
	_, path, _ := strings.Cut(t.spec, ":")
	for _, r := range t.rules {
		if r.op != cidrMatch {
			continue
		}
		var b strings.Builder
		for _, p := range r.repl {
			if p.group > 0 {
				b.WriteString("${" + strconv.Itoa(p.group) + "}")
			} else {
				b.WriteString(p.text)
			}
		}
		if err := fn(Result{Key: r.pattern, Value: b.String(), File: path, Line: r.line, Subst: r.subs}); err != nil {
			return err
		}
	}
	return nil
}

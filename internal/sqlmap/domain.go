package sqlmap

import (
	"fmt"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// domainList is the "domain" parameter: Postfix's string_list of names,
// /file names (whose words are names) and type:table lookups, "!" to
// negate, compared without case; the first match decides.
type domainList struct {
	items []domainItem
}

type domainItem struct {
	negate bool
	name   string     // folded
	table  maps.Table // type:table
}

func parseDomainList(spec string) (*domainList, error) {
	l := &domainList{}
	return l, l.add(spec, 0)
}

func (l *domainList) add(spec string, depth int) error {
	if depth > 10 {
		return fmt.Errorf("domain: files nested too deeply")
	}
	for _, w := range strings.FieldsFunc(spec, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) }) {
		it := domainItem{}
		for strings.HasPrefix(w, "!") {
			it.negate = !it.negate
			w = w[1:]
		}
		switch {
		case w == "":
			return fmt.Errorf("domain: empty pattern after \"!\"")
		case strings.HasPrefix(w, "/"):
			data, err := os.ReadFile(w)
			if err != nil {
				return fmt.Errorf("domain: %v", err)
			}
			var text strings.Builder
			for line := range strings.Lines(string(data)) {
				line, _, _ = strings.Cut(line, "#")
				text.WriteString(line + " ")
			}
			if err := l.add(text.String(), depth+1); err != nil {
				return err
			}
			continue
		case strings.Contains(w, ":"):
			t, err := maps.Open(w)
			if err != nil {
				return fmt.Errorf("domain: %v", err)
			}
			it.table = t
		default:
			it.name = maps.FoldKey(w)
		}
		l.items = append(l.items, it)
	}
	return nil
}

// match reports whether domain is in the list.
func (l *domainList) match(domain string) (bool, error) {
	d := maps.FoldKey(domain)
	for _, it := range l.items {
		var hit bool
		if it.table != nil {
			_, found, err := it.table.Lookup(d)
			if err != nil {
				return false, err
			}
			hit = found
		} else {
			hit = it.name == d
		}
		if hit {
			return !it.negate, nil
		}
	}
	return false, nil
}

func (l *domainList) close() {
	for _, it := range l.items {
		if it.table != nil {
			maps.Close(it.table)
		}
	}
}

package rewrite

import (
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/maps"
)

// maxCanonicalNesting is cleanup_map11's MAX_RECURSION: a canonical
// result is looked up again at most this often.
const maxCanonicalNesting = 10

// lookup is Postfix's mail_addr_map: the keys of address.LookupKeys,
// each against every table of specs before the next (pattern tables get
// the complete address only); the result is a list of addresses, each
// qualified, with the unmatched extension propagated when propagate, and
// "@domain" meaning the address's local part at domain. title names the
// parameter in warnings.
func (r *Rewriter) lookup(specs []string, addr, title string, propagate bool) ([]string, bool, error) {
	_, domain := splitAt(addr)
	local := false
	if domain != "" && r.c.IsLocal != nil {
		ok, err := r.c.IsLocal(strings.TrimSuffix(strings.ToLower(domain), "."))
		if err != nil {
			return nil, false, lookupError(title, addr, err)
		}
		local = ok
	}
	for _, k := range address.LookupKeys(addr, r.c.Delimiter, local) {
		for _, spec := range specs {
			t, err := r.c.Open(spec)
			if err != nil {
				return nil, false, lookupError(title, addr, err)
			}
			if k.Partial && maps.IsPattern(t) {
				continue
			}
			v, ok, err := t.Lookup(k.Key)
			if err != nil {
				return nil, false, lookupError(title, addr, err)
			}
			if !ok {
				continue
			}
			res := r.results(addr, v, k.Ext, propagate)
			return res, len(res) > 0, nil
		}
	}
	return nil, false, nil
}

// results turns a table's value for addr into addresses (see lookup);
// ext is the extension the matching key left out.
func (r *Rewriter) results(addr, value, ext string, propagate bool) []string {
	var out []string
	lp, _ := splitAt(addr)
	if ext != "" { // as the address has it, not folded
		_, ext = address.SplitExtension(lp, r.c.Delimiter)
	}
	for _, a := range splitList(value) {
		switch {
		case strings.HasPrefix(a, "@"):
			a = lp[:len(lp)-len(ext)] + a
		case propagate && ext != "":
			if lp, d, ok := strings.Cut(a, "@"); ok && !strings.Contains(d, "@") {
				a = lp + ext + "@" + d
			} else if !strings.Contains(a, "@") {
				a += ext
			}
		}
		if !strings.Contains(a, "@") && r.c.Qualify != nil {
			a = r.c.Qualify(a)
		}
		out = append(out, a)
	}
	return out
}

// splitList splits a table result into addresses: separated by commas
// or white space, outside double quotes; <> around an address dropped.
func splitList(v string) []string {
	var out []string
	var b strings.Builder
	quoted, esc := false, false
	flush := func() {
		s := strings.TrimSuffix(strings.TrimPrefix(b.String(), "<"), ">")
		if s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case quoted && c == '\\':
			esc = true
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			flush()
			continue
		}
		b.WriteByte(c)
	}
	flush()
	return out
}

// expand is Postfix's cleanup_map1n_internal: addr through
// virtual_alias_maps, each result looked up again (an address that
// expands to itself, among others, is kept and not looked up again), at
// most RecursionLimit levels deep and ExpansionLimit addresses in all,
// none longer than LengthLimit; a loop ends at one of the limits, and
// the message is not accepted.
func (r *Rewriter) expand(addr string) ([]string, error) {
	const title = "virtual_alias_maps"
	list := []string{addr}
	been := map[string]bool{}
	for i := 0; i < len(list); i++ {
		if len(list) > r.c.ExpansionLimit {
			return nil, limitError("unreasonable %s map expansion size for %s -- message not accepted, try again later", title, addr)
		}
		for count := 0; ; count++ {
			if been[strings.ToLower(list[i])] {
				break
			}
			if count >= r.c.RecursionLimit {
				return nil, limitError("unreasonable %s map nesting for %s -- message not accepted, try again later", title, addr)
			}
			res, ok, err := r.lookup(r.c.VirtualAlias, list[i], title, r.c.PropagateVirtual)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			lhs := list[i]
			for j, a := range res {
				if r.c.LengthLimit > 0 && len(a) > r.c.LengthLimit {
					return nil, limitError("unreasonable %s result %.300s... -- message not accepted, try again later", title, a)
				}
				if j == 0 {
					list[i] = a
				} else {
					list = append(list, a)
				}
				if strings.EqualFold(lhs, a) {
					been[strings.ToLower(lhs)] = true
				}
			}
		}
	}
	return list, nil
}

// map11 is Postfix's cleanup_map11_internal: addr through a canonical
// table, the result looked up again until it no longer changes.
func (r *Rewriter) map11(addr string, specs []string, title, id string) (string, error) {
	for range maxCanonicalNesting {
		res, ok, err := r.lookup(specs, addr, title, r.c.PropagateCanonical)
		if err != nil {
			return "", err
		}
		if !ok {
			return addr, nil
		}
		if len(res) > 1 {
			r.warn("%s: multi-valued %s entry for %s", idOr(id), title, addr)
		}
		if res[0] == addr {
			return addr, nil
		}
		addr = res[0]
	}
	return "", limitError("unreasonable %s map nesting for %s -- message not accepted, try again later", title, addr)
}

// masquerade is Postfix's cleanup_masquerade_internal: a domain below
// one of masquerade_domains becomes that domain ("!domain": left as it
// is), unless the local part is in masquerade_exceptions.
func (r *Rewriter) masquerade(addr string) (string, error) {
	lp, domain := splitAt(addr)
	if domain == "" {
		return addr, nil
	}
	if ex, err := r.excepted(lp); err != nil || ex {
		return addr, err
	}
	d := strings.ToLower(domain)
	for _, m := range r.c.Masquerade {
		truncate := true
		for strings.HasPrefix(m, "!") {
			truncate, m = !truncate, m[1:]
		}
		switch {
		case m == "":
			continue
		case m == d:
			return addr, nil
		case len(m) < len(d) && strings.HasSuffix(d, "."+m):
			if truncate {
				return lp + "@" + m, nil
			}
			return addr, nil
		}
	}
	return addr, nil
}

// excepted reports a local part in masquerade_exceptions (names, or
// type:table, matched without case; "!name" excludes).
func (r *Rewriter) excepted(lp string) (bool, error) {
	lp = strings.ToLower(lp)
	for _, e := range r.c.MasqueradeExceptions {
		neg := strings.HasPrefix(e, "!")
		e = strings.TrimPrefix(e, "!")
		match := false
		if strings.Contains(e, ":") && r.c.Open != nil {
			t, err := r.c.Open(e)
			if err != nil {
				return false, lookupError("masquerade_exceptions", lp, err)
			}
			_, ok, err := t.Lookup(lp)
			if err != nil {
				return false, lookupError("masquerade_exceptions", lp, err)
			}
			match = ok
		} else {
			match = strings.EqualFold(e, lp)
		}
		if match {
			return !neg, nil
		}
	}
	return false, nil
}

func idOr(id string) string {
	if id == "" {
		return "NOQUEUE"
	}
	return id
}

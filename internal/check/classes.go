package check

import (
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/policy"
)

// classPairs are the domain lists of two address classes that must not
// share a domain, in the order Postfix's trivial-rewrite warns about them:
// the first class listed wins, so the other's setting is silently unused.
var classPairs = [][2]string{
	{"mydestination", "virtual_alias_domains"},
	{"mydestination", "virtual_mailbox_domains"},
	{"virtual_alias_domains", "virtual_mailbox_domains"},
	{"virtual_alias_domains", "relay_domains"},
	{"virtual_mailbox_domains", "relay_domains"},
}

// addressClasses warns, as Postfix does when it resolves such a domain,
// about a domain name that one class lists and another matches (by name or
// through its lookup tables): "do not list domain X in BOTH mydestination
// and virtual_mailbox_domains".
func (c *checker) addressClasses() {
	open := func(spec string) (policy.Table, error) { return maps.Open(spec) }
	lists := map[string]*policy.DomainList{}
	for _, pair := range classPairs {
		for _, name := range pair {
			if lists[name] == nil {
				l, err := policy.NewDomainList(c.cfg, name, open)
				if err != nil {
					return // reported with the parameter
				}
				lists[name] = l
			}
		}
	}
	for _, pair := range classPairs {
		first, second := lists[pair[0]], lists[pair[1]]
		seen := map[string]bool{}
		for _, l := range []*policy.DomainList{first, second} {
			for _, d := range l.Names() {
				if seen[d] {
					continue
				}
				in1, err1 := first.Match(d)
				in2, err2 := second.Match(d)
				if err1 != nil || err2 != nil || !in1 || !in2 {
					continue
				}
				seen[d] = true
				c.warnf(pair[1], "do not list domain %s in BOTH %s and %s: it is in the %s class, and %s has no effect for it",
					d, pair[0], pair[1], className(pair[0]), pair[1])
			}
		}
	}
}

func className(list string) string {
	switch list {
	case "mydestination":
		return "local"
	case "virtual_alias_domains":
		return "virtual alias"
	}
	return "virtual mailbox"
}

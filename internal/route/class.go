package route

import "strings"

// Class is a domain's address class (ADDRESS_CLASS_README): it picks the
// default transport and the table that lists the valid recipients.
type Class int

const (
	Default      Class = iota // everything else: default_transport or relayhost
	Local                     // mydestination and own address literals
	VirtualAlias              // virtual_alias_domains: every recipient must be aliased
	Virtual                   // virtual_mailbox_domains: virtual_transport
	Relay                     // relay_domains: relay_transport
)

func (c Class) String() string {
	return [...]string{"default", "local", "virtual alias", "virtual mailbox", "relay"}[c]
}

// Final reports whether mail for the class is delivered on this host
// (Postfix's RESOLVE_CLASS_FINAL): such domains, like relay domains, are
// accepted destinations for relay control.
func (c Class) Final() bool { return c == Local || c == VirtualAlias || c == Virtual }

// Classes decides a domain's class from its domain lists. Each function
// matches a domain (without a trailing dot, any case); nil matches
// nothing; an error means the list could not be read and the address must
// wait (Postfix: RESOLVE_FLAG_FAIL).
type Classes struct {
	IsLocal        func(domain string) (bool, error) // mydestination, own address literals
	IsVirtualAlias func(domain string) (bool, error) // virtual_alias_domains
	IsVirtual      func(domain string) (bool, error) // virtual_mailbox_domains
	IsRelay        func(domain string) (bool, error) // relay_domains
}

// Of returns the class of domain, testing the lists in trivial-rewrite's
// order: local, virtual alias, virtual mailbox, relay. A domain in two
// lists gets the first class (postern check warns about it).
func (cs Classes) Of(domain string) (Class, error) {
	domain = strings.TrimSuffix(domain, ".")
	for _, c := range []struct {
		class Class
		match func(string) (bool, error)
	}{{Local, cs.IsLocal}, {VirtualAlias, cs.IsVirtualAlias}, {Virtual, cs.IsVirtual}, {Relay, cs.IsRelay}} {
		if c.match == nil {
			continue
		}
		ok, err := c.match(domain)
		if err != nil {
			return Default, err
		}
		if ok {
			return c.class, nil
		}
	}
	return Default, nil
}

// Package route decides where a recipient goes, as Postfix's
// trivial-rewrite(8) resolve service does: the address class of its domain
// (class.go) picks a transport and next hop (local_transport for
// mydestination, the error transport for virtual_alias_domains,
// virtual_transport for virtual_mailbox_domains, relay_transport for
// relay_domains, default_transport or relayhost for the rest), and
// transport_maps overrides that per address or domain, except for the
// virtual alias class.
package route

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// Route is a transport and its next hop: "local" and "mx.example.test",
// "smtp" and "[relay.example.net]:587", "error" and a reason.
type Route struct {
	Transport string
	Nexthop   string
}

func (r Route) String() string { return r.Transport + ":" + r.Nexthop }

// Router resolves recipients.
type Router struct {
	Local     Route        // local_transport, nexthop defaulting to myhostname
	Virtual   Route        // virtual_transport
	Relay     Route        // relay_transport
	Default   Route        // default_transport
	Relayhost string       // relayhost: next hop for relay and default classes
	Transport []maps.Table // transport_maps
	Delimiter string       // recipient_delimiter
	// HideTableName: show_user_unknown_table_name = no, so the virtual
	// alias class bounces "User unknown" without naming the table.
	HideTableName bool
	// IsLocal, IsVirtualAlias, IsVirtual and IsRelay classify a domain
	// (see Classes): mydestination and own address literals,
	// virtual_alias_domains, virtual_mailbox_domains, relay_domains.
	IsLocal, IsVirtualAlias, IsVirtual, IsRelay func(domain string) (bool, error)
}

// Classes are the router's domain lists.
func (r *Router) Classes() Classes {
	return Classes{IsLocal: r.IsLocal, IsVirtualAlias: r.IsVirtualAlias, IsVirtual: r.IsVirtual, IsRelay: r.IsRelay}
}

// UnknownAlias is the error transport's next hop for the virtual alias
// class: a recipient there that virtual_alias_maps did not rewrite
// bounces with it.
func (r *Router) UnknownAlias() Route {
	if r.HideTableName {
		return Route{Transport: "error", Nexthop: "5.1.1 User unknown"}
	}
	return Route{Transport: "error", Nexthop: "5.1.1 User unknown in virtual alias table"}
}

// Parse splits "transport:nexthop" (local_transport, transport_maps
// results); a missing transport or next hop stays empty.
func Parse(s string) Route {
	t, n, _ := strings.Cut(strings.TrimSpace(s), ":")
	return Route{Transport: t, Nexthop: n}
}

// Resolve returns the route for a fully qualified recipient address. An
// error means a lookup failed: the recipient must wait.
func (r *Router) Resolve(addr string) (Route, error) {
	_, domain := split(addr)
	var def Route
	class, err := r.Classes().Of(domain)
	if err != nil {
		return Route{}, err
	}
	switch class {
	case Local:
		def = r.Local
	case VirtualAlias:
		// Postfix's resolver never lets transport_maps override this
		// class: only virtual_alias_maps gets such mail anywhere.
		return r.UnknownAlias(), nil
	case Virtual:
		def = r.Virtual
	case Relay:
		def = r.Relay
		def.Nexthop = first(def.Nexthop, r.Relayhost, domain)
	default:
		def = r.Default
		def.Nexthop = first(def.Nexthop, r.Relayhost, domain)
	}
	if def.Nexthop == "" {
		def.Nexthop = domain
	}
	t, found, err := r.lookupTransport(addr)
	if err != nil || !found {
		return def, err
	}
	// An empty transport or next hop in a transport_maps result keeps the
	// class default's (transport(5)); an error: result keeps its text.
	if t.Transport == "" {
		t.Transport = def.Transport
	}
	if t.Nexthop == "" && t.Transport == def.Transport {
		t.Nexthop = def.Nexthop
	} else if t.Nexthop == "" {
		t.Nexthop = domain
	}
	return t, nil
}

// lookupTransport searches transport_maps as transport(5) describes: the
// address, the address without extension, the domain, then ".parent"
// domains (with the default parent_domain_matches_subdomains), then "*".
func (r *Router) lookupTransport(addr string) (Route, bool, error) {
	if len(r.Transport) == 0 {
		return Route{}, false, nil
	}
	local, domain := split(strings.ToLower(addr))
	keys := []string{local + "@" + domain}
	if i := strings.IndexAny(local, r.Delimiter); r.Delimiter != "" && i > 0 {
		keys = append(keys, local[:i]+"@"+domain)
	}
	keys = append(keys, domain)
	for d := domain; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		keys = append(keys, "."+d)
	}
	keys = append(keys, "*")
	for _, k := range keys {
		v, ok, err := maps.Query(k, r.Transport...)
		if err != nil {
			return Route{}, false, fmt.Errorf("transport_maps lookup of %s: %w", k, err)
		}
		if ok {
			return Parse(v), true, nil
		}
	}
	return Route{}, false, nil
}

func split(addr string) (local, domain string) {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

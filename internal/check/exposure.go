package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/restriction"
)

// verdict is what a restriction list does to a stranger — a client
// outside mynetworks, not authenticated — relaying to a foreign domain.
type verdict int

const (
	permits verdict = iota // runs off the end or hits a permit
	rejects
)

// exposure warns when listening beyond loopback is not protected: an
// open relay, or a mynetworks that trusts too much.
func (c *checker) exposure() {
	addrs, err := c.cfg.InetAddrs(resolveCtx())
	if err != nil {
		return
	}
	public := false
	for _, a := range addrs {
		if !a.Addr().IsLoopback() {
			public = true
		}
	}
	relay, errR := c.cfg.List("smtpd_relay_restrictions")
	rcpt, errC := c.cfg.List("smtpd_recipient_restrictions")
	if errR != nil || errC != nil {
		return // reported by validate
	}
	if !hasWorkingInstance(relay) && !hasWorkingInstance(rcpt) {
		why := "add reject_unauth_destination after the permit_* restrictions"
		if _, set := c.cfg.SetInMain("smtpd_relay_restrictions"); !set {
			why = fmt.Sprintf("compatibility_level %s leaves smtpd_relay_restrictions empty; set compatibility_level = 3.6 or list the restrictions", c.value("compatibility_level"))
		}
		c.errorf("smtpd_relay_restrictions", "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions contains reject_unauth_destination, defer_unauth_destination, reject, defer or defer_if_permit, so the SMTP server refuses to run: %s", why)
		return
	}
	nets := c.trustedNetworks()
	if public && c.strangerVerdict(relay, nets) == permits && c.strangerVerdict(rcpt, nets) == permits {
		name := "smtpd_relay_restrictions"
		if _, set := c.cfg.SetInMain("smtpd_recipient_restrictions"); set {
			name = "smtpd_recipient_restrictions"
		}
		fix := "put reject_unauth_destination after the permit_* restrictions"
		if c.strangerHasCert() && (slices.Contains(relay, "permit_tls_all_clientcerts") || slices.Contains(rcpt, "permit_tls_all_clientcerts")) {
			fix = "permit_tls_all_clientcerts lets through anybody with a certificate from a public CA of smtpd_tls_CAfile/smtpd_tls_CApath: trust a dedicated CA only, or use permit_tls_clientcerts"
		}
		c.errorf(name, "OPEN RELAY: inet_interfaces = %s listens beyond loopback, and these restrictions let any client relay to any domain: %s", c.value("inet_interfaces"), fix)
	}
	if !public {
		return
	}
	for _, p := range nets {
		switch {
		case p.Bits() == 0:
			c.errorf("mynetworks", "%s trusts every address on the Internet to relay mail (open relay)", p)
		case !p.Addr().IsPrivate() && !p.Addr().IsLoopback() && p.Bits() < 16 && p.Addr().Is4():
			c.warnf("mynetworks", "%s trusts %d public addresses to relay mail; is that intended?", p, 1<<(32-p.Bits()))
		}
	}
	if _, set := c.cfg.SetInMain("mynetworks"); !set && c.value("mynetworks_style") == "subnet" {
		c.warnf("mynetworks", "derived with mynetworks_style = subnet (compatibility_level < 2): every host on this server's subnets (%s) may relay; set mynetworks explicitly or compatibility_level = 3.6", c.value("mynetworks"))
	}
}

func (c *checker) value(name string) string {
	v, _ := c.cfg.Get(name)
	return v
}

// trustedNetworks returns mynetworks' literal networks.
func (c *checker) trustedNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, f := range config.Fields(c.value("mynetworks")) {
		if strings.HasPrefix(f, "!") {
			continue
		}
		s := strings.NewReplacer("[", "", "]", "").Replace(f)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// hasWorkingInstance is smtpd's start-up rule: a relay-protecting
// restriction must appear in one of the two lists.
func hasWorkingInstance(list []string) bool {
	for _, r := range list {
		switch r {
		case "reject_unauth_destination", "defer_unauth_destination", "reject", "defer", "defer_if_permit", "check_relay_domains":
			return true
		}
	}
	return false
}

// strangerVerdict walks a list as the SMTP server would for a stranger.
// Access tables and classes might decide either way; they are passed over,
// so a permit behind them is still seen. permit_tls_all_clientcerts
// permits a stranger when the client CA files trust public CAs.
func (c *checker) strangerVerdict(list []string, nets []netip.Prefix) verdict {
	items, _ := restriction.Parse(list, nil)
	for _, it := range items {
		switch it.Name {
		case "permit":
			return permits
		case "reject", "defer", "defer_if_permit", "reject_unauth_destination", "defer_unauth_destination":
			return rejects
		case "permit_mynetworks":
			for _, p := range nets {
				if p.Bits() == 0 {
					return permits
				}
			}
		case "permit_tls_all_clientcerts":
			if c.strangerHasCert() {
				return permits
			}
		}
	}
	return permits
}

// restrictions warns about restrictions that can never be reached.
func (c *checker) restrictions() {
	classes, _ := c.cfg.List("smtpd_restriction_classes")
	for _, name := range config.Names() {
		if p, _ := config.Lookup(name); p.Kind != config.Restrictions {
			continue
		}
		list, err := c.cfg.List(name)
		if err != nil {
			continue
		}
		items, _ := restriction.Parse(list, classes)
		if after, first, ok := restriction.Unreachable(items); ok {
			c.warnf(name, "%s can never be reached: it follows the unconditional %s", first.Name, after.Name)
		}
		c.unimplementedRestrictions(name, items)
	}
	for _, class := range classes {
		if list, err := c.cfg.List(class); err == nil {
			items, _ := restriction.Parse(list, classes)
			c.unimplementedRestrictions(class, items)
		}
	}
}

// unimplementedRestrictions refuses the restrictions Postfix has and
// postern's engine does not evaluate yet.
func (c *checker) unimplementedRestrictions(name string, items []restriction.Item) {
	for _, it := range items {
		if !it.Class && !policy.Implements(it.Name) {
			c.errorf(name, "postern does not implement the restriction %s yet: remove it; until then every command it applies to is answered 451 4.3.5 Server configuration error", it.Name)
		}
		if it.Name == "check_policy_service" {
			if err := policy.CheckService(it.Arg); err != nil {
				c.errorf(name, "%v: every command it applies to is answered 451 4.3.5 Server configuration error", err)
			}
		}
	}
}

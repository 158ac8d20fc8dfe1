package check

import (
	"github.com/postern-mta/postern/internal/deliver/virtual"
	"github.com/postern-mta/postern/internal/route"
)

// agents are the transports postern has a delivery agent for (the
// queue manager's agents, internal/master/pipeline.go).
var agents = map[string]bool{
	"local": true, "discard": true, "error": true, "retry": true,
	"smtp": true, "relay": true, "lmtp": true, "virtual": true,
}

// transports refuses a class transport postern has no agent for, when
// mail can reach it: smtpd would accept the recipients, and their mail
// would wait in the queue until it bounces.
func (c *checker) transports() {
	for _, t := range []struct{ param, domains string }{
		{"local_transport", "mydestination"},
		{"virtual_transport", "virtual_mailbox_domains"},
		{"relay_transport", "relay_domains"},
		{"default_transport", ""},
		{"mailbox_transport", ""},
	} {
		v, err := c.cfg.Get(t.param)
		if err != nil || v == "" || !c.used(t.domains) {
			continue
		}
		if name := route.Parse(v).Transport; !agents[name] {
			c.errorf(t.param, "postern has no %q transport (it has local, virtual, lmtp, smtp, relay, discard, error and retry): its mail would never be delivered", name)
		}
	}
	c.virtualDelivery()
}

// used reports whether a class's domain list (a parameter) has a
// member; "" is the default class, always used.
func (c *checker) used(domains string) bool {
	if domains == "" {
		return true
	}
	l, err := c.cfg.List(domains)
	return err == nil && len(l) > 0
}

// virtualDelivery refuses a virtual mailbox class routed to postern's
// virtual agent that the agent cannot serve (virtual_mailbox_base
// empty, the default, or relative; no uid or gid tables; a mailbox
// limit below message_size_limit): every recipient smtpd accepts would
// wait in the queue until it bounces.
func (c *checker) virtualDelivery() {
	vt, err := c.cfg.Get("virtual_transport")
	if err != nil || route.Parse(vt).Transport != "virtual" || !c.used("virtual_mailbox_domains") {
		return
	}
	num := func(name string) int64 { n, _ := c.cfg.Int(name); return n }
	get := func(name string) string { v, _ := c.cfg.Get(name); return v }
	_, err = virtual.New(virtual.Config{
		MailboxBase:      get("virtual_mailbox_base"),
		MyHostname:       get("myhostname"),
		MinimumUID:       num("virtual_minimum_uid"),
		MailboxLimit:     num("virtual_mailbox_limit"),
		MessageSizeLimit: num("message_size_limit"),
	})
	if err != nil {
		c.errorf("virtual_mailbox_base", "virtual_mailbox_domains are delivered by the virtual transport, which cannot work: %v", err)
	}
	for _, name := range []string{"virtual_uid_maps", "virtual_gid_maps"} {
		if l, err := c.cfg.List(name); err == nil && len(l) == 0 {
			c.errorf(name, "virtual_mailbox_domains are delivered by the virtual transport, which needs %s: every delivery would be deferred", name)
		}
	}
}

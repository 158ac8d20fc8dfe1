package check

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr"
)

// interfaces reports, for -v, how inet_interfaces resolved, and which
// sockets the master.cf inet services will listen on.
func (c *checker) interfaces() {
	v, err := c.cfg.Get("inet_interfaces")
	if err != nil {
		return
	}
	addrs, err := c.cfg.InetAddrs(resolveCtx())
	if err != nil {
		return // reported by validate
	}
	var list []string
	for _, a := range addrs {
		list = append(list, fmt.Sprintf("%s (%s)", a.Addr(), a.Iface))
	}
	c.info("inet_interfaces = %s: %s", v, orNone(strings.Join(list, ", ")))
	for _, elem := range config.Fields(v) {
		if elem == "all" || elem == "loopback-only" || !inetaddr.IsInterface(c.cfg.Sys, elem) {
			continue
		}
		if ips, err := c.cfg.Sys.LookupHost(resolveCtx(), elem); err == nil && len(ips) > 0 {
			c.info("inet_interfaces: %q is both an interface and a host name; postern uses the interface", elem)
		}
	}
	if mn, err := c.cfg.Get("mynetworks"); err == nil {
		_, set := c.cfg.SetInMain("mynetworks")
		src := "set in main.cf"
		if !set {
			src = "derived from inet_interfaces"
		}
		c.info("mynetworks (%s) = %s", src, orNone(mn))
	}
	if c.master == nil {
		return
	}
	for _, s := range c.master.Services {
		if s.Type != "inet" || (s.Command != "smtpd" && s.Command != "postscreen") {
			continue // postern listens for smtpd and postscreen services only
		}
		host, port, err := s.HostPort()
		if err != nil {
			continue // reported by the master.cf parser
		}
		if host != "" {
			c.info("service %s: listens on %s", s.Name, joinHostPort(host, port))
			continue
		}
		var socks []string
		if strings.TrimSpace(v) == "all" {
			p, _ := c.cfg.Protocols()
			if p.IPv4 {
				socks = append(socks, joinHostPort("0.0.0.0", port))
			}
			if p.IPv6 {
				socks = append(socks, joinHostPort("::", port))
			}
		} else {
			for _, a := range addrs {
				socks = append(socks, joinHostPort(a.Addr().String(), port))
			}
		}
		c.info("service %s: listens on %s", s.Name, orNone(strings.Join(socks, ", ")))
	}
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

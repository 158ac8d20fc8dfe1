// Package listen decides which sockets postern listens on — from
// inet_interfaces, inet_protocols and the master.cf inet services — and
// keeps them open across reloads, so that an unchanged address never
// refuses a connection while the configuration changes.
package listen

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/mastercf"
)

// Socket is one listening socket of one master.cf service.
type Socket struct {
	Service string // master.cf service name as written ("smtp", "127.0.0.1:2525")
	Addr    netip.AddrPort
}

// Network is "tcp4" or "tcp6".
func (s Socket) Network() string {
	if s.Addr.Addr().Is4() {
		return "tcp4"
	}
	return "tcp6"
}

// Key identifies the socket in the pool: network, address and port.
func (s Socket) Key() string { return s.Network() + " " + s.Addr.String() }

// Plan returns the sockets for the inet services, as Postfix's master
// opens them: a port-only service listens on every inet_interfaces
// address (one wildcard socket per protocol for `all`); a host:port
// service listens on that host's addresses only. It reports every problem.
func Plan(ctx context.Context, cfg *config.Config, services []*mastercf.Service) ([]Socket, error) {
	protos, err := cfg.Protocols()
	if err != nil {
		return nil, err
	}
	var own []netip.Addr // addresses for port-only services
	iface, err := cfg.Get("inet_interfaces")
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(strings.TrimSpace(iface), "all") {
		if protos.IPv4 {
			own = append(own, netip.IPv4Unspecified())
		}
		if protos.IPv6 {
			own = append(own, netip.IPv6Unspecified())
		}
	} else {
		addrs, err := cfg.InetAddrs(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			own = append(own, a.Addr())
		}
	}
	var out []Socket
	var errs []string
	owner := map[string]string{}
	for _, s := range services {
		if s.Type != mastercf.Inet {
			continue
		}
		host, port, err := s.HostPort()
		if err != nil {
			errs = append(errs, fmt.Sprintf("master.cf line %d: service %s: %v", s.Line, s.Name, err))
			continue
		}
		addrs := own
		if host != "" {
			if addrs, err = resolveHost(ctx, cfg.Sys, host, protos); err != nil {
				errs = append(errs, fmt.Sprintf("master.cf line %d: service %s: %v", s.Line, s.Name, err))
				continue
			}
		}
		for _, a := range addrs {
			sock := Socket{Service: s.Name, Addr: netip.AddrPortFrom(a, uint16(port))}
			if prev, dup := owner[sock.Key()]; dup {
				errs = append(errs, fmt.Sprintf("master.cf line %d: service %s: %s is already taken by service %s", s.Line, s.Name, sock.Addr, prev))
				continue
			}
			owner[sock.Key()] = s.Name
			out = append(out, sock)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// resolveHost resolves a master.cf service host: an address, or a name
// with every address of an enabled protocol.
func resolveHost(ctx context.Context, sys inetaddr.System, host string, p inetaddr.Protocols) ([]netip.Addr, error) {
	var found []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		found = []netip.Addr{a}
	} else if found, err = sys.LookupHost(ctx, host); err != nil {
		return nil, fmt.Errorf("bad hostname or network address: %s", host)
	}
	var out []netip.Addr
	for _, a := range found {
		if a = a.Unmap(); p.Allows(a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no address of an enabled protocol (inet_protocols)", host)
	}
	return out, nil
}

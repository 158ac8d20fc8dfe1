package master

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/listen"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/postscreen"
	"github.com/postern-mta/postern/internal/resolver"
)

// passService is the master.cf pass service postscreen hands clients to
// (Postfix's smtpd_service_name default): `smtpd pass - - y - - smtpd`.
const passService = "smtpd"

// buildScreens sets up each master.cf postscreen service: its tests
// (main.cf overridden by its -o options), the smtpd server of the pass
// service for clients that pass, in the same process on the same
// connection, and the pass service's maxproc as its session limit
// (postscreen's own maxproc is Postfix's process count: one process
// serves every client).
func (g *generation) buildScreens(cfg *config.Config, screened []*mastercf.Service, pass *mastercf.Service, plan []listen.Socket) error {
	g.screens = map[string]*postscreen.Screen{}
	if len(screened) == 0 {
		return nil
	}
	def, err := cfg.Int("default_process_limit")
	if err != nil {
		return err
	}
	n, err := pass.ProcessLimit(int(def))
	if err != nil {
		return fmt.Errorf("master.cf line %d: service %s: %v", pass.Line, pass.Key(), err)
	}
	srv := g.server(pass.Name)
	for _, s := range screened {
		pc, err := postscreen.ConfigFrom(s.Settings(cfg))
		if err != nil {
			return fmt.Errorf("master.cf line %d: service %s: %w", s.Line, s.Key(), err)
		}
		spc, err := postscreen.ConfigFrom(s.Settings(cfg).With("stress", "yes"))
		if err != nil {
			return fmt.Errorf("master.cf line %d: service %s: %w", s.Line, s.Key(), err)
		}
		scr := &postscreen.Screen{Config: pc, StressConfig: spc, MyNetworks: func(a netip.Addr) bool { return srv.Policy.MyNetworks(a, "") },
			Resolver: resolver.New()}
		if srv.TLS != nil && srv.Config.TLSLevel != "" && !srv.Config.TLSWrapper {
			// The dummy engine offers STARTTLS as the smtpd clients
			// are handed to does (Postfix's postscreen: tlsproxy).
			scr.TLS, scr.TLSRequired = srv.TLS.Config, srv.Config.TLSLevel == "encrypt"
		}
		if err := scr.Open(); err != nil {
			return fmt.Errorf("master.cf line %d: service %s: %w", s.Line, s.Key(), err)
		}
		g.screens[s.Name] = scr
		g.screenOrder = append(g.screenOrder, s.Name)
		g.servers[s.Name] = srv
		host, port, _ := s.HostPort()
		label := fmt.Sprint(port)
		if host != "" {
			label = net.JoinHostPort(host, label)
		}
		local := true
		for _, p := range plan {
			if p.Service == s.Name && !p.Addr.Addr().IsLoopback() {
				local = false
			}
		}
		g.limits[s.Name] = serviceLimit{maxproc: n, stress: !local && n != 1, label: label}
	}
	return nil
}

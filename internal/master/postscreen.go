package master

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

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
// (main.cf overridden by its -o options) and the smtpd server of the
// pass service for clients that pass, in the same process on the same
// connection. A postscreen service accepts with its own budget,
// postscreen_pre_queue_limit + postscreen_post_queue_limit + 1 (the one
// over both limits is accepted to be told 421, as Postfix's one
// postscreen process accepts every client; postscreen's own maxproc is
// Postfix's process count); a client takes a slot of the pass service's
// maxproc only when it is handed to smtpd, waiting in the post queue
// (postQueue) while all are taken.
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
	g.postQueue = new(atomic.Int64)
	anyPublic := false
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
			Resolver: resolver.New(), PostQueue: func() int { return int(g.postQueue.Load()) }}
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
		anyPublic = anyPublic || !local
		budget := pc.PreQueueLimit + pc.PostQueueLimit + 1
		if pc.PreQueueLimit == 0 || pc.PostQueueLimit == 0 {
			budget = 0 // the file descriptor budget only
		}
		g.limits[s.Name] = serviceLimit{maxproc: budget, stress: !local, label: label}
	}
	g.limits[passService] = serviceLimit{maxproc: n, stress: anyPublic && n != 1, label: "private/" + passService}
	return nil
}

package master

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/smtpd"
)

// buildServers builds main.cf's SMTP server and one per master.cf smtpd
// service with -o options, which run with main.cf's values overridden
// by them (mastercf.Service.Settings), as Postfix's smtpd processes of
// that service do. Services whose settings are the same share one
// server, so services without -o cost nothing extra. The queue manager
// keeps main.cf's values: as in Postfix, a smtpd service's -o options
// affect that smtpd only.
func (g *generation) buildServers(ctx context.Context, services []*mastercf.Service) error {
	var err error
	if g.smtp, err = newSMTP(ctx, g.cfg); err != nil {
		return err
	}
	if g.pickupStages, err = pickupStages(g.cfg, g.smtp.Policy); err != nil {
		return err
	}
	mainProgram := programName(g.cfg, g.cfg)
	g.servers = map[string]*smtpd.Server{}
	g.programs = map[*smtpd.Server]string{g.smtp: mainProgram}
	byName := refersTo(g.cfg, nil, "service_name")
	built := map[string]*smtpd.Server{"": g.smtp}
	for _, s := range services {
		key := settingsKey(s, byName || refersTo(nil, s, "service_name"))
		if srv, ok := built[key]; ok {
			g.servers[s.Name] = srv
			continue
		}
		scfg := s.Settings(g.cfg)
		srv, err := newSMTP(ctx, scfg)
		if err != nil {
			return fmt.Errorf("master.cf line %d: service %s: %w", s.Line, s.Key(), err)
		}
		built[key] = srv
		g.servers[s.Name] = srv
		g.programs[srv] = programName(g.cfg, scfg)
	}
	return nil
}

// settingsKey identifies what a service's settings differ from main.cf
// by: its -o options (the last of a name wins), and its name when a
// value refers to $service_name. "" is main.cf's own.
func settingsKey(s *mastercf.Service, byName bool) string {
	last := map[string]string{}
	for _, o := range s.Overrides {
		last[o.Name] = o.Value
	}
	if byName {
		last["service_name"] = s.Name
	}
	names := make([]string, 0, len(last))
	for n := range last {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + "=" + last[n] + "\x00")
	}
	return b.String()
}

// refersTo reports whether a main.cf value (cfg) or one of a service's
// -o values (s) mentions name; either may be nil.
func refersTo(cfg *config.Config, s *mastercf.Service, name string) bool {
	if cfg != nil {
		for _, e := range cfg.Main.Values {
			if strings.Contains(e.Value, name) {
				return true
			}
		}
	}
	if s != nil {
		for _, o := range s.Overrides {
			if strings.Contains(o.Value, name) {
				return true
			}
		}
	}
	return false
}

// server returns the SMTP server of a master.cf service.
func (g *generation) server(service string) *smtpd.Server {
	if srv, ok := g.servers[service]; ok {
		return srv
	}
	return g.smtp
}

// distinctServers returns every server of the generation once.
func (g *generation) distinctServers() []*smtpd.Server {
	out := []*smtpd.Server{g.smtp}
	for _, srv := range g.servers {
		if !slices.Contains(out, srv) {
			out = append(out, srv)
		}
	}
	return out
}

// programName is the log program name of a service's smtpd: its
// syslog_name, when a -o option changes it, in front of "/smtpd", with
// Postfix's "postfix" (the stock `-o syslog_name=postfix/submission`)
// or main.cf's own syslog_name read as postern's: postern/submission/smtpd.
// The log handler then puts main.cf's syslog_name in place of "postern"
// as for every other program.
func programName(main, svc *config.Config) string {
	mainName, _ := main.Get("syslog_name")
	name, err := svc.Get("syslog_name")
	if err != nil || name == mainName || name == "" {
		return "postern/smtpd"
	}
	for _, own := range []string{"postfix", mainName} {
		if rest, ok := strings.CutPrefix(name, own+"/"); ok {
			return "postern/" + rest + "/smtpd"
		}
	}
	return name + "/smtpd"
}

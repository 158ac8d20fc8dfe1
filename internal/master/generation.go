package master

import (
	"context"
	"errors"
	"fmt"
	"github.com/postern-mta/postern/internal/cleanup"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/check"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/listen"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/postscreen"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/sendlimit"
	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// newSMTP builds the SMTP server of a generation. Until the durable queue
// exists, messages are refused with a temporary error, never accepted.
func newSMTP(ctx context.Context, cfg *config.Config) (*smtpd.Server, error) {
	sc, err := smtpd.ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	stress, err := smtpd.StressConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	pol, err := policy.New(ctx, cfg, OpenTable)
	if err != nil {
		return nil, err
	}
	var stressPol *policy.Policy
	if refersToStress(cfg) {
		if stressPol, err = policy.New(ctx, cfg.With("stress", "yes"), OpenTable); err != nil {
			return nil, err
		}
	}
	pol.SPFResolver = authDNS() // reject_spf_fail
	if stressPol != nil {
		stressPol.SPFResolver = authDNS()
	}
	srv := &smtpd.Server{Config: sc, Stress: stress, Policy: pol, StressPolicy: stressPol, Queue: queue.Unavailable{},
		LookupClient: smtpd.DNSLookupClient, BareNewlineExempt: pol.BareNewlineExempt,
		EventLimitExempt: pol.EventLimitExempt}
	if srv.TLS, err = tlsconf.New(cfg); err != nil {
		return nil, err
	}
	if srv.SASL, err = newAuthenticator(cfg); err != nil {
		return nil, err
	}
	hr, err := headerRules(cfg, pol)
	if err != nil {
		return nil, err
	}
	if hr != nil {
		srv.HeaderRewrite = hr
	}
	if srv.Checks, err = newChecks(ctx, cfg); err != nil {
		return nil, err
	}
	if srv.Sign, err = newSigner(cfg); err != nil {
		return nil, err
	}
	if srv.Milters, err = newSMTPMilters(cfg); err != nil {
		return nil, err
	}
	if srv.SendLimit, err = sendlimit.New(cfg, openSendLimitTable, sendCounter); err != nil {
		return nil, err
	}
	// A message held for content stages overflows to the queue's file
	// system (an unnamed file in tmp/: never mistaken for a queue file
	// or a spare), not to /tmp, which may be memory.
	if dir, err := cfg.Get("queue_directory"); err == nil && dir != "" {
		srv.SpoolDir = filepath.Join(dir, "tmp")
	}
	return srv, nil
}

// refersToStress reports whether main.cf or an override mentions
// stress: only then may restrictions differ for sessions under stress
// (the built-in ${stress?…} defaults are smtpd's timeouts and limits,
// in smtpd.StressConfigFrom), and a second policy, with its own
// tables, is built for them.
func refersToStress(cfg *config.Config) bool {
	for _, e := range cfg.Main.Values {
		if strings.Contains(e.Value, "stress") {
			return true
		}
	}
	for _, v := range cfg.Overrides {
		if strings.Contains(v, "stress") {
			return true
		}
	}
	return false
}

// generation is one loaded configuration: what new sessions use. A reload
// builds a new one and swaps it in; sessions keep the one they began with.
type generation struct {
	cfg     *config.Config
	plan    []listen.Socket
	service map[string]string // socket key → service name
	limits  map[string]serviceLimit
	smtp    *smtpd.Server // main.cf's: services without -o, and the queue manager's policy
	// servers is each master.cf smtpd service's server: main.cf
	// overridden by its -o options (services.go).
	servers  map[string]*smtpd.Server
	programs map[*smtpd.Server]string // each distinct server's log program name
	// pickupStages: the content stages of local submissions
	// (non_smtpd_milters, DKIM signing), for pickup.Config.Stages.
	pickupStages []cleanup.Stage
	freebind     bool
	loaded       time.Time
	services     string // which master.cf services, and why (logged)
	bundled      bool   // master.cf is missing: the bundled default runs
	// screens are the postscreen services' tests, by service name
	// (postscreen.go).
	screens map[string]*postscreen.Screen
	// postQueue counts the clients that passed postscreen and wait for
	// a slot of the pass service (postscreen_post_queue_limit).
	postQueue *atomic.Int64
	// screenOrder is their names in master.cf order; screenCaches their
	// temporary allowlists (nil: none), set by the daemon (pscache.go).
	screenOrder  []string
	screenCaches map[string]*postscreen.Cache
	life         life   // its sessions; ended after a reload (genend.go)
	ended        func() // if set, run when the generation has ended
}

// logServices says which master.cf services this configuration runs,
// and a warning when they are the bundled default's.
func (g *generation) logServices(log *slog.Logger) {
	if g.bundled {
		log.Warn(g.services)
		return
	}
	log.Info(g.services)
}

// ConfigError lists what `postern check` found wrong with a configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "configuration has errors:\n  " + strings.Join(e.Problems, "\n  ")
}

// load reads and validates dir; it fails if `postern check` reports errors.
func load(ctx context.Context, dir string, sys inetaddr.System) (*generation, error) {
	rep := check.Run(dir, check.Options{Sys: sys})
	if rep.Errors() > 0 {
		ce := &ConfigError{}
		for _, d := range rep.Diags {
			if d.Severity == config.Error {
				ce.Problems = append(ce.Problems, d.String())
			}
		}
		return nil, ce
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	if sys != nil {
		cfg.Sys = sys
	}
	path := filepath.Join(dir, "master.cf")
	mf, _, err := mastercf.Read(path)
	used, bundled := "", false
	if errors.Is(err, fs.ErrNotExist) {
		mf, _ = mastercf.Parse(path, mastercf.Default())
		used, bundled = path+" "+check.MissingMaster(mf), true
	} else if err != nil {
		return nil, err
	} else {
		used = fmt.Sprintf("%s: services %s", path, mf.Summary())
	}
	var services, screened []*mastercf.Service
	for _, s := range mf.Services {
		if s.Type == mastercf.Inet && s.Command == "smtpd" {
			services = append(services, s)
		}
		if s.Type == mastercf.Inet && s.Command == "postscreen" {
			screened = append(screened, s)
		}
	}
	pass := mf.Find(passService, mastercf.Pass)
	if len(screened) > 0 {
		if pass == nil || pass.Command != "smtpd" {
			return nil, fmt.Errorf("master.cf: postscreen needs the service \"%s pass ... smtpd\" to hand clients to", passService)
		}
	}
	plan, err := listen.Plan(ctx, cfg, append(slices.Clone(services), screened...))
	if err != nil {
		return nil, err
	}
	g := &generation{cfg: cfg, plan: plan, service: map[string]string{}, loaded: time.Now(),
		services: used, bundled: bundled}
	for _, s := range plan {
		g.service[s.Key()] = s.Service
	}
	if g.limits, err = serviceLimits(cfg, services, plan); err != nil {
		return nil, err
	}
	built := services
	if pass != nil && len(screened) > 0 {
		built = append(slices.Clone(services), pass)
	}
	if err := g.buildServers(ctx, built); err != nil {
		return nil, err
	}
	if err := g.buildScreens(cfg, screened, pass, plan); err != nil {
		return nil, err
	}
	if g.freebind, err = cfg.Bool("inet_interfaces_freebind"); err != nil {
		return nil, err
	}
	return g, nil
}

// dirs returns the queue and data directories.
func (g *generation) dirs() (queue, data string, err error) {
	if queue, err = g.cfg.Get("queue_directory"); err != nil {
		return
	}
	data, err = g.cfg.Get("data_directory")
	if err == nil && (queue == "" || data == "") {
		err = fmt.Errorf("queue_directory and data_directory must be set")
	}
	return
}

// OpenTable opens lookup tables for the restrictions.
func OpenTable(spec string) (policy.Table, error) { return maps.Open(spec) }

// serviceLimit is what the accept loops of one master.cf service
// enforce.
type serviceLimit struct {
	maxproc int    // sessions at once; 0: no limit
	stress  bool   // stress = yes for sessions begun at the limit
	label   string // the service's address in log lines: "25", "127.0.0.1:2525"
}

// serviceLimits reads maxproc ("-": default_process_limit). As Postfix's
// master, only a service that is not local-only (some address is not
// loopback) and may run more than one process gets stress = yes.
func serviceLimits(cfg *config.Config, services []*mastercf.Service, plan []listen.Socket) (map[string]serviceLimit, error) {
	def, err := cfg.Int("default_process_limit")
	if err != nil {
		return nil, err
	}
	out := map[string]serviceLimit{}
	for _, s := range services {
		n, err := s.ProcessLimit(int(def))
		if err != nil {
			return nil, fmt.Errorf("master.cf line %d: service %s: %v", s.Line, s.Name, err)
		}
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
		out[s.Name] = serviceLimit{maxproc: n, stress: !local && n != 1, label: label}
	}
	return out, nil
}

package master

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/local"
	"github.com/postern-mta/postern/internal/deliver/proxy"
	"github.com/postern-mta/postern/internal/deliver/smtp"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/qmgr"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// openQueue opens the durable queue (running start-up recovery) and the
// queue manager that delivers from it.
func openQueue(cfg *config.Config, pol *policy.Policy, root *proxy.Client, log *slog.Logger) (*queue.Store, *qmgr.Manager, error) {
	dir, err := cfg.Get("queue_directory")
	if err != nil {
		return nil, nil, err
	}
	minfree, limit, err := spaceLimits(cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := queue.Open(dir, queue.Options{MinFree: minfree, MessageSizeLimit: limit,
		Log: log.With("program", "postern/qmgr")})
	if err != nil {
		return nil, nil, err
	}
	// Forwarded copies go through the manager's queue, as all mail does
	// (cleanup's rewriting, an immediate start), not straight to the
	// store; the manager exists only once it is configured.
	var lq lateQueue
	mc, err := managerConfig(cfg, pol, &lq, root, log)
	if err != nil {
		return nil, nil, err
	}
	m := qmgr.New(store, *mc)
	lq.set(m.Queue())
	return store, m, nil
}

// spaceLimits returns queue_minfree and message_size_limit, the queue's
// free-space rule, which a reload applies too.
func spaceLimits(cfg *config.Config) (minfree, limit int64, err error) {
	if minfree, err = cfg.Int("queue_minfree"); err != nil {
		return 0, 0, err
	}
	limit, err = cfg.Int("message_size_limit")
	return minfree, limit, err
}

// closeAgents ends what a configuration's agents keep open (the smtp
// and lmtp transports' cached sessions): after a reload, and at stop.
func closeAgents(mc *qmgr.Config) {
	if mc == nil {
		return
	}
	for _, name := range []string{"smtp", "lmtp"} {
		if a, ok := mc.Agents[name].(*smtp.Agent); ok {
			a.Close()
		}
	}
}

// managerConfig builds the queue manager's routing, agents and timers
// from main.cf; a reload builds a new one. root, when set, is the
// privileged agent process (see agent.go), which runs local and virtual
// delivery; otherwise they run in this process.
func managerConfig(cfg *config.Config, pol *policy.Policy, q queue.Queue, root *proxy.Client, log *slog.Logger) (*qmgr.Config, error) {
	p := params{cfg: cfg}
	rt, err := NewRouter(cfg, pol)
	if err != nil {
		return nil, err
	}
	var localAgent, virtualAgent deliver.Agent
	if root != nil {
		localAgent, virtualAgent = root, root.Transport("virtual")
	} else {
		lc, err := localConfig(cfg, pol, q, log)
		if err != nil {
			return nil, err
		}
		if localAgent, err = local.New(lc); err != nil {
			return nil, err
		}
		if virtualAgent, err = newVirtualAgent(cfg, log); err != nil {
			return nil, err
		}
	}
	remote, err := smtpAgent(cfg, log)
	if err != nil {
		return nil, err
	}
	lmtpA, err := lmtpAgent(cfg, log)
	if err != nil {
		return nil, err
	}
	mc := &qmgr.Config{
		Router: rt,
		Agents: map[string]deliver.Agent{
			"local": localAgent, "discard": deliver.Discard{}, "error": deliver.Error{}, "retry": deliver.Error{Defer: true},
			"smtp": remote, "relay": remote, "lmtp": lmtpA, "virtual": virtualAgent,
		},
		MinBackoff:      p.dur("minimal_backoff_time"),
		MaxBackoff:      p.dur("maximal_backoff_time"),
		RunDelay:        p.dur("queue_run_delay"),
		MaxLifetime:     p.dur("maximal_queue_lifetime"),
		BounceLifetime:  p.dur("bounce_queue_lifetime"),
		DelayWarning:    p.dur("delay_warning_time"),
		SoftBounce:      p.bool("soft_bounce"),
		Direct:          p.bool("direct_local_delivery"),
		DirectLMTP:      p.bool("direct_lmtp_delivery"),
		Limits:          limits(cfg),
		ProcessLimit:    int(p.num("default_process_limit")),
		ActiveLimit:     1000,
		Hostname:        p.get("myhostname"),
		MailName:        p.get("mail_name"),
		BounceSizeLimit: p.num("bounce_size_limit"),
		Log:             log,
	}
	if mt := p.get("mailbox_transport"); mt != "" {
		// Local mailboxes through another transport (lmtp:…): the
		// local agent lists them, deliver.Pass hands them over here.
		r := route.Parse(mt)
		if r.Transport == "local" {
			return nil, fmt.Errorf("mailbox_transport = %s: the local transport cannot deliver its own mailboxes that way", mt)
		}
		_, limit := mc.Limits(r.Transport)
		mc.Agents["local"] = deliver.Pass{Local: localAgent, Transport: mc.Agents[r.Transport], Name: r.Transport, Nexthop: r.Nexthop, Limit: limit}
	}
	if p.err != nil {
		return nil, p.err
	}
	rw, err := newRewriter(cfg, pol, log)
	if err != nil {
		return nil, err
	}
	if rw.Active() {
		mc.Rewrite = rw
	}
	return mc, nil
}

// NewRouter is the queue manager's routing from main.cf: address classes
// (mydestination and own address literals, virtual_alias_domains,
// virtual_mailbox_domains, relay_domains: the policy's lists) and
// transport_maps. sendmail -bv uses it too.
func NewRouter(cfg *config.Config, pol *policy.Policy) (*route.Router, error) {
	p := params{cfg: cfg}
	rt := &route.Router{
		Local:          route.Parse(p.get("local_transport")),
		Virtual:        route.Parse(p.get("virtual_transport")),
		Relay:          route.Parse(p.get("relay_transport")),
		Default:        route.Parse(p.get("default_transport")),
		Relayhost:      p.get("relayhost"),
		Delimiter:      p.get("recipient_delimiter"),
		HideTableName:  !p.bool("show_user_unknown_table_name"),
		IsLocal:        pol.IsLocal,
		IsVirtualAlias: pol.IsVirtualAliasDomain,
		IsVirtual:      pol.IsVirtualMailboxDomain,
		IsRelay:        pol.IsRelayDomain,
	}
	for _, spec := range p.list("transport_maps") {
		rt.Transport = append(rt.Transport, openOrFail(spec))
	}
	return rt, p.err
}

// localConfig is local delivery's part of main.cf.
func localConfig(cfg *config.Config, pol *policy.Policy, q queue.Queue, log *slog.Logger) (local.Config, error) {
	p := params{cfg: cfg}
	lc := local.Defaults()
	for _, spec := range p.list("alias_maps") {
		lc.AliasMaps = append(lc.AliasMaps, openOrFail(spec))
	}
	lc.RecipientDelimiter = p.get("recipient_delimiter")
	lc.HomeMailbox = p.get("home_mailbox")
	lc.MailSpoolDirectory = p.get("mail_spool_directory")
	lc.AllowMailToCommands = p.list("allow_mail_to_commands")
	lc.AllowMailToFiles = p.list("allow_mail_to_files")
	lc.MailboxSizeLimit = p.num("mailbox_size_limit")
	lc.MailboxTransport = p.get("mailbox_transport") != ""
	lc.CommandTimeLimit = p.dur("command_time_limit")
	lc.MyHostname = p.get("myhostname")
	lc.MyOrigin = p.get("myorigin")
	lc.DefaultPrivs = p.get("default_privs")
	lc.IsLocalDomain = func(d string) bool { ok, _ := pol.IsLocal(d); return ok }
	lc.Queue = q
	lc.Logger = log.With("program", "postern/local")
	return lc, p.err
}

// params reads typed parameters and keeps the first error.
type params struct {
	cfg *config.Config
	err error
}

func (p *params) keep(err error) {
	if err != nil && p.err == nil {
		p.err = err
	}
}

func (p *params) get(name string) string {
	v, err := p.cfg.Get(name)
	p.keep(err)
	return v
}

func (p *params) dur(name string) time.Duration {
	v, err := p.cfg.Duration(name)
	p.keep(err)
	return v
}

func (p *params) num(name string) int64 {
	v, err := p.cfg.Int(name)
	p.keep(err)
	return v
}

func (p *params) bool(name string) bool {
	v, err := p.cfg.Bool(name)
	p.keep(err)
	return v
}

func (p *params) list(name string) []string {
	v, err := p.cfg.List(name)
	p.keep(err)
	return v
}

// limits returns a transport's destination concurrency and recipient
// limits: <transport>_destination_… when set in main.cf, else the
// default_destination_… values (local: 2 and 1, as Postfix).
func limits(cfg *config.Config) func(string) (int, int) {
	get := func(transport, what string) int {
		name := transport + "_destination_" + what
		if _, set := cfg.SetInMain(name); set || transport == "local" {
			if v, err := cfg.Int(name); err == nil {
				return int(v)
			}
		}
		v, _ := cfg.Int("default_destination_" + what)
		return int(v)
	}
	return func(transport string) (int, int) {
		return get(transport, "concurrency_limit"), get(transport, "recipient_limit")
	}
}

// openOrFail opens a table; one that cannot be opened (a hash: file not
// built yet) fails every lookup, so mail waits instead of bouncing.
func openOrFail(spec string) maps.Table {
	t, err := maps.Open(spec)
	if err != nil {
		return failedTable{spec: spec, err: err}
	}
	return t
}

type failedTable struct {
	spec string
	err  error
}

func (f failedTable) Lookup(string) (string, bool, error) {
	return "", false, fmt.Errorf("table %s: %w", f.spec, f.err)
}
func (f failedTable) Name() string { return f.spec }

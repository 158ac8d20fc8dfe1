package master

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/local"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/qmgr"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// openQueue opens the durable queue (running start-up recovery) and the
// queue manager that delivers from it.
func openQueue(cfg *config.Config, pol *policy.Policy, log *slog.Logger) (*queue.Store, *qmgr.Manager, error) {
	dir, err := cfg.Get("queue_directory")
	if err != nil {
		return nil, nil, err
	}
	minfree, err := cfg.Int("queue_minfree")
	if err != nil {
		return nil, nil, err
	}
	limit, err := cfg.Int("message_size_limit")
	if err != nil {
		return nil, nil, err
	}
	store, err := queue.Open(dir, queue.Options{MinFree: minfree, MessageSizeLimit: limit,
		Log: log.With("program", "postern/qmgr")})
	if err != nil {
		return nil, nil, err
	}
	mc, err := managerConfig(cfg, pol, store, log)
	if err != nil {
		return nil, nil, err
	}
	return store, qmgr.New(store, *mc), nil
}

// managerConfig builds the queue manager's routing, agents and timers
// from main.cf; a reload builds a new one.
func managerConfig(cfg *config.Config, pol *policy.Policy, q queue.Queue, log *slog.Logger) (*qmgr.Config, error) {
	var firstErr error
	get := func(name string) string {
		v, err := cfg.Get(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	dur := func(name string) time.Duration {
		v, err := cfg.Duration(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	num := func(name string) int64 {
		v, err := cfg.Int(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	list := func(name string) []string {
		v, err := cfg.List(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	hostname := get("myhostname")
	rt := &route.Router{
		Local:     route.Parse(get("local_transport")),
		Relay:     route.Parse(get("relay_transport")),
		Default:   route.Parse(get("default_transport")),
		Relayhost: get("relayhost"),
		Delimiter: get("recipient_delimiter"),
		IsLocal:   pol.IsLocal,
		IsRelay:   pol.IsRelayDomain,
	}
	for _, spec := range list("transport_maps") {
		rt.Transport = append(rt.Transport, openOrFail(spec))
	}
	lc := local.Defaults()
	for _, spec := range list("alias_maps") {
		lc.AliasMaps = append(lc.AliasMaps, openOrFail(spec))
	}
	lc.RecipientDelimiter = get("recipient_delimiter")
	lc.HomeMailbox = get("home_mailbox")
	lc.MailSpoolDirectory = get("mail_spool_directory")
	lc.AllowMailToCommands = list("allow_mail_to_commands")
	lc.AllowMailToFiles = list("allow_mail_to_files")
	lc.MailboxSizeLimit = num("mailbox_size_limit")
	lc.CommandTimeLimit = dur("command_time_limit")
	lc.MyHostname = hostname
	lc.MyOrigin = get("myorigin")
	lc.DefaultPrivs = get("default_privs")
	lc.IsLocalDomain = func(d string) bool { ok, _ := pol.IsLocal(d); return ok }
	lc.Queue = q
	lc.Logger = log.With("program", "postern/local")
	if firstErr != nil {
		return nil, firstErr
	}
	agent, err := local.New(lc)
	if err != nil {
		return nil, err
	}
	smtp := deliver.Unavailable{Reason: "delivery to other hosts is not built yet: the smtp transport comes with postern's next release"}
	mc := &qmgr.Config{
		Router: rt,
		Agents: map[string]deliver.Agent{
			"local": agent, "discard": deliver.Discard{}, "error": deliver.Error{}, "retry": deliver.Error{Defer: true},
			"smtp": smtp, "relay": smtp,
		},
		MinBackoff:      dur("minimal_backoff_time"),
		MaxBackoff:      dur("maximal_backoff_time"),
		RunDelay:        dur("queue_run_delay"),
		MaxLifetime:     dur("maximal_queue_lifetime"),
		BounceLifetime:  dur("bounce_queue_lifetime"),
		DelayWarning:    dur("delay_warning_time"),
		Limits:          limits(cfg),
		ProcessLimit:    int(num("default_process_limit")),
		ActiveLimit:     1000,
		Hostname:        hostname,
		MailName:        get("mail_name"),
		BounceSizeLimit: num("bounce_size_limit"),
		Log:             log,
	}
	soft, err := cfg.Bool("soft_bounce")
	if err != nil {
		return nil, err
	}
	mc.SoftBounce = soft
	return mc, firstErr
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

// Package master is postern's supervisor: it loads and validates the
// configuration, opens the listening sockets, hands connections to the
// SMTP server, and reloads or stops on request — keeping unchanged
// sockets open across a reload, unlike Postfix's master.
//
// # Session limits
//
// Each master.cf smtpd service runs at most maxproc sessions at once
// ("-": default_process_limit, 0: no limit), as Postfix's master runs at
// most that many smtpd processes. At the limit the service's accept
// loops stop accepting: further clients wait in the kernel's listen
// backlog, unanswered, as they wait for a free smtpd process under
// Postfix, and are greeted when a session ends; none is accepted only
// to be told 421. Reaching the limit is logged as Postfix's master logs
// it (`service "smtp" (25) has reached its process limit "100": new
// clients may experience noticeable delays`, at most every 1000 s), and
// for 1000 s from then new sessions of a service that is not local-only
// run with stress = yes (shorter smtpd_timeout, lower error and junk
// command limits), Postfix's stress-adaptive behaviour.
//
// The daemon also caps all sessions together by a file descriptor
// budget (fdbudget.go): a flood of connections waits in the backlog
// instead of taking the descriptors that queue files and deliveries
// need. The budget is (RLIMIT_NOFILE − open at start − reserve) / 3
// sessions, the reserve counting, with D = default_process_limit, D
// deliveries at their agent's most (the queue file, plus
// smtp.FDsPerDelivery or local.FDsPerDelivery), the smtp client's idle
// connection cache (capped at min(smtp.DefaultCacheMaxIdle, D)), and
// fixed needs (logs, tables, queue scans, pickup). Per-client counts and
// rates (smtpd_client_*_limit) are internal/anvil's, kept by the daemon
// across reloads; their peaks are logged every anvil_status_update_time
// (anvilstats.go).
package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/anvil"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver/proxy"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/listen"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/postscreen"
	"github.com/postern-mta/postern/internal/qmgr"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/supervise"
)

// Daemon is one running postern.
type Daemon struct {
	Dir string
	Log *slog.Logger
	Sys inetaddr.System // nil: the real host
	// Ready is called once every listener is bound (start, sd_notify).
	Ready func()
	// Reloading is called when a reload begins, ReloadFailed when it is
	// refused, Stopping when a stop begins (sd_notify).
	Reloading    func()
	ReloadFailed func(error)
	Stopping     func()

	pool    *listen.Pool
	gen     atomic.Pointer[generation]
	mu      sync.Mutex // serialises reload and stop
	started time.Time
	dataDir string

	store    *queue.Store
	qmgr     *qmgr.Manager
	qmgrStop context.CancelFunc
	qmgrDone chan struct{}
	agent    *proxy.Client // the root local delivery process, if any
	pickup   *pickup.Pickup
	sessions sync.WaitGroup
	workers  *workers // the goroutines sessions run on
	anvil    *anvil.Counter
	// caches are postscreen's temporary allowlists by file, kept across
	// reloads (pscache.go).
	caches  map[string]*postscreen.Cache
	gatesMu sync.Mutex
	gates   map[string]*gate       // per service: maxproc
	fdGate  *gate                  // the whole daemon: the file descriptor budget
	busy    busyGate               // the budget's busy sessions (smtpd.Busy)
	fdInfo  atomic.Pointer[string] // what the budget was computed from, for the log
	// fdLimit and fdOpen are the descriptor limit and those open at
	// start: a reload re-sizes the budget from them (setBudget).
	fdLimit uint64
	fdOpen  int
	// budgetMu guards live: the milters per session of every
	// generation that may still have sessions (setBudget).
	budgetMu sync.Mutex
	live     map[*generation]int
	// deliveries is default_process_limit at start: the queue manager's
	// deliveries at once, the budget and the smtp cache keep it.
	deliveries int
	acceptEr   acceptErrors
	connMu     sync.Mutex
	conns      map[net.Conn]struct{}
	done       chan struct{} // closed when Run should return
	stopOnce   sync.Once

	// supervisor restarts the agent process (internal/supervise).
	supervisor *supervise.Watcher
}

// Run loads the configuration, binds every listener (all or nothing),
// serves until stopped, and returns. Errors before the listeners are up
// are returned with nothing left behind.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	d.pool = listen.NewPool()
	d.conns = map[net.Conn]struct{}{}
	d.workers = newWorkers()
	d.anvil = anvil.New()
	d.gates = map[string]*gate{}
	d.done = make(chan struct{})
	g, err := load(ctx, d.Dir, d.Sys)
	if err != nil {
		return err
	}
	queue, data, err := g.dirs()
	if err != nil {
		return err
	}
	d.dataDir = data
	for _, dir := range [][2]string{{"queue_directory", queue}, {"data_directory", data}} {
		if err := os.MkdirAll(dir[1], 0o755); err != nil {
			return diraccess.Explain(dir[0], dir[1], fmt.Errorf("create: %w", err))
		}
	}
	if pid, running := Running(data); running {
		return fmt.Errorf("postern is already running (pid %d)", pid)
	}
	if _, err := d.pool.Open(g.plan, listen.Options{Freebind: g.freebind}); err != nil {
		return err
	}
	ctl, err := d.listenControl(data)
	if err != nil {
		d.pool.Close()
		return diraccess.Explain("data_directory", data, err)
	}
	defer d.cleanup(ctl, data)
	var agentCtl *net.UnixConn
	var supervisorPid int
	if needsAgent(g.cfg) {
		if agentCtl, supervisorPid, err = startAgent(d.Dir); err != nil {
			d.pool.Close()
			return err
		}
		defer agentCtl.Close()
	}
	// Counted before privileges are dropped: /proc/self/fd may not be
	// readable after.
	fdLimit, fdOpen, err := fdLimits()
	if err != nil {
		d.pool.Close()
		return err
	}
	if err := dropPrivileges(g.cfg, d.Log, queue, data); err != nil {
		d.pool.Close()
		return err
	}
	d.setLog(g)
	caches, err := d.bindCaches(g)
	if err != nil {
		d.pool.Close()
		return err
	}
	caches.commit()
	defer d.closeCaches()
	var lq lateQueue
	if agentCtl != nil {
		d.agent = proxy.NewClient(nil, &lq, d.Log.With("program", "postern/local"))
		d.agent.Restarted = d.retryLocal // called only for deferrals, so once d.qmgr is set
		d.supervisor = supervise.Watch(agentCtl, supervisorPid, func(c net.Conn) { d.agent.Attach(c) },
			func() { d.agent.Abandon("the agent supervisor exited: restart postern") }, d.Log)
		defer d.supervisor.Close()
	}
	if d.store, d.qmgr, err = openQueue(g.cfg, g.smtp.Policy, d.agent, d.Log); err != nil {
		d.pool.Close()
		return diraccess.Explain("queue_directory", queue, err)
	}
	lq.set(d.qmgr.Queue())
	g.setQueue(d.qmgr.Queue())
	qctx, qstop := context.WithCancel(context.Background())
	d.qmgrStop, d.qmgrDone = qstop, make(chan struct{})
	pc, err := pickup.ConfigFrom(g.cfg)
	if err != nil {
		d.pool.Close()
		return err
	}
	pc.Stages = g.pickupStages
	setStageLog(pc.Stages, d.Log)
	d.pickup = pickup.New(pc, d.qmgr.Queue(), d.Log.With("program", "postern/pickup"))
	pickupDone := make(chan struct{})
	go func() {
		if err := d.pickup.Run(qctx); err != nil && qctx.Err() == nil {
			d.Log.Error(fmt.Sprintf("pickup: %v: mail submitted with sendmail waits in the maildrop", err))
		}
		close(pickupDone)
	}()
	go func() { d.qmgr.Run(qctx); <-pickupDone; close(d.qmgrDone) }()
	d.fdLimit, d.fdOpen = fdLimit, fdOpen
	d.setBudget(g, true)
	d.gen.Store(g)
	d.setGates(g)
	for _, s := range g.plan {
		d.serveSocket(s.Key())
	}
	go d.serveControl(ctl)
	go d.anvilStatus()
	d.Log.Info(fmt.Sprintf("daemon started -- version %s, configuration %s", config.Version, d.Dir))
	d.Log.Info(*d.fdInfo.Load())
	g.logServices(d.Log)
	for _, s := range g.plan {
		d.Log.Info(fmt.Sprintf("service %s: listening on %s", s.Service, s.Addr))
	}
	if d.Ready != nil {
		d.Ready()
	}
	select {
	case <-d.done:
	case <-ctx.Done():
		d.Stop(30 * time.Second)
	}
	return nil
}

func (d *Daemon) cleanup(ctl net.Listener, data string) {
	ctl.Close()
	os.Remove(filepath.Join(data, pidFile))
	os.Remove(filepath.Join(data, controlSocket))
}

// serveSocket runs the accept loop of one pool socket until it is closed.
// It accepts only when its service is below maxproc and the daemon below
// its file descriptor budget (see gate): beyond, connections wait in the
// listen backlog.
func (d *Daemon) serveSocket(key string) {
	ln, ok := d.pool.Listener(key)
	if !ok {
		return
	}
	closed := func() bool { _, open := d.pool.Listener(key); return !open }
	go func() {
		var backoff time.Duration
		for {
			svc := d.gen.Load().service[key]
			sg := d.gate(svc)
			if !d.fdGate.waitRoom(closed) || !sg.waitRoom(closed) {
				return
			}
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of file descriptors (other than by sessions, which
				// the budget bounds) or memory: log a line now and then,
				// and wait longer each time instead of spinning.
				d.acceptEr.note(d.Log, key, err)
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			d.acceptEr.recovered(d.Log, key)
			d.session(c, key, sg, closed)
		}
	}()
}

// session takes the slots for c and runs its SMTP session on a worker.
func (d *Daemon) session(c net.Conn, key string, sg *gate, closed func() bool) {
	fdStress, fdWarn, ok := d.fdGate.enter(time.Now, closed)
	if !ok {
		c.Close()
		return
	}
	stress, warn, ok := sg.enter(time.Now, closed)
	if !ok {
		d.fdGate.leave()
		c.Close()
		return
	}
	g := d.enterGen() // the configuration at accept time
	svc := g.service[key]
	lim := g.limits[svc]
	if warn && lim.stress {
		d.logLimit(svc, lim)
	}
	if fdWarn {
		d.Log.Warn(fmt.Sprintf("the file descriptor budget is used up (%s): new clients wait until a session ends", *d.fdInfo.Load()))
	}
	info := smtpd.Conn{Service: svc, Stress: lim.stress && (stress || fdStress), Busy: d.busy}
	d.sessions.Add(1)
	d.track(c, true)
	j := &sessionJob{d: d, g: g, c: c, svc: svc, sg: sg, info: info, fdStress: fdStress, closed: closed}
	d.workers.run(j.run)
}

// sessionJob is one session as a worker runs it. Its run keeps a small
// frame, with one deferred call: idle sessions spend their time below
// it, and with more than about 1.2 KiB of the stack in use there the
// runtime keeps 8 KiB for each instead of 4.
type sessionJob struct {
	d        *Daemon
	g        *generation
	c        net.Conn
	svc      string
	sg       *gate
	info     smtpd.Conn
	fdStress bool
	closed   func() bool
	screened bool // the service slot is postscreen's, left by screened
}

func (j *sessionJob) run() {
	defer j.done()
	if j.svc == "" {
		// A reload removed the service between accept and here:
		// never serve its connection unscreened (or otherwise).
		j.c.Close()
		return
	}
	if j.g.screens[j.svc] != nil {
		j.screen()
		return
	}
	j.g.server(j.svc).Serve(context.Background(), j.c, j.info)
}

//go:noinline
func (j *sessionJob) screen() {
	j.screened = true
	j.d.screened(j.g, j.svc, j.g.screens[j.svc], j.c, j.sg, j.info, j.fdStress, j.closed)
}

// done gives back what the session took, in the order of its taking
// reversed.
func (j *sessionJob) done() {
	if !j.screened {
		j.sg.leave()
	}
	j.d.fdGate.leave()
	j.d.track(j.c, false)
	j.g.leave()
	j.d.sessions.Done()
}

// screened runs postscreen's tests on c and hands a client that passes
// to the pass service's smtpd. It is a function of its own so that the
// goroutine of a plain session, which idle sessions spend their time on,
// keeps a small stack (more than 2 KiB in use takes 8 KiB).
//
//go:noinline
func (d *Daemon) screened(g *generation, svc string, scr *postscreen.Screen, c net.Conn, sg *gate, info smtpd.Conn, fdStress bool, closed func() bool) {
	plog := d.Log.With("program", "postern/postscreen")
	sc := scr.CheckBusy(c, g.screenCaches[svc], plog, info.Stress, d.busy) // its DNSBL lookups open sockets
	if sc == nil {
		sg.leave()
		return
	}
	// Handed over: a slot of the pass service's smtpd, waiting for
	// one in the post queue; the postscreen slot frees once it is
	// taken.
	pg := d.gate(passService)
	if pg.isFull() && scr.Config.PostQueueLimit > 0 && g.postQueue.Load() >= int64(scr.Config.PostQueueLimit) {
		sg.leave()
		scr.RejectBusy(sc, plog)
		return
	}
	g.postQueue.Add(1)
	pstress, pwarn, ok := pg.enter(time.Now, closed)
	g.postQueue.Add(-1)
	sg.leave()
	if !ok {
		sc.Close()
		return
	}
	defer pg.leave()
	plim := g.limits[passService]
	if pwarn && plim.stress {
		d.logLimit(passService, plim)
	}
	info.Stress = plim.stress && (pstress || fdStress)
	g.server(svc).Serve(context.Background(), sc, info)
}

// logLimit logs that a service reached its process limit, as Postfix's
// master does.
func (d *Daemon) logLimit(svc string, lim serviceLimit) {
	d.Log.Warn(fmt.Sprintf("service %q (%s) has reached its process limit \"%d\": new clients may experience noticeable delays", svc, lim.label, lim.maxproc))
	d.Log.Warn("to avoid this condition, increase the process count in master.cf or reduce the service time per client")
	d.Log.Warn("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration settings")
}

// gate returns the session gate of a service; a new one has the
// service's maxproc in the current generation, so a service that a
// reload adds is never without its limit.
func (d *Daemon) gate(service string) *gate {
	d.gatesMu.Lock()
	defer d.gatesMu.Unlock()
	g, ok := d.gates[service]
	if !ok {
		limit := 0
		if gen := d.gen.Load(); gen != nil {
			limit = gen.limits[service].maxproc
		}
		g = newGate(limit)
		d.gates[service] = g
	}
	return g
}

// setGates applies a generation's maxproc values; gates of services it
// no longer has are woken, so their accept loops see their socket gone.
func (d *Daemon) setGates(g *generation) {
	for svc, lim := range g.limits {
		d.gate(svc).setLimit(lim.maxproc)
	}
	d.pokeGates()
}

func (d *Daemon) pokeGates() {
	d.gatesMu.Lock()
	defer d.gatesMu.Unlock()
	for _, g := range d.gates {
		g.poke()
	}
	if d.fdGate != nil {
		d.fdGate.poke()
	}
}

// milters is the most smtpd_milters of a service: each session holds
// a connection to each for its life.
func (g *generation) milters() int {
	n := 0
	for _, srv := range g.servers {
		if srv.Milters != nil {
			n = max(n, len(srv.Milters.Specs))
		}
	}
	return n
}

// setBudget sizes the file descriptor gate (see fdbudget.go) for the
// generations that may have sessions, with g among them (live) or not
// any more: at start, at each reload, and when a reload's old
// generation has ended, since a session holds a descriptor per milter
// of its service. Until the old sessions have ended the most milters of
// old and new count. A smaller budget leaves running sessions alone:
// new ones wait until enough have ended.
func (d *Daemon) setBudget(g *generation, live bool) {
	d.budgetMu.Lock()
	defer d.budgetMu.Unlock()
	if d.live == nil {
		d.live = make(map[*generation]int)
	}
	if live {
		d.live[g] = g.milters()
	} else {
		delete(d.live, g)
	}
	milters := 0
	for _, m := range d.live {
		milters = max(milters, m)
	}
	if d.fdGate == nil {
		deliveries, _ := g.cfg.Int("default_process_limit")
		d.deliveries = int(deliveries)
	}
	n, busy, reserve, ok := fdBudget(d.fdLimit, d.fdOpen, d.deliveries, milters)
	info := fmt.Sprintf("RLIMIT_NOFILE %d, %d open at start, %d kept in reserve, %d milters per session: %d sessions, %d of them busy at once", d.fdLimit, d.fdOpen, reserve, milters, n, busy)
	if old := d.fdInfo.Load(); old != nil && *old != info {
		d.Log.Info("file descriptor budget re-sized: " + info)
	}
	d.fdInfo.Store(&info)
	if d.fdGate == nil {
		d.fdGate = newGate(n)
		d.busy = busyGate{newGate(busy)}
	} else {
		d.fdGate.setLimit(n)
		d.busy.g.setLimit(busy)
	}
	if !ok {
		d.Log.Warn(fmt.Sprintf("the file descriptor limit is too small: %s; one SMTP session at a time (raise the hard RLIMIT_NOFILE, e.g. LimitNOFILE= in the systemd unit)", info))
	}
}

func (d *Daemon) track(c net.Conn, add bool) {
	d.connMu.Lock()
	defer d.connMu.Unlock()
	if add {
		d.conns[c] = struct{}{}
	} else {
		delete(d.conns, c)
	}
}

// Reload re-reads the configuration. If it has errors, nothing changes and
// the errors are returned. Otherwise new sockets are opened, unchanged ones
// stay open (no connection is refused), removed ones are closed, and new
// sessions get the new configuration.
func (d *Daemon) Reload(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Reloading != nil {
		d.Reloading()
	}
	refuse := func(err error) error {
		d.Log.Warn(fmt.Sprintf("reload failed, keeping the running configuration: %v", err))
		if d.ReloadFailed != nil {
			d.ReloadFailed(err)
		}
		return err
	}
	g, err := load(ctx, d.Dir, d.Sys)
	if err != nil {
		return refuse(err)
	}
	mcfg, kept := g.cfg, ""
	if n, err := g.cfg.Int("default_process_limit"); err == nil && int(n) != d.deliveries {
		kept = fmt.Sprintf("default_process_limit changed from %d to %d: the queue manager keeps %d deliveries at once, and the file descriptor budget and smtp connection cache their size, until postern is restarted; smtpd services with maxproc \"-\" use %d now", d.deliveries, n, d.deliveries, n)
		mcfg = g.cfg.With("default_process_limit", strconv.Itoa(d.deliveries))
	}
	mc, err := managerConfig(mcfg, g.smtp.Policy, d.qmgr.Queue(), d.agent, d.Log)
	if err != nil {
		return refuse(err)
	}
	minfree, limit, err := spaceLimits(g.cfg)
	if err != nil {
		return refuse(err)
	}
	if d.agent != nil {
		if err := d.agent.Reload(ctx); err != nil {
			return refuse(fmt.Errorf("local delivery agent: %w", err))
		}
	}
	caches, err := d.bindCaches(g)
	if err != nil {
		return refuse(err)
	}
	opened, err := d.pool.Open(g.plan, listen.Options{Freebind: g.freebind})
	if err != nil {
		caches.rollback()
		return refuse(privilegedPortHint(err))
	}
	caches.commit()
	d.setLog(g)
	d.store.SetSpaceLimits(minfree, limit)     // the free-space rule follows message_size_limit
	defer closeAgents(d.qmgr.Reconfigure(*mc)) // the old transports' idle sessions
	if pc, err := pickup.ConfigFrom(g.cfg); err == nil {
		pc.Stages = g.pickupStages
		setStageLog(pc.Stages, d.Log)
		d.pickup.SetConfig(pc)
	}
	g.setQueue(d.qmgr.Queue())
	old := d.gen.Swap(g)
	d.setBudget(g, true) // its milters count in every new session
	old.ended = func() { d.setBudget(old, false) }
	old.retire()  // its pools close with its last session
	d.setGates(g) // before a new socket accepts
	for key := range opened {
		d.serveSocket(key)
	}
	d.pool.Retain(g.plan)
	d.pokeGates() // accept loops of closed sockets waiting for room return
	d.Log.Info(fmt.Sprintf("reload -- version %s, configuration %s", config.Version, d.Dir))
	if kept != "" {
		d.Log.Warn(kept)
	}
	g.logServices(d.Log)
	for _, s := range g.plan {
		if _, isNew := opened[s.Key()]; isNew {
			d.Log.Info(fmt.Sprintf("service %s: listening on %s", s.Service, s.Addr))
		}
	}
	for _, s := range old.plan {
		if _, kept := g.service[s.Key()]; !kept {
			d.Log.Info(fmt.Sprintf("service %s: no longer listening on %s", s.Service, s.Addr))
		}
	}
	if d.Ready != nil {
		d.Ready()
	}
	return nil
}

// Stop stops accepting, lets sessions finish for up to timeout, then
// closes what is left and makes Run return.
func (d *Daemon) Stop(timeout time.Duration) {
	d.stopOnce.Do(func() {
		if d.Stopping != nil {
			d.Stopping()
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.pool.Close()
		d.pokeGates()
		d.Log.Info("stopping: no longer accepting connections")
		idle := make(chan struct{})
		go func() { d.sessions.Wait(); close(idle) }()
		select {
		case <-idle:
		case <-time.After(timeout):
			d.connMu.Lock()
			n := len(d.conns)
			for c := range d.conns {
				c.Close()
			}
			d.connMu.Unlock()
			d.Log.Warn(fmt.Sprintf("stop timeout %s: closed %d sessions", timeout, n))
		}
		d.closeCaches() // the sessions are over: nothing more to write
		d.qmgrStop()    // deliveries under way are deferred, never lost
		<-d.qmgrDone
		if d.store != nil { // the last removals synced, their files scrubbed
			if err := d.store.Flush(); err != nil {
				d.Log.Warn(err.Error())
			}
		}
		closeAgents(d.qmgr.Reconfigure(qmgr.Config{}))
		d.anvilReport()
		d.Log.Info("terminating")
		close(d.done)
	})
}

// Status is what `postern status` shows.
type Status struct {
	Pid       int        `json:"pid"`
	Started   time.Time  `json:"started"`
	Uptime    string     `json:"uptime"`
	Config    string     `json:"config_directory"`
	Loaded    time.Time  `json:"config_loaded"`
	Sessions  int        `json:"sessions"`
	Listeners []Listener `json:"listeners"`
	// Queue counts the messages in each queue directory.
	Queue map[string]int `json:"queue"`
	// Agent is the root local delivery agent, when there is one.
	Agent *supervise.Status `json:"local_agent,omitempty"`
}

// Listener is one listening socket in Status.
type Listener struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Network string `json:"network"`
}

func (d *Daemon) status() Status {
	g := d.gen.Load()
	d.connMu.Lock()
	n := len(d.conns)
	d.connMu.Unlock()
	st := Status{Pid: os.Getpid(), Started: d.started, Uptime: time.Since(d.started).Round(time.Second).String(),
		Config: d.Dir, Loaded: g.loaded, Sessions: n}
	st.Queue = map[string]int{}
	for _, q := range []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Corrupt} {
		if ids, err := d.store.List(q); err == nil {
			st.Queue[q] = len(ids)
		}
	}
	if d.supervisor != nil {
		a := d.supervisor.Status()
		st.Agent = &a
	}
	for _, s := range g.plan {
		if _, open := d.pool.Listener(s.Key()); open {
			st.Listeners = append(st.Listeners, Listener{Service: s.Service, Address: s.Addr.String(), Network: s.Network()})
		}
	}
	return st
}

// privilegedPortHint explains the one bind a reload cannot do: a port
// below 1024 after the daemon dropped root for mail_owner.
func privilegedPortHint(err error) error {
	if errors.Is(err, os.ErrPermission) && os.Geteuid() != 0 {
		return fmt.Errorf("%w (a port below 1024 needs CAP_NET_BIND_SERVICE once postern runs as mail_owner: run it under systemd with contrib/systemd/postern.service, or stop and start it)", err)
	}
	return err
}

// retryLocal makes the messages deferred because the local delivery
// agent was down due now that it is back (qmgr.Manager.Retry).
func (d *Daemon) retryLocal(ids []string) { d.qmgr.Retry(ids) }

// lateQueue lets the agent client queue forwarded copies through the
// queue manager, which is created after the client.
type lateQueue struct {
	mu sync.Mutex
	q  queue.Queue
}

func (l *lateQueue) set(q queue.Queue) { l.mu.Lock(); l.q = q; l.mu.Unlock() }

func (l *lateQueue) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	l.mu.Lock()
	q := l.q
	l.mu.Unlock()
	if q == nil {
		return "", errors.New("the queue is not open yet")
	}
	return q.Enqueue(ctx, env, body)
}

// setLog gives a generation's SMTP servers the daemon's logger (under
// each service's program name) and its per-client session counts.
func (d *Daemon) setLog(g *generation) {
	for _, srv := range g.distinctServers() {
		srv.Anvil = d.anvil
		log := d.Log.With("program", g.programs[srv])
		srv.Log = log
		if l, ok := srv.SASL.(interface{ SetLog(*slog.Logger) }); ok {
			l.SetLog(log) // the passwd-file logs its reload failures
		}
		srv.Policy.Warn = func(m string) { log.Warn(m) }
		if srv.TLS != nil {
			srv.TLS.Log = log // certificate reloads
			for _, w := range srv.TLS.Warnings() {
				log.Warn(w)
			}
		}
		if srv.StressPolicy != nil {
			srv.StressPolicy.Warn = srv.Policy.Warn
		}
	}
	setStageLogs(g, d.Log.With("program", "postern/cleanup"))
}

// setQueue gives a generation's SMTP servers the queue.
func (g *generation) setQueue(q queue.Queue) {
	for _, srv := range g.distinctServers() {
		srv.Queue = q
	}
}

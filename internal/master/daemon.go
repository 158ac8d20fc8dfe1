// Package master is postern's supervisor: it loads and validates the
// configuration, opens the listening sockets, hands connections to the
// SMTP server, and reloads or stops on request — keeping unchanged
// sockets open across a reload, unlike Postfix's master.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/proxy"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/listen"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/qmgr"
	"github.com/postern-mta/postern/internal/queue"
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
	// supervisor restarts the agent process (internal/supervise).
	supervisor *supervise.Watcher
	pickup     *pickup.Pickup
	sessions   sync.WaitGroup
	workers    *workers // the goroutines sessions run on
	connMu     sync.Mutex
	conns      map[net.Conn]struct{}
	done       chan struct{} // closed when Run should return
	stopOnce   sync.Once
}

// Run loads the configuration, binds every listener (all or nothing),
// serves until stopped, and returns. Errors before the listeners are up
// are returned with nothing left behind.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	d.pool = listen.NewPool()
	d.conns = map[net.Conn]struct{}{}
	d.workers = newWorkers()
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
	for _, dir := range []string{queue, data} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
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
		return err
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
	if err := dropPrivileges(g.cfg, d.Log, queue, data); err != nil {
		d.pool.Close()
		return err
	}
	d.setLog(g)
	var lq lateQueue
	if agentCtl != nil {
		d.agent = proxy.NewClient(nil, &lq, d.Log.With("program", "postern/local"))
		d.agent.Restarted = d.retryLocal // called only for deferrals, so once d.qmgr is set
		d.supervisor = supervise.Watch(agentCtl, supervisorPid, func(c net.Conn) { d.agent.Attach(c) },
			func() { d.agent.Abandon("the agent supervisor exited: restart postern") }, d.Log)
		defer d.supervisor.Close()
	}
	if d.store, d.qmgr, err = openQueue(g.cfg, g.smtp.Policy, d.localAgent(), d.Log); err != nil {
		d.pool.Close()
		return err
	}
	lq.set(d.qmgr.Queue())
	g.smtp.Queue = d.qmgr.Queue()
	qctx, qstop := context.WithCancel(context.Background())
	d.qmgrStop, d.qmgrDone = qstop, make(chan struct{})
	pc, err := pickup.ConfigFrom(g.cfg)
	if err != nil {
		d.pool.Close()
		return err
	}
	d.pickup = pickup.New(pc, d.qmgr.Queue(), d.Log.With("program", "postern/pickup"))
	pickupDone := make(chan struct{})
	go func() {
		if err := d.pickup.Run(qctx); err != nil && qctx.Err() == nil {
			d.Log.Error(fmt.Sprintf("pickup: %v: mail submitted with sendmail waits in the maildrop", err))
		}
		close(pickupDone)
	}()
	go func() { d.qmgr.Run(qctx); <-pickupDone; close(d.qmgrDone) }()
	d.gen.Store(g)
	for _, s := range g.plan {
		d.serveSocket(s.Key())
	}
	go d.serveControl(ctl)
	d.Log.Info(fmt.Sprintf("daemon started -- version %s, configuration %s", config.Version, d.Dir))
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
func (d *Daemon) serveSocket(key string) {
	ln, ok := d.pool.Listener(key)
	if !ok {
		return
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				d.Log.Warn(fmt.Sprintf("accept on %s: %v", key, err))
				time.Sleep(50 * time.Millisecond) // e.g. out of file descriptors
				continue
			}
			g := d.gen.Load() // the configuration at accept time
			d.sessions.Add(1)
			d.track(c, true)
			d.workers.run(func() {
				defer d.sessions.Done()
				defer d.track(c, false)
				g.smtp.ServeConn(context.Background(), c)
			})
		}
	}()
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
	mc, err := managerConfig(g.cfg, g.smtp.Policy, d.qmgr.Queue(), d.localAgent(), d.Log)
	if err != nil {
		return refuse(err)
	}
	if d.agent != nil {
		if err := d.agent.Reload(ctx); err != nil {
			return refuse(fmt.Errorf("local delivery agent: %w", err))
		}
	}
	opened, err := d.pool.Open(g.plan, listen.Options{Freebind: g.freebind})
	if err != nil {
		return refuse(privilegedPortHint(err))
	}
	d.setLog(g)
	defer closeAgents(d.qmgr.Reconfigure(*mc)) // the old transports' idle sessions
	if pc, err := pickup.ConfigFrom(g.cfg); err == nil {
		d.pickup.SetConfig(pc)
	}
	g.smtp.Queue = d.qmgr.Queue()
	old := d.gen.Swap(g)
	for key := range opened {
		d.serveSocket(key)
	}
	d.pool.Retain(g.plan)
	d.Log.Info(fmt.Sprintf("reload -- version %s, configuration %s", config.Version, d.Dir))
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
		d.qmgrStop() // deliveries under way are deferred, never lost
		<-d.qmgrDone
		closeAgents(d.qmgr.Reconfigure(qmgr.Config{}))
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

// localAgent is the agent process's client, or nil to deliver in process.
func (d *Daemon) localAgent() deliver.Agent {
	if d.agent == nil {
		return nil
	}
	return d.agent
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

// setLog gives a generation's SMTP server the daemon's logger.
func (d *Daemon) setLog(g *generation) {
	g.smtp.Log = d.Log.With("program", "postern/smtpd")
	g.smtp.Policy.Warn = func(m string) { g.smtp.Log.Warn(m) }
}

package supervise

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Status is the local delivery agent as `postern status` shows it.
type Status struct {
	SupervisorPid int       `json:"supervisor_pid"`
	Pid           int       `json:"pid,omitempty"` // the worker now running; 0: none
	Started       time.Time `json:"started,omitzero"`
	Restarts      int       `json:"restarts"` // starts after the first
	LastExit      string    `json:"last_exit,omitempty"`
}

// Watcher is the daemon's side of the control socket.
type Watcher struct {
	ctl *net.UnixConn
	log *slog.Logger

	mu      sync.Mutex
	st      Status
	starts  int
	closing bool
}

// Watch reads the supervisor's events on ctl until it closes: it logs
// them and hands every new worker's connection to attach. When the
// supervisor is gone, unless Close was called, it logs that and calls
// gone.
func Watch(ctl *net.UnixConn, supervisorPid int, attach func(net.Conn), gone func(), log *slog.Logger) *Watcher {
	w := &Watcher{ctl: ctl, log: log, st: Status{SupervisorPid: supervisorPid}}
	go w.run(attach, gone)
	return w
}

// Status returns the agent's state now.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// Close closes the control socket: the supervisor ends once the worker
// under way has.
func (w *Watcher) Close() error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	return w.ctl.Close()
}

func (w *Watcher) run(attach func(net.Conn), gone func()) {
	for {
		ev, files, err := readEvent(w.ctl)
		var conn net.Conn
		for _, f := range files {
			if c, cerr := net.FileConn(f); cerr == nil && conn == nil && ev.Kind == "started" {
				conn = c
			} else if cerr == nil {
				c.Close()
			}
			f.Close()
		}
		if err != nil {
			if conn != nil {
				conn.Close()
			}
			if isBadEvent(err) {
				w.log.Warn(err.Error())
				continue
			}
			w.mu.Lock()
			closing := w.closing
			w.st.Pid = 0
			w.mu.Unlock()
			if !closing {
				w.log.Warn(fmt.Sprintf("the local delivery agent supervisor pid %d exited: local mail is deferred until postern is restarted", w.st.SupervisorPid))
				gone()
			}
			return
		}
		w.handle(ev, conn, attach)
	}
}

func (w *Watcher) handle(ev event, conn net.Conn, attach func(net.Conn)) {
	switch ev.Kind {
	case "started":
		if conn == nil {
			w.log.Warn(fmt.Sprintf("local delivery agent pid %d started without a connection", ev.Pid))
			return
		}
		w.mu.Lock()
		w.starts++
		w.st.Pid, w.st.Started, w.st.Restarts = ev.Pid, time.Now(), w.starts-1
		restart := w.starts > 1
		w.mu.Unlock()
		if restart {
			w.log.Info(fmt.Sprintf("local delivery agent restarted: pid %d", ev.Pid))
		}
		attach(conn)
	case "exited":
		w.mu.Lock()
		w.st.Pid, w.st.LastExit = 0, ev.Status
		w.mu.Unlock()
		w.log.Warn(fmt.Sprintf("local delivery agent pid %d exited: %s; restarting in %s", ev.Pid, ev.Status, ev.Restart))
	case "failed":
		w.log.Warn(fmt.Sprintf("cannot start the local delivery agent: %s; trying again in %s", ev.Err, ev.Restart))
	default:
		w.log.Warn(fmt.Sprintf("local delivery agent supervisor: unknown event %q", ev.Kind))
	}
}

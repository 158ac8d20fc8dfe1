package supervise

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// Run is the supervisor: it starts the worker that cmd returns, with its
// connection to the daemon as fd 3, tells the daemon on ctl, and starts
// a new one when it exits, after b's delay, until the daemon closes ctl.
// It then waits for the worker under way (which ends when the daemon's
// end of its connection closes) and returns.
func Run(ctl *net.UnixConn, cmd func() *exec.Cmd, b *Backoff) error {
	// The worker's parent-death signal follows the thread that forked
	// it: every fork happens on this thread, which never exits.
	runtime.LockOSThread()
	gone := make(chan struct{})
	go func() { // the daemon sends nothing: only the end matters
		buf := make([]byte, maxEvent)
		for {
			if n, err := ctl.Read(buf); err != nil || n == 0 {
				close(gone)
				return
			}
		}
	}()
	for {
		start := time.Now()
		w, err := startWorker(ctl, cmd())
		var ev event
		if err != nil {
			ev = event{Kind: "failed", Err: err.Error()}
		} else {
			select {
			case <-w.exited:
			case <-gone:
				<-w.exited
				return nil
			}
			ev = event{Kind: "exited", Pid: w.pid, Status: w.status()}
		}
		delay := b.Next(time.Since(start))
		ev.Restart = delay.String()
		if err := sendEvent(ctl, ev, nil); err != nil {
			return nil // the daemon is gone
		}
		select {
		case <-time.After(delay):
		case <-gone:
			return nil
		}
	}
}

// HoldSignals keeps the signals a process group receives from ending the
// process; the handler (unlike SIG_IGN) does not pass to exec'ed children.
func HoldSignals() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
}

// worker is a started worker process.
type worker struct {
	pid    int
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

func (w *worker) status() string {
	var ee *exec.ExitError
	if errors.As(w.err, &ee) {
		return ee.ProcessState.String()
	}
	if w.err != nil {
		return w.err.Error()
	}
	return "exit status 0"
}

// startWorker starts cmd with a new socket pair, of which it sends the
// daemon's end in a "started" event.
func startWorker(ctl *net.UnixConn, cmd *exec.Cmd) (*worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	daemonEnd, workerEnd := os.NewFile(uintptr(fds[0]), "daemon"), os.NewFile(uintptr(fds[1]), "worker")
	defer daemonEnd.Close()
	defer workerEnd.Close()
	cmd.ExtraFiles = []*os.File{workerEnd}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.exited) }()
	if err := sendEvent(ctl, event{Kind: "started", Pid: w.pid}, daemonEnd); err != nil {
		cmd.Process.Kill() // nobody to serve: the daemon is gone
	}
	return w, nil
}

package master

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/atomicfile"
	"github.com/postern-mta/postern/internal/fdperm"
)

// The control socket and pid file live in data_directory.
const (
	controlSocket = "postern.ctl"
	pidFile       = "postern.pid"
)

// Request is one control command: status, reload, stop or abort.
type Request struct {
	Cmd     string `json:"cmd"`
	Timeout int    `json:"timeout,omitempty"` // stop: seconds to let sessions finish
	ID      string `json:"id,omitempty"`      // flush: one message only
}

// Response answers a Request.
type Response struct {
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

func (d *Daemon) listenControl(data string) (net.Listener, error) {
	path := filepath.Join(data, controlSocket)
	os.Remove(path) // stale: Running said nobody answers on it
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// As root in a directory mail_owner can write: neither the chmod nor
	// the pid file may go through a name swapped for a link meanwhile.
	if err := fdperm.ChmodSocket(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	pid := filepath.Join(data, pidFile)
	if err := atomicfile.WriteFileMode(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		ln.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return ln, nil
}

func (d *Daemon) serveControl(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go d.handleControl(c)
	}
}

func (d *Daemon) handleControl(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req Request
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	c.SetReadDeadline(time.Time{})
	var resp Response
	switch req.Cmd {
	case "status":
		st := d.status()
		resp = Response{OK: true, Status: &st}
	case "reload":
		if err := d.Reload(context.Background()); err != nil {
			resp.Error = err.Error()
		} else {
			resp.OK = true
		}
	case "stop":
		timeout := 30 * time.Second
		if req.Timeout > 0 {
			timeout = time.Duration(req.Timeout) * time.Second
		}
		resp.OK = true
		json.NewEncoder(c).Encode(resp) // answer first: stopping takes time
		d.Stop(timeout)
		return
	case "flush":
		if req.ID != "" {
			if err := d.qmgr.DeliverNow(req.ID); err != nil {
				resp.Error = err.Error()
				break
			}
		} else {
			d.qmgr.Flush()
		}
		resp.OK = true
	case "abort":
		json.NewEncoder(c).Encode(Response{OK: true})
		d.Log.Warn("aborting at the administrator's request")
		d.cleanup(nopListener{}, d.dataDir)
		os.Exit(0) // asked for: not a failure for a supervisor to restart
	default:
		resp.Error = fmt.Sprintf("unknown command %q", req.Cmd)
	}
	json.NewEncoder(c).Encode(resp)
}

type nopListener struct{ net.Listener }

func (nopListener) Close() error { return nil }

// ErrNotRunning is returned by Call when no daemon answers.
var ErrNotRunning = errors.New("postern is not running")

// Call sends one request to the daemon whose data_directory is data.
func Call(data string, req Request, timeout time.Duration) (*Response, error) {
	c, err := net.DialTimeout("unix", filepath.Join(data, controlSocket), 5*time.Second)
	if err != nil {
		return nil, ErrNotRunning
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &resp, nil
}

// Running reports whether a daemon answers on data's control socket, and
// its pid.
func Running(data string) (int, bool) {
	resp, err := Call(data, Request{Cmd: "status"}, 5*time.Second)
	if err != nil || resp.Status == nil {
		return 0, false
	}
	return resp.Status.Pid, true
}

// Pid reads the pid file, for waiting on a stopping daemon.
func Pid(data string) int {
	b, err := os.ReadFile(filepath.Join(data, pidFile))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

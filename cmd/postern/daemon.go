package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/master"
)

// readyFdEnv names the pipe on which `start-fg` tells `start` that every
// listener is bound ("ready") or why it could not start.
const readyFdEnv = "POSTERN_READY_FD"

func daemonFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("postern "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("c", "", "configuration `directory` (default $POSTERN_CONFIG_DIR or /etc/postern)")
	return fs, dir
}

func fatalf(w io.Writer, format string, args ...any) int {
	fmt.Fprintf(w, "postern: fatal: "+format+"\n", args...)
	return 1
}

// configDir returns the absolute configuration directory.
func configDir(flagDir string) string {
	d, err := filepath.Abs(config.Dir(flagDir))
	if err != nil {
		return config.Dir(flagDir)
	}
	return d
}

// newLogHandler makes the maillog handler for program ("postern/master")
// from main.cf in dir: the host field is the first label of myhostname
// (the machine's name when main.cf cannot be read), and syslog_name
// replaces "postern" in program names.
func newLogHandler(w io.Writer, dir, program string) *maillog.Handler {
	host, _ := os.Hostname()
	name := ""
	if cfg, err := config.Load(dir); err == nil {
		if h, err := cfg.Get("myhostname"); err == nil && h != "" {
			host = h
		}
		if n, err := cfg.Get("syslog_name"); err == nil && n != "postern" {
			name = n
		}
	}
	first, _, _ := strings.Cut(host, ".")
	h := maillog.New(w, first, program, nil)
	h.Name = name
	if os.Getenv("JOURNAL_STREAM") != "" {
		h.Journal = true // journald adds time and host itself
	}
	return h
}

// morePs runs twice as many Go scheduler Ps as the default (the CPUs
// the process may use), unless GOMAXPROCS says otherwise. A mail server
// spends much of its time in fsync: a goroutine blocked there holds its
// P until the runtime's monitor takes it back (tens of microseconds to
// milliseconds) and hands it to another thread; spare Ps let the other
// goroutines go on meanwhile. Measured (bench/run -b, 2 CPUs): +4 to
// +10 % messages per second end to end.
func morePs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
}

// dataDir finds data_directory without validating the rest, so that
// stop/status work even when main.cf has since been broken.
func dataDir(dir string) (string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return "", err
	}
	return cfg.Get("data_directory")
}

func runStartFG(args []string, _, stderr io.Writer) int {
	morePs()
	fs, dirFlag := daemonFlags("start-fg", stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	dir := configDir(*dirFlag)
	log := slog.New(newLogHandler(stderr, dir, "postern/master"))
	var ready *os.File
	if fd := os.Getenv(readyFdEnv); fd == "3" {
		ready = os.NewFile(3, "ready")
	}
	var once sync.Once
	d := &master.Daemon{Dir: dir, Log: log}
	d.Ready = func() {
		once.Do(func() {
			if ready != nil {
				fmt.Fprintln(ready, "ready")
				ready.Close()
			}
		})
		notifyReady()
	}
	d.Reloading = notifyReloading
	d.ReloadFailed = notifyReloadFailed
	d.Stopping = notifyStopping
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sig {
			if s == syscall.SIGHUP {
				d.Reload(context.Background()) // errors are logged; the old config keeps serving
				continue
			}
			go d.Stop(30 * time.Second)
		}
	}()
	if err := d.Run(context.Background()); err != nil {
		log.Error(err.Error())
		if ready != nil {
			fmt.Fprintln(ready, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			ready.Close()
		}
		return 1
	}
	return 0
}

func runStart(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("start", stderr)
	fg := fs.Bool("f", false, "stay in the foreground (same as start-fg)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *fg {
		return runStartFG(args, stdout, stderr)
	}
	pid, logPath, err := startDaemon(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	fmt.Fprintf(stdout, "postern: started (pid %d), logging to %s\n", pid, logPath)
	return 0
}

// errAlreadyRunning: start found a daemon running on the data directory.
type errAlreadyRunning struct{ pid int }

func (e errAlreadyRunning) Error() string {
	return fmt.Sprintf("postern is already running (pid %d)", e.pid)
}

// startDaemon starts `start-fg` for the configuration in dir in the
// background and returns once it listens (or why it could not start):
// its pid and the file it logs to.
func startDaemon(dir string) (pid int, logPath string, err error) {
	data, err := dataDir(dir)
	if err != nil {
		return 0, "", err
	}
	if pid, ok := master.Running(data); ok {
		return 0, "", errAlreadyRunning{pid}
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return 0, "", diraccess.Explain("data_directory", data, fmt.Errorf("create: %w", err))
	}
	logPath, err = logFile(dir, data)
	if err != nil {
		return 0, "", err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return 0, "", fmt.Errorf("open log: %w", diraccess.Explain("log file", logPath, err))
	}
	defer logf.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	cmd := exec.Command(self, "start-fg", "-c", dir)
	cmd.Env = append(os.Environ(), readyFdEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // leave the terminal's session
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, "", fmt.Errorf("start daemon: %w", err)
	}
	w.Close()
	r.SetReadDeadline(time.Now().Add(60 * time.Second))
	msg, _ := io.ReadAll(bufio.NewReader(r))
	if strings.TrimSpace(string(msg)) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		reason := strings.TrimSpace(string(msg))
		if reason == "" {
			reason = "the daemon exited without saying why; see " + logPath
		}
		return 0, "", fmt.Errorf("mail system startup failed: %s", reason)
	}
	pid = cmd.Process.Pid
	cmd.Process.Release()
	return pid, logPath, nil
}

// logFile is where a background daemon logs: maillog_file, else
// $data_directory/maillog.
func logFile(dir, data string) (string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return "", err
	}
	if f, err := cfg.Get("maillog_file"); err == nil && f != "" {
		return f, nil
	}
	return filepath.Join(data, "maillog"), nil
}

func runStop(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("stop", stderr)
	timeout := fs.Int("t", 30, "`seconds` to let open sessions finish")
	if fs.Parse(args) != nil {
		return 2
	}
	data, err := dataDir(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if err := stopDaemon(data, *timeout); err != nil {
		return fatalf(stderr, "%v", err)
	}
	fmt.Fprintln(stdout, "postern: stopped")
	return 0
}

// stopDaemon asks the daemon on data to stop, giving open sessions
// timeout seconds, and waits until it has.
func stopDaemon(data string, timeout int) error {
	if _, err := master.Call(data, master.Request{Cmd: "stop", Timeout: timeout}, 10*time.Second); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(timeout+10) * time.Second)
	for time.Now().Before(deadline) {
		if _, running := master.Running(data); !running {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postern did not stop within %ds", timeout+10)
}

func runAbort(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("abort", stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	data, err := dataDir(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if _, err := master.Call(data, master.Request{Cmd: "abort"}, 10*time.Second); err != nil {
		return fatalf(stderr, "%v", err)
	}
	fmt.Fprintln(stdout, "postern: aborted")
	return 0
}

func runReload(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("reload", stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	data, err := dataDir(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if err := reloadDaemon(data); err != nil {
		var rf errReloadFailed
		if errors.As(err, &rf) {
			fmt.Fprintf(stderr, "postern: reload failed; still running the previous configuration:\n%s\n", rf.reason)
			return 1
		}
		return fatalf(stderr, "%v", err)
	}
	fmt.Fprintln(stdout, "postern: configuration reloaded")
	return 0
}

// errReloadFailed: the daemon refused the new configuration and keeps
// serving the previous one.
type errReloadFailed struct{ reason string }

func (e errReloadFailed) Error() string {
	return "reload failed; still running the previous configuration: " + e.reason
}

// reloadDaemon asks the daemon on data to re-read its configuration.
func reloadDaemon(data string) error {
	resp, err := master.Call(data, master.Request{Cmd: "reload"}, 2*time.Minute)
	if err != nil {
		return err
	}
	if !resp.OK {
		return errReloadFailed{resp.Error}
	}
	return nil
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("status", stderr)
	asJSON := fs.Bool("j", false, "print JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	data, err := dataDir(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	resp, err := master.Call(data, master.Request{Cmd: "status"}, 10*time.Second)
	if err != nil || resp.Status == nil {
		if *asJSON {
			fmt.Fprintln(stdout, `{"running":false}`)
		} else {
			fmt.Fprintln(stdout, "postern is not running")
		}
		return 1
	}
	st := resp.Status
	if *asJSON {
		out := struct {
			Running bool `json:"running"`
			*master.Status
		}{true, st}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return 0
	}
	fmt.Fprintf(stdout, "postern is running: pid %d, up %s, configuration %s, %d sessions\n", st.Pid, st.Uptime, st.Config, st.Sessions)
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for _, l := range st.Listeners {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Service, l.Address, l.Network)
	}
	tw.Flush()
	if a := st.Agent; a != nil {
		state := fmt.Sprintf("pid %d", a.Pid)
		if a.Pid == 0 {
			state = "not running"
			if a.LastExit != "" {
				state += " (" + a.LastExit + ")"
			}
		}
		fmt.Fprintf(stdout, "local delivery agent: %s, %d restarts, supervisor pid %d\n", state, a.Restarts, a.SupervisorPid)
	}
	q := st.Queue
	fmt.Fprintf(stdout, "queue: %d incoming, %d active, %d deferred, %d hold, %d corrupt, %d maildrop\n",
		q["incoming"], q["active"], q["deferred"], q["hold"], q["corrupt"], q["maildrop"])
	return 0
}

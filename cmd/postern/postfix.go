package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/check"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/spoolperm"
)

// postfixScript is the program name Postfix's postfix-script logs its
// messages under; administrators' scripts match these lines.
const postfixScript = "postfix/postfix-script"

const postfixUsage = "usage: postfix [-c config_dir] [-Dv] command"

// runPostfix is postern called as `postfix`: Postfix's syntax
// `postfix [-c config_dir] [-D] [-v] command` and its messages ("the
// Postfix mail system is running: PID: N", …) on stderr, where Postfix's
// postfix-script logs them (it prints them on a terminal only). Nothing
// goes to stdout; the exit status is Postfix's.
func runPostfix(args []string, stdout, stderr io.Writer) int {
	p := &postfixCmd{stdout: stdout, stderr: stderr}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'c':
				switch {
				case j+1 < len(a):
					p.dirFlag = a[j+1:]
				case i+1 < len(args):
					i++
					p.dirFlag = args[i]
				default:
					fmt.Fprintln(stderr, "postfix: option requires an argument -- 'c'")
					return p.fatal("postfix", postfixUsage)
				}
				j = len(a)
			case 'D':
				p.debug = true
			case 'v':
				p.verbose = true
			default:
				fmt.Fprintf(stderr, "postfix: invalid option -- '%c'\n", a[j])
				return p.fatal("postfix", postfixUsage)
			}
		}
	}
	var cmd string
	if i < len(args) {
		cmd = args[i]
		if extra := args[i+1:]; len(extra) > 0 {
			fmt.Fprintf(stderr, "postfix: warning: %s: ignoring extra arguments: %s\n", cmd, strings.Join(extra, " "))
		}
	}
	p.dir = configDir(p.dirFlag)
	if p.debug && (cmd == "start" || cmd == "start-fg") {
		return p.fatal("postfix", "-D: postern has no debugger_command; run \"postern start-fg\" under a debugger instead")
	}
	switch cmd {
	case "check":
		return p.check()
	case "start":
		return p.start()
	case "start-fg":
		return p.startFG()
	case "stop", "abort", "reload":
		return p.control(cmd)
	case "flush":
		return runQueue([]string{"-f", "-c", p.dir}, stdout, stderr)
	case "status":
		return p.status()
	case "set-permissions":
		return p.setPermissions()
	case "upgrade-configuration":
		return p.upgradeConfiguration()
	}
	return p.fatal(postfixScript, "unknown command: '%s'. Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, start-fg)", cmd)
}

type postfixCmd struct {
	stdout, stderr io.Writer
	dirFlag, dir   string
	debug, verbose bool
}

func (p *postfixCmd) info(format string, args ...any) {
	fmt.Fprintf(p.stderr, postfixScript+": "+format+"\n", args...)
}

// fatal prints PROG: fatal: … and returns Postfix's exit status 1.
func (p *postfixCmd) fatal(prog, format string, args ...any) int {
	fmt.Fprintf(p.stderr, prog+": fatal: "+format+"\n", args...)
	return 1
}

// check is postern check with Postfix's output: problems on stderr as
// warnings or fatal errors, no summary, exit 1 on errors only.
func (p *postfixCmd) check() int {
	rep := check.Run(p.dir, check.Options{})
	rep.WriteProblems(p.stderr, "postfix", p.verbose)
	if rep.Errors() > 0 {
		return 1
	}
	return 0
}

// data is the data directory, where the daemon's control socket is.
func (p *postfixCmd) data() (string, int) {
	data, err := dataDir(p.dir)
	if err != nil {
		return "", p.fatal("postfix", "%v", err)
	}
	return data, 0
}

// precheck refuses to start or reload a configuration with errors, as
// Postfix's check-fatal does, printing them.
func (p *postfixCmd) precheck() int {
	rep := check.Run(p.dir, check.Options{})
	if rep.Errors() == 0 {
		return 0
	}
	rep.WriteProblems(p.stderr, "postfix", false)
	return 1
}

func (p *postfixCmd) start() int {
	data, code := p.data()
	if code != 0 {
		return code
	}
	if _, running := master.Running(data); running {
		return p.fatal(postfixScript, "the Postfix mail system is already running")
	}
	if code := p.precheck(); code != 0 {
		return code
	}
	p.info("starting the Postfix mail system")
	if _, _, err := startDaemon(p.dir); err != nil {
		var ar errAlreadyRunning
		if errors.As(err, &ar) {
			return p.fatal(postfixScript, "the Postfix mail system is already running")
		}
		return p.fatal(postfixScript, "%v", err)
	}
	return 0
}

func (p *postfixCmd) startFG() int {
	data, code := p.data()
	if code != 0 {
		return code
	}
	if _, running := master.Running(data); running {
		return p.fatal(postfixScript, "the Postfix mail system is already running")
	}
	if code := p.precheck(); code != 0 {
		return code
	}
	p.info("starting the Postfix mail system")
	return runStartFG([]string{"-c", p.dir}, p.stdout, p.stderr)
}

// control stops, aborts or reloads the running daemon.
func (p *postfixCmd) control(cmd string) int {
	data, code := p.data()
	if code != 0 {
		return code
	}
	if _, running := master.Running(data); !running {
		return p.fatal(postfixScript, "the Postfix mail system is not running")
	}
	var err error
	switch cmd {
	case "stop":
		p.info("stopping the Postfix mail system")
		err = stopDaemon(data, 30)
	case "abort":
		p.info("aborting the Postfix mail system")
		_, err = master.Call(data, master.Request{Cmd: "abort"}, 10*time.Second)
	case "reload":
		if code := p.precheck(); code != 0 {
			return code
		}
		p.info("refreshing the Postfix mail system")
		err = reloadDaemon(data)
	}
	if errors.Is(err, master.ErrNotRunning) {
		return p.fatal(postfixScript, "the Postfix mail system is not running")
	}
	if err != nil {
		return p.fatal(postfixScript, "%v", err)
	}
	return 0
}

func (p *postfixCmd) status() int {
	data, code := p.data()
	if code != 0 {
		return code
	}
	pid, running := master.Running(data)
	if !running {
		p.info("the Postfix mail system is not running")
		return 1
	}
	p.info("the Postfix mail system is running: PID: %d", pid)
	return 0
}

// setPermissions gives queue_directory and data_directory back to
// mail_owner with the modes the daemon uses, and says what it changed.
func (p *postfixCmd) setPermissions() int {
	cfg, err := config.Load(p.dir)
	if err != nil {
		return p.fatal("postfix", "%v", err)
	}
	var dirs [3]string
	for i, name := range []string{"queue_directory", "data_directory", "mail_owner"} {
		if dirs[i], err = cfg.Get(name); err != nil {
			return p.fatal("postfix", "%v", err)
		}
	}
	u, err := user.Lookup(dirs[2])
	if err != nil {
		return p.fatal("postfix", "parameter mail_owner: unknown user %q: create it (see README) or set mail_owner", dirs[2])
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	res, err := spoolperm.Fix(dirs[0], dirs[1], spoolperm.Owner{UID: uid, GID: gid})
	for _, c := range res.Changed {
		p.info("set-permissions: %s", c)
	}
	for _, s := range res.Skipped {
		p.info("warning: set-permissions: %s", s)
	}
	if err != nil {
		return p.fatal(postfixScript, "set-permissions: %v", err)
	}
	p.info("set-permissions: %s and %s are owned by mail_owner %s (%d entries changed)", dirs[0], dirs[1], dirs[2], len(res.Changed))
	return 0
}

// upgradeConfiguration: postern reads Postfix 3.7's main.cf and
// master.cf as they are and needs no service added to master.cf (its
// daemon runs pickup, cleanup, qmgr and the delivery agents itself), so
// there is nothing to add; it says so rather than doing nothing silently.
func (p *postfixCmd) upgradeConfiguration() int {
	if _, err := config.Load(p.dir); err != nil {
		return p.fatal("postfix", "%v", err)
	}
	mcf := filepath.Join(p.dir, "master.cf")
	if _, err := os.Stat(mcf); errors.Is(err, os.ErrNotExist) {
		p.info("upgrade-configuration: no %s: postern runs its bundled default services (postern conf -M shows them)", mcf)
	}
	p.info("upgrade-configuration: nothing to do: postern needs no new main.cf parameters or master.cf services (run \"postfix check\" for what it does not implement)")
	return 0
}

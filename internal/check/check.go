// Package check implements `postern check`: it reads main.cf, master.cf
// and the files they name, and reports every problem it finds — not only
// the first — as `FILE:LINE: parameter NAME: what is wrong`, plus the
// warnings a mail administrator needs about exposure (open relay,
// over-broad mynetworks, unreachable restrictions). A setting postern
// would not enforce (config.StateOf: refused) is an error, in main.cf and
// in master.cf -o overrides alike, so that start and reload refuse it.
package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/mastercf"
)

// Report is the outcome of a check.
type Report struct {
	Diags []config.Diag
	// Info lines for -v: how values were resolved.
	Info []string
}

// Errors counts the error diagnostics.
func (r *Report) Errors() int {
	n := 0
	for _, d := range r.Diags {
		if d.Severity == config.Error {
			n++
		}
	}
	return n
}

// Options tune a check; zero values use the real host.
type Options struct {
	Sys      inetaddr.System
	Hostname string
	// Overrides win over main.cf, like postconf -o.
	Overrides map[string]string
	// SessionBudget, if set, is the daemon's file descriptor budget in
	// sessions with deliveries at once and milters connections per
	// session, and the hard RLIMIT_NOFILE it is computed from
	// (master.SessionBudget): maxproc beyond it is warned about.
	SessionBudget func(deliveries, milters int) (sessions int, limit uint64)
}

type checker struct {
	cfg    *config.Config
	master *mastercf.File
	rep    *Report
	failed map[string]bool // parameters already reported as errors
	reads  map[string]bool // what smtpd reads (smtpdReads)
}

// Run checks the configuration in dir.
func Run(dir string, opt Options) *Report {
	rep := &Report{}
	mainPath := filepath.Join(dir, "main.cf")
	mf, err := config.ReadMainFile(mainPath)
	if err != nil {
		rep.Diags = append(rep.Diags, config.Diag{Severity: config.Error, File: mainPath, Msg: describe(err)})
		mf = config.ParseMain(mainPath, "")
	}
	rep.Diags = append(rep.Diags, mf.Diags...)
	cfg := config.New(dir, mf)
	if dir != config.DefaultDir {
		cfg.Overrides["config_directory"] = dir
	}
	if opt.Sys != nil {
		cfg.Sys = opt.Sys
	}
	if opt.Hostname != "" {
		cfg.Hostname = opt.Hostname
	}
	for k, v := range opt.Overrides {
		cfg.Overrides[k] = v
	}
	c := &checker{cfg: cfg, rep: rep, failed: map[string]bool{}}
	c.readMaster(filepath.Join(dir, "master.cf"))
	c.sessionBudget(opt.SessionBudget)
	c.parameters()
	c.serviceOverrides()
	c.interfaces()
	c.files()
	c.sqlTables()
	c.restrictions()
	c.exposure()
	c.smtpSASL()
	c.submission()
	c.passwdFile()
	c.dkimSigning()
	c.sendLimits()
	c.startTLS()
	c.clientCA()
	c.smtpdTLS()
	c.smtpdSASL()
	c.queueDirectory()
	c.addressClasses()
	c.transports()
	slices.SortStableFunc(rep.Diags, func(a, b config.Diag) int {
		if a.File != b.File {
			return cmpStr(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return rep
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *checker) readMaster(path string) {
	f, diags, err := mastercf.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, diags = mastercf.Parse(path+" (bundled default)", mastercf.Default())
		c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Warning, File: path,
			Msg: MissingMaster(f)})
	} else if err != nil {
		c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Error, File: path, Msg: describe(err)})
		return
	}
	c.master = f
	c.rep.Diags = append(c.rep.Diags, diags...)
}

// MissingMaster says what postern runs when master.cf does not exist.
func MissingMaster(bundled *mastercf.File) string {
	return fmt.Sprintf("does not exist: using the bundled default: %s; create master.cf, or run `postern conf -M` to see it", bundled.Summary())
}

// add records a diagnostic about parameter name, located at its main.cf
// line (or the file alone when the value is a default).
func (c *checker) add(sev config.Severity, name string, err error) {
	file, line := c.cfg.Location(name)
	msg := err.Error()
	if p := "parameter " + name + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	if strings.Contains(msg, "unreasonable macro call nesting") {
		msg = "its $name references form a loop (Postfix: unreasonable macro call nesting)"
	}
	if line == 0 {
		if _, set := c.cfg.SetInMain(name); !set {
			msg = "(default) " + msg
		}
	}
	c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: sev, File: file, Line: line, Param: name, Msg: msg})
}

func (c *checker) warnf(name, format string, args ...any) {
	c.add(config.Warning, name, fmt.Errorf(format, args...))
}

func (c *checker) errorf(name, format string, args ...any) {
	c.add(config.Error, name, fmt.Errorf(format, args...))
}

func (c *checker) info(format string, args ...any) {
	c.rep.Info = append(c.rep.Info, fmt.Sprintf(format, args...))
}

// describe words a file error without Go's "open PATH:" duplication.
func describe(err error) string {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot read: %v", pe.Unwrap())
	}
	return err.Error()
}

// resolveCtx bounds hostname lookups during a check.
func resolveCtx() context.Context { return context.Background() }

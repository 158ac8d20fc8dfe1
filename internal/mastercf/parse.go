package mastercf

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// File is a parsed master.cf.
type File struct {
	Path     string
	Services []*Service // in file order, including entries with errors
}

// Find returns the entry with the given name and type, or nil.
func (f *File) Find(name, typ string) *Service {
	for _, s := range f.Services {
		if s.Name == name && s.Type == typ {
			return s
		}
	}
	return nil
}

// Read reads and parses the master.cf at path.
func Read(path string) (*File, []config.Diag, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, diags := Parse(path, string(data))
	return f, diags, nil
}

// Parse parses master.cf text. It never stops at a bad line: every problem
// becomes a Diag, sorted by line. Entries with fewer than 8 fields are
// left out; all others are kept even when a column is invalid, so that
// later checks (duplicates) still see them.
func Parse(path, data string) (*File, []config.Diag) {
	p := &parser{path: path}
	f := &File{Path: path}
	lines, dropped := config.LogicalLines(data)
	for _, l := range dropped {
		p.add(config.Warning, l.Num, "", "logical line must not start with whitespace: %q",
			config.DroppedLineText(l.Text))
	}
	for _, l := range lines {
		if s := p.service(l); s != nil {
			f.Services = append(f.Services, s)
		}
	}
	p.checkDuplicates(f)
	sort.SliceStable(p.diags, func(i, j int) bool { return p.diags[i].Line < p.diags[j].Line })
	return f, p.diags
}

type parser struct {
	path  string
	diags []config.Diag
}

// add records a diagnostic; svc, when set, prefixes the message so that
// the administrator sees which entry of a long line is meant.
func (p *parser) add(sev config.Severity, line int, svc, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if svc != "" {
		msg = "service " + svc + ": " + msg
	}
	p.diags = append(p.diags, config.Diag{Severity: sev, File: p.path, Line: line, Msg: msg})
}

func (p *parser) service(l config.Line) *Service {
	toks, open := splitArgs(l.Text)
	if len(toks) < 8 {
		svc := ""
		if len(toks) >= 2 {
			svc = toks[0] + "/" + toks[1]
		}
		hint := ""
		if open {
			hint = " (a '{' is never closed, so the rest of the line counts as one field)"
		}
		p.add(config.Error, l.Num, svc, "entry has %d fields, but needs at least 8: "+
			"service, type, private, unpriv, chroot, wakeup, maxproc, command%s", len(toks), hint)
		return nil
	}
	s := &Service{Name: toks[0], Type: toks[1], Private: Flag(toks[2]), Unpriv: Flag(toks[3]),
		Chroot: Flag(toks[4]), Wakeup: toks[5], MaxProc: toks[6], Command: toks[7], Line: l.Num}
	before := len(p.diags)
	p.columns(s)
	if open {
		p.add(config.Error, s.Line, s.Key(), "a '{' is never closed, so the rest of the entry became one argument: %q",
			toks[len(toks)-1])
	}
	args, fixes, misread := normalize(toks[8:])
	if len(args) > 0 {
		s.Args = args
	}
	for _, fx := range fixes {
		if fx.problem != "" && (!open || fx.problem != missingBrace) {
			p.add(config.Error, s.Line, s.Key(), "argument %q: %s", fx.tok, fx.problem)
		}
	}
	if misread != "" {
		fix := "-o " + misread[2:] // normalize() reports clusters that start with -o
		p.add(config.Error, s.Line, s.Key(), "option %q: postconf splits it at every letter o, unlike the "+
			"daemon, which reads %q; write %q with a space", misread, fix, fix)
	}
	p.overrides(s, misread != "")
	for _, a := range toks[8:] {
		if strings.HasPrefix(a, "#") {
			p.add(config.Warning, s.Line, s.Key(), "%q is passed to the command, not a comment: "+
				"'#' starts a comment only at the beginning of a line", a)
			break
		}
	}
	if len(p.diags) == before {
		if line, ok := s.readsBack(); !ok {
			p.add(config.Warning, s.Line, s.Key(), "arguments change when written back: postconf -M shows "+
				"this entry as %q (check the { } grouping)", line)
		}
	}
	return s
}

// columns checks columns 2-7 and, for inet services, the listen address.
func (p *parser) columns(s *Service) {
	if !slices.Contains(types, s.Type) {
		p.add(config.Error, s.Line, s.Key(), "invalid type %q: use inet, unix, unix-dgram, fifo or pass", s.Type)
	}
	for _, c := range []struct {
		name string
		f    Flag
	}{{"private", s.Private}, {"unpriv", s.Unpriv}, {"chroot", s.Chroot}} {
		if !c.f.valid() {
			p.add(config.Error, s.Line, s.Key(), "invalid %s field %q: use y, n or - (the default)", c.name, c.f)
		}
	}
	if w, cond := strings.CutSuffix(s.Wakeup, "?"); cond && (w == "" || w == UseDefault) {
		p.add(config.Warning, s.Line, s.Key(), "wakeup field %q has no time before the '?', so there is no wakeup", s.Wakeup)
	} else if _, _, err := s.WakeupTime(); err != nil {
		p.add(config.Error, s.Line, s.Key(), "invalid wakeup field %q: use a number of seconds, "+
			"optionally followed by '?' (wake only after first use), or -", s.Wakeup)
	}
	if _, err := s.ProcessLimit(0); err != nil {
		p.add(config.Error, s.Line, s.Key(), "invalid maxproc field %q: use a process count (0 = no limit) or -", s.MaxProc)
	}
	if s.Type != Inet {
		return
	}
	// Postfix accepts these in postfix check and fails only at start.
	switch s.Private {
	case "y":
		p.add(config.Error, s.Line, s.Key(), "an inet service cannot be private: set the private column to n")
	case UseDefault:
		p.add(config.Error, s.Line, s.Key(), "an inet service cannot be private, and - in the private column means y: set it to n")
	}
	if _, _, err := SplitHostPort(s.Name); err != nil {
		p.add(config.Error, s.Line, s.Key(), "bad listen address %q: %v", s.Name, err)
	}
}

// overrides collects the -o name=value options the way postconf -P does:
// only in the leading option block, only well-formed ones.
func (p *parser) overrides(s *Service, quiet bool) {
	seen := map[string]bool{}
	i := 0
	for ; i < len(s.Args); i++ {
		a := s.Args[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if a != "-o" && a != "-" {
			continue
		}
		if i+1 == len(s.Args) {
			if a == "-o" {
				p.add(config.Error, s.Line, s.Key(), "-o at the end of the entry has no name=value")
			}
			break
		}
		if i++; a == "-" {
			continue
		}
		name, value, err := config.SplitNameValue(s.Args[i])
		if err != nil {
			if !quiet {
				p.add(config.Error, s.Line, s.Key(), "-o %q is not name=value: %v", s.Args[i], err)
			}
			continue
		}
		// Kept even when reported below: postconf -P lists it.
		s.Overrides = append(s.Overrides, Override{Name: name, Value: value})
		switch {
		case quiet:
		case strings.ContainsAny(name, "{}$"):
			p.add(config.Error, s.Line, s.Key(), "-o %q: invalid parameter name %q", s.Args[i], name)
		case seen[name]:
			p.add(config.Warning, s.Line, s.Key(), "-o %s is given more than once; the last value, %q, wins", name, value)
		}
		seen[name] = true
	}
	// Daemons stop option processing at the first non-option argument, so a
	// later -o is passed on as a plain argument. After "argv=" (pipe(8))
	// the rest is another program's command line and none of our business.
	for j := i; j < len(s.Args); j++ {
		if strings.HasPrefix(s.Args[j], "argv=") {
			break
		}
		if j > i && strings.HasPrefix(s.Args[j], "-o") {
			p.add(config.Warning, s.Line, s.Key(), "%q comes after the non-option argument %q and is not "+
				"applied as a parameter override: put -o options first", s.Args[j], s.Args[i])
			break
		}
	}
}

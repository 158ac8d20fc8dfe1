// Package postconf implements `postern conf`, a postconf(1)-compatible
// view and editor of main.cf and master.cf: the same options (and option
// conflicts), the same output byte for byte for the parameters postern
// implements, the same warnings, the same edits (master.go).
package postconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/atomicfile"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr"
)

// Env is what the command reads and writes besides its arguments.
type Env struct {
	Stdout, Stderr io.Writer
	Prog           string // prefix of diagnostics, e.g. "postern"
	Getenv         func(string) string
	Hostname       string          // "" means the system's
	Sys            inetaddr.System // nil means the real host
}

type run struct {
	Env
	o   *options
	cfg *config.Config // main.cf, for the master.cf shows
}

func (r *run) warnf(format string, args ...any) {
	fmt.Fprintf(r.Stderr, "%s: warning: "+format+"\n", append([]any{r.Prog}, args...)...)
}

// fatal prints a Postfix-style fatal message and returns exit status 1.
func (r *run) fatal(format string, args ...any) int {
	fmt.Fprintf(r.Stderr, "%s: fatal: "+format+"\n", append([]any{r.Prog}, args...)...)
	return 1
}

// Run executes `postern conf ARGS` and returns the exit status.
func Run(argv []string, env Env) int {
	if env.Prog == "" {
		env.Prog = "postern"
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	r := &run{Env: env}
	o, err := parseOptions(argv)
	if err != nil {
		return r.fatal("%v", err)
	}
	r.o = o
	dir := o.dir
	if dir == "" {
		dir = env.Getenv("POSTERN_CONFIG_DIR")
	}
	explicitDir := dir != ""
	if dir == "" {
		dir = config.DefaultDir
	}
	switch {
	case (o.master || o.fields || o.params) && (o.edit || o.remove || o.comment):
		return r.editMaster(dir)
	case o.master || o.fields || o.params:
		return r.showMaster(dir)
	case o.editRequested():
		return r.editMain(dir)
	}
	return r.show(dir, explicitDir)
}

func (r *run) editMain(dir string) int {
	o := r.o
	op := config.EditSet
	switch {
	case o.remove && o.comment, o.edit && (o.remove || o.comment):
		return r.fatal("specify one of -e -X -#")
	case o.remove:
		op = config.EditRemove
	case o.comment:
		op = config.EditComment
	}
	if len(o.args) == 0 {
		if op == config.EditSet {
			return r.fatal("-e requires name=value argument")
		}
		return r.fatal("-X and -# require a parameter name")
	}
	var edits []config.Assignment
	for _, a := range o.args {
		if strings.ContainsAny(a, "\n") {
			return r.fatal("-e, -X, or -# accepts no multi-line input")
		}
		if op != config.EditSet {
			if strings.Contains(a, "=") {
				if op == config.EditRemove {
					return r.fatal("specify one of -e -X")
				}
				return r.fatal("specify one of -e -#")
			}
			edits = append(edits, config.Assignment{Name: strings.TrimSpace(a)})
			continue
		}
		name, value, err := config.SplitNameValue(a)
		if err != nil {
			return r.fatal("%v: %q", err, a)
		}
		edits = append(edits, config.Assignment{Name: name, Value: value})
	}
	path := filepath.Join(dir, "main.cf")
	data, err := os.ReadFile(path)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && op == config.EditSet) {
		return r.fatal("open %s: %s", path, strerror(errors.Unwrap(err)))
	}
	text, warns := config.EditMain(path, string(data), op, edits)
	for _, w := range warns {
		r.warnf("%s", w)
	}
	if text == string(data) {
		return 0
	}
	if err := atomicfile.WriteFile(path, []byte(text), 0o644); err != nil {
		return r.fatal("%s: %v", path, err)
	}
	return 0
}

// printable collapses whitespace runs to one space and trims the ends, as
// postconf does when it prints a value.
func printable(v string) string {
	return strings.Join(strings.FieldsFunc(v, func(c rune) bool {
		return c == ' ' || c == '\t' || c == '\r' || c == '\n'
	}), " ")
}

// strerror words a system error as C's strerror() does ("No such file or
// directory"), so messages read like Postfix's.
func strerror(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

package postconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
)

// show prints parameters: all of them, those set (-n), defaults (-d), or
// those named, raw or expanded (-x), as name = value, value (-h), name (-H)
// or JSON Lines (-j, json.go).
func (r *run) show(dir string, explicitDir bool) int {
	o := r.o
	cfg, err := config.Load(dir)
	if errors.Is(err, os.ErrNotExist) && o.defaults {
		cfg, err = config.New(dir, nil), nil // -d needs no main.cf
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return r.fatal("%s %s: %s", pe.Op, pe.Path, strerror(pe.Err))
		}
		return r.fatal("%v", err)
	}
	if r.Hostname != "" {
		cfg.Hostname = r.Hostname
	}
	if r.Sys != nil {
		cfg.Sys = r.Sys
	}
	cfg.Warn = func(m string) { r.warnf("%s", m) }
	for _, d := range cfg.Main.Diags {
		if d.Severity == config.Error {
			return r.fatal("%s", d.Postfix())
		}
		r.warnf("%s", d.Postfix())
	}
	if explicitDir {
		cfg.Overrides["config_directory"] = dir
	}
	for _, kv := range o.overrides {
		name, value, err := config.SplitNameValue(kv)
		if err != nil {
			return r.fatal("%v: %q", err, kv)
		}
		cfg.Overrides[name] = value
	}
	if o.defaults {
		cfg.DefaultsOnly = true
		cfg.Overrides = map[string]string{} // -d shows built-ins only
	}
	known := r.knownNames(cfg)
	if !o.defaults {
		for _, e := range cfg.Main.Entries {
			if !known[e.Name] && cfg.Main.Values[e.Name].Line == e.Line {
				r.warnf("%s: unused parameter: %s=%s", cfg.Main.Path, e.Name, e.Value)
			}
		}
		if code := r.checkExpansions(cfg, known); code != 0 {
			return code
		}
	}
	defer func() {
		if !o.defaults {
			if f, _, err := mastercf.Read(filepath.Join(cfg.Dir, "master.cf")); err == nil {
				r.warnUnusedMaster(cfg, f, cfg.Dir+"/master.cf", known)
			}
		}
	}()
	names, code := r.selectNames(cfg, known)
	if o.json {
		return r.showJSON(cfg, names, code)
	}
	for _, n := range names {
		raw, _ := cfg.Raw(n)
		v := raw
		if o.expand && !config.IsRaw(n) {
			v = r.expand(cfg, raw)
		}
		switch {
		case o.nameOnly:
			fmt.Fprintln(r.Stdout, n)
		case o.valueOnly:
			fmt.Fprintln(r.Stdout, printable(v))
		case printable(v) == "":
			fmt.Fprintf(r.Stdout, "%s =\n", n)
		default:
			fmt.Fprintf(r.Stdout, "%s = %s\n", n, printable(v))
		}
	}
	return code
}

// knownNames are the main.cf names postconf would not call unused: ones
// postern implements, Postfix built-ins, and user-defined names that some
// value refers to.
func (r *run) knownNames(cfg *config.Config) map[string]bool {
	known := map[string]bool{}
	refs := func(v string) {
		for _, n := range config.References(v) {
			known[n] = true
		}
	}
	for _, n := range config.Names() {
		known[n] = true
		if v, ok := cfg.Default(n); ok {
			refs(v)
		}
	}
	for _, e := range cfg.Main.Entries {
		if config.KnownToPostfix(e.Name) {
			known[e.Name] = true
		}
		refs(e.Value)
	}
	for n, v := range cfg.Overrides {
		known[n] = true
		refs(v)
	}
	// master.cf -o settings refer to main.cf macros too.
	if f, _, err := mastercf.Read(filepath.Join(cfg.Dir, "master.cf")); err == nil {
		for _, s := range f.Services {
			for _, o := range s.Overrides {
				refs(o.Value)
			}
		}
	}
	return known
}

// checkExpansions expands every built-in parameter set in main.cf, as
// postconf does: undefined references warn, syntax errors and loops are
// fatal ("macro processing error").
func (r *run) checkExpansions(cfg *config.Config, known map[string]bool) int {
	var msgs []string
	failed := false
	for _, e := range cfg.Main.Entries {
		if cfg.Main.Values[e.Name].Line != e.Line {
			continue // overridden later in the file
		}
		if !config.Implemented(e.Name) && !config.KnownToPostfix(e.Name) || config.IsRaw(e.Name) {
			continue
		}
		raw, _ := cfg.Raw(e.Name)
		ex := cfg.Expander()
		ex.Warn = func(m string) { msgs = append(msgs, m) }
		ex.Undefined = func(n string) { msgs = append(msgs, fmt.Sprintf("%s: undefined parameter: %s", cfg.Main.Path, n)) }
		if _, err := ex.Expand(raw); err != nil {
			failed = true
		}
		// postconf also warns about names in branches not taken.
		for _, n := range config.References(raw) {
			if _, ok := cfg.Raw(n); !ok {
				msgs = append(msgs, fmt.Sprintf("%s: undefined parameter: %s", cfg.Main.Path, n))
			}
		}
	}
	for _, m := range dedupe(msgs) {
		r.warnf("%s", m)
	}
	if failed {
		return r.fatal("%v", config.ErrMacro)
	}
	return 0
}

func (r *run) expand(cfg *config.Config, raw string) string {
	ex := cfg.Expander()
	ex.Warn = func(m string) { r.warnf("%s", m) }
	v, _ := ex.Expand(raw)
	return v
}

// selectNames picks the parameters to print, in postconf's order.
func (r *run) selectNames(cfg *config.Config, known map[string]bool) ([]string, int) {
	o := r.o
	if len(o.args) > 0 {
		var out []string
		for _, n := range o.args {
			_, inMain := cfg.SetInMain(n)
			_, over := cfg.Overrides[n]
			switch {
			case config.Implemented(n):
				out = append(out, n)
			case (inMain || over) && known[n]:
				out = append(out, n)
			case config.KnownToPostfix(n):
				r.warnf("%s: parameter is not implemented by postern", n)
			default:
				r.warnf("%s: unknown parameter", n)
			}
		}
		return out, 0
	}
	set := map[string]bool{}
	if !o.defaults {
		for n := range cfg.Main.Values {
			if known[n] {
				set[n] = true
			}
		}
		for n := range cfg.Overrides {
			set[n] = true
		}
	}
	if !o.nonDefault {
		for _, n := range config.Names() {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, 0
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

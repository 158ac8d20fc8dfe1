package postconf

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/postern-mta/postern/internal/atomicfile"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
)

// readMaster reads master.cf; a missing file is the bundled default, as
// everywhere in postern. fatal is the message for other read errors.
func (r *run) readMaster(path string) (data string, missing bool, code int) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return mastercf.Default(), true, 0
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", false, r.fatal("%s %s: %s", pe.Op, pe.Path, strerror(pe.Err))
		}
		return "", false, r.fatal("%v", err)
	}
	return string(b), false, 0
}

// showMaster shows master.cf entries (-M), fields (-F) or -o parameters
// (-P), expanded with -x. As in postconf, an entry postconf cannot read
// (too few fields, a bad type or y/n/- column, a bad wakeup or process
// limit) is fatal before anything is printed, and the warnings are
// postconf's; `postern check` reports everything else it finds.
func (r *run) showMaster(dir string) int {
	o := r.o
	path := filepath.Join(dir, "master.cf")
	data, _, code := r.readMaster(path)
	if code != 0 {
		return code
	}
	// postconf's warnings, not Parse's: postern check gives those.
	warns, err := mastercf.PostfixCheck(dir+"/master.cf", data)
	for _, w := range warns {
		r.warnf("%s", mastercf.Printable(w))
	}
	if err != nil {
		return r.fatal("%s", mastercf.Printable(err.Error()))
	}
	f, _ := mastercf.Parse(path, data)
	mo := mastercf.Options{Fold: o.fold, HideName: o.valueOnly}
	if code := r.masterExpansion(dir, f, &mo); code != 0 {
		return code
	}
	if o.json {
		return r.showMasterJSON(dir, f, mo)
	}
	write := f.WriteEntries
	switch {
	case o.fields:
		write = f.WriteFields
	case o.params:
		write = f.WriteParams
	}
	warns, err = write(r.Stdout, mo, o.args...)
	if err != nil {
		return r.fatal("%v", err)
	}
	for _, w := range warns {
		r.warnf("%s", w)
	}
	r.warnUnusedMaster(r.cfg, f, dir+"/master.cf", r.knownNames(r.cfg))
	return 0
}

// masterExpansion warns, as postconf does, about $names in -o values
// that neither the entry, main.cf nor Postfix defines, and with -x sets
// mo.Expand: -o values expand against the entry's own -o settings, then
// main.cf, then the defaults; an undefined name expands to nothing.
func (r *run) masterExpansion(dir string, f *mastercf.File, mo *mastercf.Options) int {
	cfg, err := config.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		cfg, err = config.New(dir, nil), nil
	}
	if err != nil {
		return r.fatal("%v", err)
	}
	if r.Hostname != "" {
		cfg.Hostname = r.Hostname
	}
	if r.Sys != nil {
		cfg.Sys = r.Sys
	}
	for _, kv := range r.o.overrides {
		name, value, err := config.SplitNameValue(kv)
		if err != nil {
			return r.fatal("%v: %q", err, kv)
		}
		cfg.Overrides[name] = value
	}
	r.cfg = cfg
	settings := func(s *mastercf.Service) *config.Config { return s.Settings(cfg) }
	warned := map[string]bool{}
	for _, s := range f.Services {
		sc := settings(s)
		for _, o := range s.Overrides {
			for _, n := range config.References(o.Value) {
				if _, ok := sc.Raw(n); !ok && !config.KnownToPostfix(n) && !warned[n] {
					warned[n] = true
					r.warnf("%s/master.cf: undefined parameter: %s", dir, n)
				}
			}
		}
	}
	if !r.o.expand {
		return 0
	}
	mo.Expand = func(s *mastercf.Service, v string) string {
		ex := settings(s).Expander()
		ex.Warn = func(m string) { r.warnf("%s", m) }
		out, _ := ex.Expand(v)
		return out
	}
	return 0
}

// editMaster makes postconf's master.cf edits (-Me, -MX, -M#, -Fe, -Pe,
// -PX) and replaces the file atomically. Nothing is written when any
// request or the entries it touches are malformed.
func (r *run) editMaster(dir string) int {
	o := r.o
	if len(o.args) == 0 {
		return r.fatal("missing service argument")
	}
	kind := mastercf.EditEntry
	switch {
	case o.fields:
		kind = mastercf.EditField
	case o.params:
		kind = mastercf.EditParam
	}
	op := mastercf.EditSet
	switch {
	case o.remove:
		op = mastercf.EditRemove
	case o.comment:
		op = mastercf.EditComment
	}
	path := filepath.Join(dir, "master.cf")
	data, _, code := r.readMaster(path)
	if code != 0 {
		return code
	}
	out, warns, err := mastercf.Edit(dir+"/master.cf", data, kind, op, o.args)
	for _, w := range warns {
		r.warnf("%s", mastercf.Printable(w))
	}
	if err != nil {
		return r.fatal("%s", mastercf.Printable(err.Error()))
	}
	if err := atomicfile.WriteFile(path, []byte(out), 0o644); err != nil {
		return r.fatal("%s: %v", path, err)
	}
	return 0
}

// warnUnusedMaster warns, as postconf does after -n, -M, -F and -P, about
// master.cf -o names that no one reads: not a Postfix parameter, not a
// per-service one ("relay_destination_concurrency_limit" for a service
// "relay"), not referenced as $name anywhere.
func (r *run) warnUnusedMaster(cfg *config.Config, f *mastercf.File, path string, known map[string]bool) {
	services := map[string]bool{}
	for _, s := range f.Services {
		services[s.Name] = true
	}
	perService := func(n string) bool {
		for i := 0; i < len(n); i++ {
			if n[i] == '_' && services[n[:i]] && config.KnownToPostfix("default"+n[i:]) {
				return true
			}
		}
		return false
	}
	for _, s := range f.Services {
		for _, o := range s.Overrides {
			if !known[o.Name] && !perService(o.Name) {
				r.warnf("%s: unused parameter: %s=%s", path, o.Name, o.Value)
			}
		}
	}
}

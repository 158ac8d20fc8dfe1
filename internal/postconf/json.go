package postconf

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/jsonlines"
	"github.com/postern-mta/postern/internal/mastercf"
)

// showJSON prints the selected parameters as JSON Lines, one
// {"name": ..., "value": ...} object a line, in the order and with the
// values (raw, or expanded with -x) of the text output. The value is
// printed as the text output prints it: whitespace runs become one space.
func (r *run) showJSON(cfg *config.Config, names []string, code int) int {
	w := jsonlines.NewWriter(r.Stdout)
	for _, n := range names {
		v, _ := cfg.Raw(n)
		if r.o.expand && !config.IsRaw(n) {
			v = r.expand(cfg, v)
		}
		if err := w.Write(jsonlines.Param{Name: n, Value: printable(v)}); err != nil {
			return r.fatal("write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return r.fatal("write: %v", err)
	}
	return code
}

// masterEntry is one master.cf service, the line of `postern conf -Mj`:
// the columns as written, named as postconf -F names them, and the
// arguments after the command in postconf's canonical form ("-o",
// "name=value" as two words), -o values expanded with -x.
type masterEntry struct {
	Service      string   `json:"service"`
	Type         string   `json:"type"`
	Private      string   `json:"private"`
	Unprivileged string   `json:"unprivileged"`
	Chroot       string   `json:"chroot"`
	Wakeup       string   `json:"wakeup"`
	ProcessLimit string   `json:"process_limit"`
	Command      string   `json:"command"`
	Args         []string `json:"args"`
}

// showMasterJSON prints the services -M would show, as JSON Lines.
func (r *run) showMasterJSON(dir string, f *mastercf.File, mo mastercf.Options) int {
	list, warns, err := f.Entries(r.o.args...)
	if err != nil {
		return r.fatal("%v", err)
	}
	w := jsonlines.NewWriter(r.Stdout)
	for _, s := range list {
		args := append([]string{}, s.Args...)
		for i := 0; i+1 < len(args) && len(args[i]) > 1 && args[i][0] == '-' && args[i] != "--"; i++ {
			if args[i] == "-o" {
				if mo.Expand != nil {
					args[i+1] = mo.Expand(s, args[i+1])
				}
				i++
			}
		}
		e := masterEntry{s.Name, s.Type, string(s.Private), string(s.Unpriv), string(s.Chroot),
			s.Wakeup, s.MaxProc, s.Command, args}
		if err := w.Write(e); err != nil {
			return r.fatal("write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return r.fatal("write: %v", err)
	}
	for _, wn := range warns {
		r.warnf("%s", wn)
	}
	r.warnUnusedMaster(r.cfg, f, dir+"/master.cf", r.knownNames(r.cfg))
	return 0
}

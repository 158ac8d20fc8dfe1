package postconf

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/jsonlines"
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

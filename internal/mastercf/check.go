package mastercf

import (
	"strconv"

	"github.com/postern-mta/postern/internal/config"
)

// checkDuplicates reports entries that the master daemon cannot run side
// by side: the same name and type twice, or two inet services that bind
// the same address and port ("smtp" and "25" are the same socket).
// Postfix only notices the second when bind() fails at start-up.
func (p *parser) checkDuplicates(f *File) {
	byKey := map[string]*Service{}
	byListen := map[string]*Service{}
	for _, s := range f.Services {
		if first, ok := byKey[s.Key()]; ok {
			p.add(config.Error, s.Line, s.Key(), "defined again; the first definition is at line %d", first.Line)
			continue
		}
		byKey[s.Key()] = s
		if s.Type != Inet {
			continue
		}
		k, ok := listenKey(s.Name)
		if !ok {
			continue
		}
		if first, ok := byListen[k]; ok {
			host, port, _ := SplitHostPort(s.Name)
			where := "port " + strconv.Itoa(port)
			if host != "" {
				where = host + " " + where
			}
			p.add(config.Error, s.Line, s.Key(), "listens on %s, like service %s at line %d; only one of them can bind it",
				where, first.Key(), first.Line)
			continue
		}
		byListen[k] = s
	}
}

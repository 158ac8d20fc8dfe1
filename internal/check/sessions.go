package check

import (
	"fmt"

	"github.com/postern-mta/postern/internal/config"
)

// sessionBudget warns when the smtpd services' maxproc add up to more
// sessions than the daemon's file descriptor budget allows with this
// process's hard RLIMIT_NOFILE (Options.SessionBudget, the daemon's own
// formula): clients beyond the budget would wait in the listen backlog
// although maxproc admits them. Each session holds a connection to each
// of its service's smtpd_milters besides its own.
func (c *checker) sessionBudget(budget func(deliveries, milters int) (sessions int, limit uint64)) {
	if budget == nil || c.master == nil {
		return
	}
	def, err := c.cfg.Int("default_process_limit")
	if err != nil {
		return // reported with the parameters
	}
	total, milters := 0, 0
	for _, s := range c.master.Services {
		if s.Command != "smtpd" && s.Command != "postscreen" {
			continue
		}
		if s.Command == "smtpd" {
			if m, err := s.Settings(c.cfg).Milters("smtpd_milters"); err == nil {
				milters = max(milters, len(m))
			}
		}
		n, err := s.ProcessLimit(int(def))
		if err != nil || n == 0 {
			continue // reported elsewhere; 0: no limit, the budget decides
		}
		total += n
	}
	sessions, limit := budget(int(def), milters)
	if total > sessions {
		c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Warning, File: c.master.Path,
			Msg: fmt.Sprintf("the smtpd services' maxproc add up to %d sessions, more than the %d that the file descriptor limit allows (hard RLIMIT_NOFILE %d here, each session %d descriptor(s): its connection and one per smtpd_milters milter, and 2 more while busy): clients beyond %d wait unanswered; raise the hard limit (systemd: LimitNOFILE=) to about %d",
				total, sessions, limit, 1+milters, sessions, uint64(total)*uint64(3+2*milters)/2+2048)})
	}
}

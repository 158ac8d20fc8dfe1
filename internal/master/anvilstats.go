package master

import (
	"time"
)

// anvilStatus logs the anvil's peaks (Postfix's "statistics: max
// connection rate …" lines, under postern/anvil) every
// anvil_status_update_time of the current configuration, when there
// was activity since the last time, until the daemon stops; Stop logs
// the last ones, as Postfix's anvil does when it exits.
func (d *Daemon) anvilStatus() {
	for {
		every, err := d.gen.Load().cfg.Duration("anvil_status_update_time")
		if err != nil || every <= 0 {
			every = 600 * time.Second // Postfix's default; the value was checked at load
		}
		t := time.NewTimer(every)
		select {
		case <-d.done:
			t.Stop()
			return
		case <-t.C:
			d.anvilReport()
		}
	}
}

// anvilReport logs the peaks since the last report, if any.
func (d *Daemon) anvilReport() {
	g := d.gen.Load()
	if g == nil || g.smtp == nil {
		return
	}
	log := d.Log.With("program", "postern/anvil")
	for _, l := range d.anvil.Report(g.smtp.Config.Anvil.Unit) {
		log.Info(l)
	}
}

package master

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// acceptErrors keeps a failing accept loop (EMFILE, ENFILE, ENOBUFS)
// from flooding the log: the first error is logged, the next ones at
// most every acceptLogEvery with how many were left out, and recovery
// is logged once.
type acceptErrors struct {
	mu         sync.Mutex
	failing    bool
	last       time.Time
	suppressed int
}

const acceptLogEvery = 10 * time.Second

func (a *acceptErrors) note(log *slog.Logger, key string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if a.failing && now.Sub(a.last) < acceptLogEvery {
		a.suppressed++
		return
	}
	msg := fmt.Sprintf("accept on %s: %v", key, err)
	if a.suppressed > 0 {
		msg += fmt.Sprintf(" (%d more since %s)", a.suppressed, a.last.Format(time.TimeOnly))
	}
	log.Warn(msg)
	a.failing, a.last, a.suppressed = true, now, 0
}

func (a *acceptErrors) recovered(log *slog.Logger, key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.failing {
		return
	}
	msg := fmt.Sprintf("accept on %s works again", key)
	if a.suppressed > 0 {
		msg += fmt.Sprintf(" (%d more errors since %s)", a.suppressed, a.last.Format(time.TimeOnly))
	}
	log.Info(msg)
	a.failing, a.suppressed = false, 0
}

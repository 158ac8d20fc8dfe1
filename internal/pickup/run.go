package pickup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// minScanGap bounds how often wake-ups (which any local user can send)
// make pickup scan.
const minScanGap = 50 * time.Millisecond

// Run prepares the maildrop, listens for wake-ups from sendmail on
// queue_directory/public/pickup and scans the maildrop at start, on each
// wake-up and every PollInterval, until ctx ends. Mail dropped while the
// daemon was down is queued by the first scan. Run needs no inotify: the
// wake-up is a datagram, and the poll catches any that was lost.
func (p *Pickup) Run(ctx context.Context) error {
	cfg := p.config()
	if err := Prepare(cfg.QueueDir, os.Geteuid(), os.Getegid()); err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	ln, err := listenTrigger(cfg.QueueDir)
	if err != nil {
		// Polling still delivers the mail, only later.
		p.logger("pickup").Warn(fmt.Sprintf("no wake-up socket, polling every %s: %v", cfg.PollInterval, err))
	} else {
		defer ln.Close()
		go readTrigger(ln, wake)
	}
	interval := cfg.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.Scan(ctx) // errors are logged per file; a queue failure waits for the next round
		last := time.Now()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
			if d := minScanGap - time.Since(last); d > 0 {
				time.Sleep(d)
			}
		}
	}
}

// listenTrigger binds the wake-up socket, writable by everyone: a
// datagram carries no data pickup looks at, so any user may send one.
func listenTrigger(queueDir string) (*net.UnixConn, error) {
	path := filepath.Join(queueDir, publicDir, triggerName)
	os.Remove(path) // left by a daemon that did not stop cleanly
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o622); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func readTrigger(ln *net.UnixConn, wake chan<- struct{}) {
	buf := make([]byte, 16)
	for {
		if _, _, err := ln.ReadFromUnix(buf); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(minScanGap) // never spin on a persistent error
			continue
		}
		select {
		case wake <- struct{}{}:
		default: // a scan is due already
		}
	}
}

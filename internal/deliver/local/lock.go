package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// dotlock creates the lock file name (relative to r) exclusively,
// retrying while another process holds it, as Postfix's dot_lockfile()
// does. A lock file older than StaleLockTime (by its modification time)
// was left behind by a crashed writer and is removed. The error is the
// last one seen; fs.ErrExist when the lock stayed taken.
func (a *Agent) dotlock(ctx context.Context, r *os.Root, name string) error {
	for attempt := 1; ; attempt++ {
		f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0)
		if err == nil {
			return f.Close()
		}
		if !errors.Is(err, fs.ErrExist) || attempt >= a.cfg.LockAttempts {
			return err
		}
		if st, serr := r.Lstat(name); serr == nil && a.cfg.Now().Sub(st.ModTime()) > a.cfg.StaleLockTime {
			a.cfg.Logger.Warn("removing stale lock file " + r.Name() + "/" + name)
			if rerr := r.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return rerr
			}
			continue
		}
		if err := sleep(ctx, a.cfg.LockDelay); err != nil {
			return err
		}
	}
}

// lockFile takes an exclusive fcntl lock on all of f, retrying as
// Postfix's deliver_flock() does rather than blocking in F_SETLKW, which
// could not be given up when a lock is never released or the delivery is
// canceled.
func (a *Agent) lockFile(ctx context.Context, f *os.File) error {
	for attempt := 1; ; attempt++ {
		err := fcntlLock(f)
		if err == nil || !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES) || attempt >= a.cfg.LockAttempts {
			if errors.Is(err, syscall.EACCES) {
				err = syscall.EAGAIN // "in use", as Linux reports it
			}
			return err
		}
		if err := sleep(ctx, a.cfg.LockDelay); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

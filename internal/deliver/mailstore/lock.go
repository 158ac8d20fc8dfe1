package mailstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"
)

// Locks says how an mbox file is locked (mailbox_delivery_lock,
// virtual_mailbox_lock) and how long a delivery waits for a lock
// (deliver_lock_attempts, deliver_lock_delay, stale_lock_time).
type Locks struct {
	Dotlock bool // name.lock, created exclusively
	Fcntl   bool // an fcntl (POSIX) lock on the file
	Flock   bool // a flock (BSD) lock on the file
	// Attempts, Delay: a lock is tried Attempts times, Delay apart.
	Attempts int
	Delay    time.Duration
	// StaleTime: a dotlock older than this was left by a crashed writer.
	StaleTime time.Duration
}

// DefaultLocks are Postfix's defaults on Linux: "fcntl, dotlock", 20
// attempts 1s apart, stale dotlocks after 500s.
func DefaultLocks() Locks {
	return Locks{Dotlock: true, Fcntl: true, Attempts: 20, Delay: time.Second, StaleTime: 500 * time.Second}
}

// ParseLocks sets the lock methods from a list such as "fcntl, dotlock"
// (Postfix's mbox_lock_mask()); other fields stay as in l. An unknown
// method or an empty list is an error.
func (l Locks) ParseLocks(list []string) (Locks, error) {
	l.Dotlock, l.Fcntl, l.Flock = false, false, false
	for _, m := range list {
		switch strings.ToLower(m) {
		case "dotlock":
			l.Dotlock = true
		case "fcntl":
			l.Fcntl = true
		case "flock":
			l.Flock = true
		default:
			return l, fmt.Errorf("invalid mailbox lock method %q: use flock, fcntl or dotlock", m)
		}
	}
	if !l.Dotlock && !l.Fcntl && !l.Flock {
		return l, errors.New("no mailbox lock method: use flock, fcntl or dotlock")
	}
	return l, nil
}

// dotlock creates the lock file name (relative to r) exclusively,
// retrying while another process holds it, as Postfix's dot_lockfile()
// does. A lock file older than StaleTime (by its modification time)
// was left behind by a crashed writer and is removed. The error is the
// last one seen; fs.ErrExist when the lock stayed taken.
func (s *Store) dotlock(ctx context.Context, r *os.Root, name string) error {
	l := &s.Locks
	for attempt := 1; ; attempt++ {
		f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0)
		if err == nil {
			return f.Close()
		}
		if !errors.Is(err, fs.ErrExist) || attempt >= l.Attempts {
			return err
		}
		if st, serr := r.Lstat(name); serr == nil && s.now().Sub(st.ModTime()) > l.StaleTime {
			s.warn("removing stale lock file " + r.Name() + "/" + name)
			if rerr := r.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return rerr
			}
			continue
		}
		if err := sleep(ctx, l.Delay); err != nil {
			return err
		}
	}
}

// lockFile takes the exclusive kernel locks of s.Locks (fcntl, flock) on
// all of f, retrying as Postfix's deliver_flock() does rather than
// blocking, which could not be given up when a lock is never released
// or the delivery is canceled.
func (s *Store) lockFile(ctx context.Context, f *os.File) error {
	var methods []func(*os.File) error
	if s.Locks.Fcntl {
		methods = append(methods, fcntlLock)
	}
	if s.Locks.Flock {
		methods = append(methods, flockLock)
	}
	for _, lock := range methods {
		if err := s.retryLock(ctx, f, lock); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) retryLock(ctx context.Context, f *os.File, lock func(*os.File) error) error {
	for attempt := 1; ; attempt++ {
		err := lock(f)
		if err == nil || !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EWOULDBLOCK) || attempt >= s.Locks.Attempts {
			if errors.Is(err, syscall.EACCES) {
				err = syscall.EAGAIN // "in use", as Linux reports it
			}
			return err
		}
		if err := sleep(ctx, s.Locks.Delay); err != nil {
			return err
		}
	}
}

// flockLock tries once to take an exclusive flock on f.
func flockLock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB) }); err != nil {
		return err
	}
	return lerr
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

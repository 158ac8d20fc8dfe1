package queue

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
)

// spaceRule is the free-space rule's settings, which a reload changes
// while sessions check them, and whether a shortage is under way.
type spaceRule struct {
	minFree   atomic.Int64 // queue_minfree
	sizeLimit atomic.Int64 // message_size_limit
	short     atomic.Bool  // the last check or write found no room
}

// SetSpaceLimits sets the free-space rule's queue_minfree and
// message_size_limit (0: none), as Open does from Options; a reload
// calls it with the new values.
func (s *Store) SetSpaceLimits(minFree, messageSizeLimit int64) {
	s.space.minFree.Store(minFree)
	s.space.sizeLimit.Store(messageSizeLimit)
}

// SpaceError is ErrNoSpace with what its caller logs. First is set on
// the first refusal of a shortage (none since the store last found
// room): the program that met it logs Error() as a warning, and the
// others, and later refusals, do not, so that a full disk is reported
// once, not once per message or per attempt.
type SpaceError struct {
	Err   error // the statfs figures or the write that failed
	First bool
}

func (e *SpaceError) Error() string   { return e.Err.Error() }
func (e *SpaceError) Unwrap() []error { return []error{ErrNoSpace, e.Err} }

// FirstShortage reports whether err is the first refusal of a shortage
// of space, which the caller should log (see SpaceError).
func FirstShortage(err error) bool {
	var se *SpaceError
	return errors.As(err, &se) && se.First
}

// shortage returns a SpaceError for err and marks a shortage under way.
func (s *Store) shortage(err error) error {
	return &SpaceError{Err: err, First: s.space.short.CompareAndSwap(false, true)}
}

// noSpace marks a full file system (or quota) as a SpaceError.
func (s *Store) noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return s.shortage(err)
	}
	return err
}

// statfs returns the free space of the queue's file system. CheckSpace
// runs twice per message (MAIL, Enqueue); a disk with plenty of room
// does not fill up in a moment, so an answer above statfsSlack is reused
// for statfsReuse.
func (s *Store) statfs() (int64, error) {
	s.statMu.Lock()
	defer s.statMu.Unlock()
	if s.statFree > statfsSlack && time.Since(s.statAt) < statfsReuse {
		return s.statFree, nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		s.statFree = 0
		return 0, err
	}
	bsize := int64(st.Frsize)
	if bsize == 0 {
		bsize = int64(st.Bsize)
	}
	s.statFree, s.statAt = int64(st.Bavail)*bsize, time.Now()
	return s.statFree, nil
}

const (
	statfsSlack = 1 << 30 // bytes free
	statfsReuse = 100 * time.Millisecond
)

// SpaceNeeded is the free space the queue keeps before it takes a
// message: the larger of queue_minfree and 1.5 × message_size_limit.
func SpaceNeeded(minFree, messageSizeLimit int64) int64 {
	return max(minFree, messageSizeLimit/2*3)
}

// CheckSpace reports a SpaceError (ErrNoSpace) when the queue file
// system cannot take a message of size bytes (0: unknown) and keep its
// reserve: the larger of queue_minfree and 1.5 × message_size_limit
// (Postfix's rule). The SMTP server calls it at MAIL; Enqueue calls it
// with 0. It logs nothing: the caller logs the first refusal of a
// shortage under its own name (FirstShortage).
func (s *Store) CheckSpace(size int64) error {
	need := SpaceNeeded(s.space.minFree.Load(), s.space.sizeLimit.Load()) + max(size, 0)
	free, err := s.freeSpace()
	if err == nil && free < need && s.spares.drain() > 0 {
		s.statMu.Lock()
		s.statAt = time.Time{} // forget the answer from before the drain
		s.statMu.Unlock()
		free, err = s.freeSpace() // the spares' space is free again
	}
	if err != nil {
		return fmt.Errorf("queue: free space in %s: %w", s.dir, err)
	}
	if free < need {
		return s.shortage(fmt.Errorf("not enough free space in mail queue: %d bytes < %d", free, need))
	}
	s.space.short.Store(false)
	return nil
}

// Package fsyncgroup shares one fsync among concurrent callers (group
// commit). An fsync of a directory makes durable every link, rename and
// unlink done in it before the fsync started; so callers that finish
// their renames while an fsync is running join the next batch, and that
// batch's one fsync answers them all. The queue uses it for its
// directories and local delivery for the Maildirs' new/ directories.
package fsyncgroup

import "sync"

// Group is the callers syncing one directory (or file). The zero value
// is ready to use.
type Group struct {
	mu   sync.Mutex
	open *batch // callers waiting for an fsync that has not started
	busy bool   // an fsync is running
}

type batch struct {
	sync func() error // the first caller's: every caller's syncs the same thing
	done chan struct{}
	err  error
}

// Do returns once a sync that started after the call has finished, with
// its error: a failed sync fails every caller of its batch. sync is how
// this caller would sync the directory (its own descriptor, say); one of
// a batch's callers' sync runs for the whole batch, while they all wait.
func (g *Group) Do(sync func() error) error {
	g.mu.Lock()
	if g.open == nil {
		g.open = &batch{sync: sync, done: make(chan struct{})}
	}
	b := g.open
	lead := !g.busy
	if lead {
		g.busy, g.open = true, nil
	}
	g.mu.Unlock()
	if lead {
		g.run(b)
	}
	<-b.done
	return b.err
}

// run syncs batch b and hands the next batch, if callers joined one
// meanwhile, to a new goroutine, so that a leader waits for its own
// fsync only.
func (g *Group) run(b *batch) {
	b.err = b.sync()
	close(b.done)
	g.mu.Lock()
	next := g.open
	g.open = nil
	g.busy = next != nil
	g.mu.Unlock()
	if next != nil {
		go g.run(next)
	}
}

// Set is a Group per key (a directory's device and inode, say), kept
// while in use.
type Set[K comparable] struct {
	mu     sync.Mutex
	groups map[K]*member
}

type member struct {
	Group
	users int
}

// Do is Group.Do on key's group.
func (s *Set[K]) Do(key K, sync func() error) error {
	s.mu.Lock()
	if s.groups == nil {
		s.groups = map[K]*member{}
	}
	m := s.groups[key]
	if m == nil {
		m = &member{}
		s.groups[key] = m
	}
	m.users++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if m.users--; m.users == 0 {
			delete(s.groups, key)
		}
		s.mu.Unlock()
	}()
	return m.Do(sync)
}

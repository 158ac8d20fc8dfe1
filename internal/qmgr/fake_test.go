package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// memStore is an in-memory Store for the manager's tests.
type memStore struct {
	mu      sync.Mutex
	n       int
	where   map[string]string // id → queue
	msgs    map[string]*queue.Message
	body    map[string][]byte
	listed  map[string]int // List calls per queue
	reads   map[string]int // Read calls per queue
	writes  map[string]int // changes per message, its Version
	updated map[string]int // Update calls per message
	opened  atomic.Int32   // Content calls
	// full, when set, makes Update and Defer fail as a full disk does:
	// a queue.SpaceError, First on the first failure only.
	full     bool
	fullSeen bool
}

// fullErr is the error of a write on a full disk; the caller holds s.mu.
func (s *memStore) fullErr() error {
	first := !s.fullSeen
	s.fullSeen = true
	return &queue.SpaceError{Err: fmt.Errorf("queue: write: %w", syscall.ENOSPC), First: first}
}

// CheckSpace is queue.SpaceChecker: no room while full.
func (s *memStore) CheckSpace(int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return s.fullErr()
	}
	return nil
}

func newMemStore() *memStore {
	return &memStore{where: map[string]string{}, msgs: map[string]*queue.Message{}, body: map[string][]byte{}, listed: map[string]int{}, reads: map[string]int{}, writes: map[string]int{}, updated: map[string]int{}}
}

func (s *memStore) Enqueue(_ context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	id := env.ID
	if id == "" {
		id = fmt.Sprintf("M%04d", s.n)
	}
	e := *env
	e.ID = id
	e.Recipients = append([]queue.Recipient(nil), env.Recipients...)
	if e.Arrival.IsZero() {
		e.Arrival = time.Now()
	}
	s.msgs[id] = &queue.Message{ID: id, Envelope: e, Status: make([]queue.RcptStatus, len(e.Recipients)), Size: int64(len(data))}
	s.body[id] = data
	s.where[id] = queue.Incoming
	if env.Hold {
		s.where[id] = queue.Hold
	}
	return id, nil
}

// enqueued is how many messages Enqueue took.
func (s *memStore) enqueued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *memStore) List(q string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listed[q]++
	var ids []string
	for id, w := range s.where {
		if w == q {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (s *memStore) get(q, id string) (*queue.Message, error) {
	if s.where[id] != q {
		return nil, fmt.Errorf("%s/%s: %w", q, id, queue.ErrNotFound)
	}
	return s.msgs[id], nil
}

func (s *memStore) Read(q, id string) (*queue.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads[q]++
	m, err := s.get(q, id)
	if err != nil {
		return nil, err
	}
	c := *m
	c.Queue = q
	c.Status = append([]queue.RcptStatus(nil), m.Status...)
	return &c, nil
}

func (s *memStore) ReadWithContent(q, id string, max int64) (*queue.Message, []byte, error) {
	m, err := s.Read(q, id)
	if err != nil || m.Size > max {
		return m, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m, bytes.Clone(s.body[id]), nil
}

func (s *memStore) Version(q, id string) (queue.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(q, id); err != nil {
		return queue.Version{}, err
	}
	return queue.Version{ModTime: int64(s.writes[id])}, nil
}

// touch records a change of a message's file. The caller holds s.mu.
func (s *memStore) touch(id string) { s.writes[id]++ }

func (s *memStore) Content(q, id string) (io.ReadCloser, error) {
	s.opened.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(q, id); err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(s.body[id])), nil
}

func (s *memStore) Update(q, id string, st map[int]queue.RcptStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return s.fullErr()
	}
	m, err := s.get(q, id)
	if err != nil {
		return err
	}
	for i, v := range st {
		m.Status[i] = v
	}
	s.touch(id)
	s.updated[id]++
	return nil
}

// updates is how many Update calls a message had.
func (s *memStore) updates(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updated[id]
}

func (s *memStore) SetDelayWarned(q, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.get(q, id)
	if err == nil {
		m.DelayWarned = true
		s.touch(id)
	}
	return err
}

func (s *memStore) Move(id, from, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(from, id); err != nil {
		return err
	}
	s.where[id] = to
	return nil
}

func (s *memStore) Defer(id, from string, next time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return s.fullErr()
	}
	m, err := s.get(from, id)
	if err != nil {
		return err
	}
	m.NextAttempt = next
	s.where[id] = queue.Deferred
	s.touch(id)
	return nil
}

// rewrite changes a deferred message's next attempt as another process
// would (postsuper -H).
func (s *memStore) rewrite(id string, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[id].NextAttempt = next
	s.touch(id)
}

func (s *memStore) Remove(q, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(q, id); err != nil {
		return err
	}
	delete(s.where, id)
	delete(s.msgs, id)
	delete(s.body, id)
	return nil
}

func (s *memStore) Activate(id, from string) error { return s.Move(id, from, queue.Active) }
func (s *memStore) Complete(q, id string) error    { return s.Remove(q, id) }

// snapshot returns a message wherever it is, or nil.
func (s *memStore) snapshot(id string) (*queue.Message, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		return nil, ""
	}
	c := *m
	c.Status = append([]queue.RcptStatus(nil), m.Status...)
	return &c, s.where[id]
}

// ids returns every message ID in the store.
func (s *memStore) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.msgs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// lists returns how often a queue was listed.
func (s *memStore) lists(q string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listed[q]
}

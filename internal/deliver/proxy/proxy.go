// Package proxy runs a delivery agent in another process. The daemon
// drops root for mail_owner once its sockets are bound, but local delivery
// must create files as the recipients; so a daemon started as root first
// starts a child that keeps root and runs only the local agent, and talks
// to it over a socket pair: Client in the daemon, Serve in the child.
//
// The protocol is newline-delimited JSON frames, multiplexed by ID:
//
//	daemon → child  {"id":1,"kind":"deliver","req":{…}}     one attempt
//	child → daemon  {"id":1,"kind":"results","results":[…]}
//	child → daemon  {"id":7,"kind":"enqueue","env":{…},"body":"…"}   a forwarded copy
//	daemon → child  {"id":7,"kind":"queued","queue_id":"…"}
//	daemon → child  {"id":2,"kind":"reload"} → {"id":2,"kind":"reloaded"}
//
// The child reads message content from the queue files itself (root may);
// forwarded copies go back to the daemon, so every queue file stays owned
// by mail_owner. The child exits when the socket closes, and a daemon
// whose child is gone defers local mail rather than losing it.
package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// frame is one protocol message; Kind says which fields are set.
type frame struct {
	ID      uint64           `json:"id"`
	Kind    string           `json:"kind"`
	Req     *wireRequest     `json:"req,omitempty"`
	Results []deliver.Result `json:"results,omitempty"`
	Env     *queue.Envelope  `json:"env,omitempty"`
	Body    []byte           `json:"body,omitempty"`
	QueueID string           `json:"queue_id,omitempty"`
	Err     string           `json:"err,omitempty"`
}

// wireRequest is deliver.Request without the content opener: the child
// opens the queue file by ID, unless the content came along.
type wireRequest struct {
	ID      string          `json:"id"`
	Env     *queue.Envelope `json:"env"`
	Rcpts   []int           `json:"rcpts"`
	Nexthop string          `json:"nexthop"`
	Size    int64           `json:"size"`
	Release bool            `json:"release,omitempty"` // the daemon wants a "released" frame
	Body    []byte          `json:"body,omitempty"`    // the content, when the daemon has it in memory
}

// maxFrame bounds one frame: a forwarded copy carries a whole message.
const maxFrame = 256 << 20

// peer is one end of the connection: it writes frames under a lock and
// matches answers to the calls waiting for them.
type peer struct {
	w       io.Writer
	wmu     sync.Mutex
	mu      sync.Mutex
	next    uint64
	waiting map[uint64]call
	dead    chan struct{}
	err     error
}

func newPeer(w io.Writer) *peer {
	return &peer{w: w, waiting: map[uint64]call{}, dead: make(chan struct{})}
}

func (p *peer) send(f frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err = p.w.Write(append(b, '\n'))
	return err
}

// call is a frame waiting for its answer.
type call struct {
	answer   chan frame
	released func() // for a "released" frame before the answer; may be nil
}

// call sends a frame and waits for the answer with the same ID; a
// "released" frame with that ID before it runs released, if not nil.
func (p *peer) call(ctx context.Context, f frame, released func()) (frame, error) {
	ch := make(chan frame, 1)
	p.mu.Lock()
	p.next++
	f.ID = p.next
	p.waiting[f.ID] = call{ch, released}
	p.mu.Unlock()
	defer func() { p.mu.Lock(); delete(p.waiting, f.ID); p.mu.Unlock() }()
	if err := p.send(f); err != nil {
		return frame{}, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-p.dead:
		return frame{}, p.err
	case <-ctx.Done():
		return frame{}, ctx.Err()
	}
}

// answer hands a frame to the call waiting for it; false when none is.
func (p *peer) answer(f frame) bool {
	p.mu.Lock()
	c, ok := p.waiting[f.ID]
	p.mu.Unlock()
	switch {
	case !ok:
	case f.Kind == "released":
		if c.released != nil {
			c.released()
		}
	default:
		c.answer <- f
	}
	return ok
}

// read runs handle for every frame until the connection ends.
func (p *peer) read(r io.Reader, handle func(frame)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxFrame)
	for sc.Scan() {
		var f frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			p.err = fmt.Errorf("delivery agent protocol: %w", err)
			break
		}
		handle(f)
	}
	if p.err == nil {
		p.err = sc.Err()
	}
	if p.err == nil {
		p.err = errors.New("the connection to the delivery agent is closed")
	}
	close(p.dead)
}

// Package proxy runs delivery agents in another process. The daemon
// drops root for mail_owner once its sockets are bound, but local and
// virtual delivery must create files as the recipients; so a daemon
// started as root first starts a child that keeps root and runs only
// those agents, and talks to it over a socket pair: Client in the
// daemon, Serve (or ServeAgents) in the child. A request names its
// transport ("" for the default agent: local; Client.Transport).
//
// The protocol is frames of one JSON line each, multiplexed by ID; a
// frame with "body_len":N is followed by N bytes of message content
// (raw: base64 in JSON would cost more than the delivery's other work):
//
//	child → daemon  {"kind":"ready"}   once, when the agent is built: the child serves
//	daemon → child  {"id":1,"kind":"deliver","req":{…},"body_len":N}…   one attempt
//	child → daemon  {"id":1,"kind":"released"}   the user's slot may go (deliver.Request.Release)
//	child → daemon  {"id":1,"kind":"results","results":[…]}
//	child → daemon  {"id":7,"kind":"enqueue","env":{…},"body_len":N}…   a forwarded copy
//	daemon → child  {"id":7,"kind":"queued","queue_id":"…"}
//	daemon → child  {"id":2,"kind":"reload"} → {"id":2,"kind":"reloaded"}
//
// A request for fewer than half of the message's recipients carries only
// those ("nrcpt" and "rcpt_list" instead of the envelope's list: a
// message for 50 local users is 50 requests). A small message's content comes with its deliver frame; the child
// reads a larger one from the queue file itself (root may). Forwarded
// copies go back to the daemon, so every queue file stays owned by
// mail_owner. The child exits when the socket closes. A child that
// dies is restarted by internal/supervise and its successor attached to
// the Client; meanwhile local mail waits for it (Client.Wait), and is
// deferred rather than lost when none comes.
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
	BodyLen int              `json:"body_len,omitempty"` // raw bytes after the line
	Body    []byte           `json:"-"`
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
	Direct  bool            `json:"direct,omitempty"`  // deliver.Request.DirectOnly
	// Transport picks the agent in the child: "" is the default one.
	Transport string `json:"transport,omitempty"`
	// NRcpt and RcptList, when set, stand for Env.Recipients, which is
	// then left out: the envelope has NRcpt recipients, and RcptList
	// holds those of Rcpts, in order. A message for many local users is
	// one request per recipient (local_destination_recipient_limit = 1):
	// each would otherwise carry, encode and decode all the recipients.
	NRcpt    int               `json:"nrcpt,omitempty"`
	RcptList []queue.Recipient `json:"rcpt_list,omitempty"`
}

// maxRcpts bounds NRcpt: what a request may make the child allocate.
const maxRcpts = 1 << 20

// trimmed returns env for a request of rcpts: itself when the request
// is for most of its recipients, else a copy without recipients, and
// the recipients of rcpts for RcptList.
func trimmed(env *queue.Envelope, rcpts []int) (*queue.Envelope, int, []queue.Recipient) {
	if env == nil || 2*len(rcpts) >= len(env.Recipients) {
		return env, 0, nil
	}
	list := make([]queue.Recipient, 0, len(rcpts))
	for _, i := range rcpts {
		if i < 0 || i >= len(env.Recipients) {
			return env, 0, nil // the child answers for a bad index
		}
		list = append(list, env.Recipients[i])
	}
	e := *env
	e.Recipients = nil
	return &e, len(env.Recipients), list
}

// envelope is the request's envelope with its recipients back in place
// (NRcpt, RcptList), the others empty; an error for a malformed one.
func (w *wireRequest) envelope() (*queue.Envelope, error) {
	if w.Env == nil {
		return nil, errors.New("no request")
	}
	if w.NRcpt == 0 && w.RcptList == nil {
		return w.Env, nil
	}
	if w.NRcpt < 0 || w.NRcpt > maxRcpts || len(w.Env.Recipients) != 0 || len(w.RcptList) != len(w.Rcpts) {
		return nil, errors.New("malformed recipient list")
	}
	rs := make([]queue.Recipient, w.NRcpt)
	for k, i := range w.Rcpts {
		if i < 0 || i >= w.NRcpt {
			return nil, errors.New("malformed recipient list")
		}
		rs[i] = w.RcptList[k]
	}
	e := *w.Env
	e.Recipients = rs
	return &e, nil
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
	// ready is closed when the child said it serves (the daemon's side).
	ready     chan struct{}
	readyOnce sync.Once
}

func newPeer(w io.Writer) *peer {
	return &peer{w: w, waiting: map[uint64]call{}, dead: make(chan struct{}), ready: make(chan struct{})}
}

func (p *peer) send(f frame) error {
	f.BodyLen = len(f.Body)
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	b = append(append(b, '\n'), f.Body...)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err = p.w.Write(b)
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
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		f, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.err = err
			}
			break
		}
		handle(f)
	}
	if p.err == nil {
		p.err = errors.New("the connection to the delivery agent is closed")
	}
	close(p.dead)
}

// readFrame reads one frame: its JSON line and the content after it.
func readFrame(br *bufio.Reader) (frame, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) && len(line) <= maxFrame {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return frame{}, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		return frame{}, fmt.Errorf("delivery agent protocol: %w", err)
	}
	var f frame
	if err := json.Unmarshal(line, &f); err != nil {
		return frame{}, fmt.Errorf("delivery agent protocol: %w", err)
	}
	if f.BodyLen < 0 || f.BodyLen > maxFrame {
		return frame{}, fmt.Errorf("delivery agent protocol: content of %d bytes", f.BodyLen)
	}
	if f.BodyLen > 0 {
		f.Body = make([]byte, f.BodyLen)
		if _, err := io.ReadFull(br, f.Body); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return frame{}, fmt.Errorf("delivery agent protocol: %w", err)
		}
	}
	return f, nil
}

func (p *peer) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

// isDead reports whether the connection has ended.
func (p *peer) isDead() bool {
	select {
	case <-p.dead:
		return true
	default:
		return false
	}
}

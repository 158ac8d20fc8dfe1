package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// Client is the daemon's side: a deliver.Agent whose work is done by the
// agent process at the other end of the connection. Forwarded copies the
// agent produces are queued into q.
//
// The agent process may be replaced (internal/supervise restarts it):
// Attach gives the client the new one's connection. A delivery that finds
// no agent process waits up to Wait for the next one instead of being
// deferred; one whose agent dies under it is tried once more on the
// next. What is deferred because no agent came is passed to Restarted
// when one comes, to be retried at once (not what an agent died under
// twice: it may be what kills them).
type Client struct {
	q   queue.Queue
	log *slog.Logger
	// Wait bounds how long a delivery waits for an agent process.
	Wait time.Duration
	// Restarted, if set, gets the queue IDs of the messages deferred
	// because no agent process answered, when the next one is attached.
	Restarted func(deferred []string)

	mu       sync.Mutex
	p        *peer         // the current agent process; nil before the first
	changed  chan struct{} // closed when p changes or the client is abandoned
	gone     string        // Abandon's reason: no agent process will come
	deferred map[string]bool
}

// DefaultWait is how long a delivery waits for a restarted agent process:
// longer than the supervisor's longest backoff (10 s).
const DefaultWait = 30 * time.Second

// NewClient returns a client talking to the agent process on conn, or
// waiting for one to be attached when conn is nil.
func NewClient(conn io.ReadWriter, q queue.Queue, log *slog.Logger) *Client {
	c := &Client{q: q, log: log, Wait: DefaultWait, changed: make(chan struct{}), deferred: map[string]bool{}}
	if conn != nil {
		c.Attach(conn)
	}
	return c
}

// Attach makes conn the connection to the agent process, replacing one
// that ended. It is closed when it ends, if it is an io.Closer.
func (c *Client) Attach(conn io.ReadWriter) {
	p := newPeer(conn)
	c.mu.Lock()
	c.p = p
	close(c.changed)
	c.changed = make(chan struct{})
	var retry []string
	for id := range c.deferred {
		retry = append(retry, id)
	}
	clear(c.deferred)
	c.mu.Unlock()
	go func() {
		p.read(conn, func(f frame) { c.handle(p, f) })
		if cl, ok := conn.(io.Closer); ok {
			cl.Close()
		}
	}()
	if len(retry) > 0 && c.Restarted != nil {
		c.Restarted(retry)
	}
}

// Abandon tells the client that no agent process will come: deliveries
// are deferred at once with reason.
func (c *Client) Abandon(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = reason
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) handle(p *peer, f frame) {
	switch f.Kind {
	case "enqueue":
		go func() {
			a := frame{ID: f.ID, Kind: "queued"}
			if f.Env == nil {
				a.Err = "no envelope"
			} else if id, err := c.q.Enqueue(context.Background(), f.Env, bytesReader(f.Body)); err != nil {
				a.Err = err.Error()
			} else {
				a.QueueID = id
			}
			p.send(a)
		}()
	case "ready":
		p.readyOnce.Do(func() { close(p.ready) })
	default:
		if !p.answer(f) && c.log != nil {
			c.log.Warn("delivery agent: unexpected " + f.Kind + " frame")
		}
	}
}

// live returns the agent process that serves, other than failed, waiting
// for one until wait fires or ctx ends. One that has not said it serves
// is starting: it may yet fail to (a broken configuration), and must not
// count as one that died under a delivery.
func (c *Client) live(ctx context.Context, failed *peer, wait <-chan time.Time) (*peer, error) {
	for {
		c.mu.Lock()
		p, changed, gone := c.p, c.changed, c.gone
		c.mu.Unlock()
		if gone != "" {
			return nil, errors.New(gone)
		}
		if p != nil && p != failed && !p.isDead() {
			if p.isReady() {
				return p, nil
			}
			select {
			case <-p.ready:
			case <-p.dead:
			case <-changed:
			case <-wait:
				return nil, errors.New("the agent process did not start")
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		select {
		case <-changed:
		case <-wait:
			if p == nil {
				return nil, errors.New("the agent process has not started")
			}
			<-p.dead
			return nil, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Deliver sends one attempt to the agent process's default agent. When
// none answers within Wait (or ctx ends first), every recipient is
// deferred.
func (c *Client) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	return c.deliver(ctx, "", req)
}

// Transport is the agent of the named transport in the agent process
// (ServeAgents).
func (c *Client) Transport(name string) deliver.Agent { return transportAgent{c, name} }

type transportAgent struct {
	c    *Client
	name string
}

func (t transportAgent) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	return t.c.deliver(ctx, t.name, req)
}

func (c *Client) deliver(ctx context.Context, transport string, req *deliver.Request) []deliver.Result {
	env, n, list := trimmed(req.Env, req.Rcpts)
	f := frame{Kind: "deliver", Req: &wireRequest{ID: req.ID, Env: env, NRcpt: n, RcptList: list, Rcpts: req.Rcpts,
		Nexthop: req.Nexthop, Size: req.Size, Release: req.Release != nil, Direct: req.DirectOnly, Transport: transport}, Body: req.Body}
	// A direct attempt keeps an SMTP client waiting: it never waits for
	// an agent process, and the queue's attempt follows one that fails.
	tries, waitFor := 2, c.Wait
	if req.DirectOnly {
		tries, waitFor = 1, 0
	}
	wait := time.NewTimer(waitFor)
	defer wait.Stop()
	var a frame
	var err error
	var failed *peer
	noAgent := false // none came, as opposed to one dying under it
	for try := 0; try < tries; try++ {
		var p *peer
		if p, err = c.live(ctx, failed, wait.C); err != nil {
			noAgent = true
			break
		}
		if a, err = p.call(ctx, f, req.Release); err == nil || ctx.Err() != nil {
			break
		}
		failed = p // it died under this delivery: once more on the next
	}
	if err == nil && a.Err == "" && len(a.Results) == len(req.Rcpts) {
		return a.Results
	}
	name := transport
	if name == "" {
		name = "local"
	}
	reason := name + " delivery agent unavailable"
	if err != nil {
		reason += ": " + err.Error()
		// Retried at the next start: not a message that killed two
		// agent processes, which would then kill every next one.
		if noAgent && ctx.Err() == nil && req.ID != "" && !req.DirectOnly {
			c.mu.Lock()
			c.deferred[req.ID] = true
			c.mu.Unlock()
		}
	} else if a.Err != "" {
		reason += ": " + a.Err
	}
	return deliver.Unavailable{Reason: reason}.Deliver(ctx, req)
}

// Reload makes the agent process re-read the configuration. With none
// serving there is nothing to do: the next reads it as it starts.
func (c *Client) Reload(ctx context.Context) error {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if p == nil || p.isDead() || !p.isReady() {
		return nil
	}
	a, err := p.call(ctx, frame{Kind: "reload"}, nil)
	if err != nil {
		if p.isDead() {
			return nil
		}
		return err
	}
	if a.Err != "" {
		return errorString(a.Err)
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

package proxy

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// Builder makes the agent from the current configuration; the agent
// queues forwarded copies through q.
type Builder func(q queue.Queue) (deliver.Agent, error)

// AgentsBuilder makes the agents of several transports from the current
// configuration, by transport name ("" is the default agent).
type AgentsBuilder func(q queue.Queue) (map[string]deliver.Agent, error)

// Serve runs the agent process's side until conn closes: it builds the
// agent, answers deliver and reload frames, and opens message content
// with content(queueID).
func Serve(conn io.ReadWriter, build Builder, content func(id string) (io.ReadCloser, error)) error {
	return ServeAgents(conn, func(q queue.Queue) (map[string]deliver.Agent, error) {
		a, err := build(q)
		return map[string]deliver.Agent{"": a}, err
	}, content)
}

// ServeAgents is Serve for the agents of several transports: a request
// goes to the agent of the transport it names; one naming no agent gets
// an error.
func ServeAgents(conn io.ReadWriter, build AgentsBuilder, content func(id string) (io.ReadCloser, error)) error {
	p := newPeer(conn)
	q := queueProxy{p}
	var mu sync.RWMutex
	agents, err := build(q)
	if err != nil {
		return err
	}
	if err := p.send(frame{Kind: "ready"}); err != nil {
		return nil // the daemon is gone
	}
	var wg sync.WaitGroup
	p.read(conn, func(f frame) {
		switch f.Kind {
		case "deliver":
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := frame{ID: f.ID, Kind: "results"}
				mu.RLock()
				ag := agents[f.Req.transport()]
				mu.RUnlock()
				var env *queue.Envelope
				var err error
				if f.Req == nil || f.Req.Env == nil {
					a.Err = "no request"
				} else if ag == nil {
					a.Err = "the agent process has no " + f.Req.transport() + " transport"
				} else if env, err = f.Req.envelope(); err != nil {
					a.Err = err.Error()
				} else {
					id := f.Req.ID
					req := &deliver.Request{ID: id, Env: env,
						Rcpts: f.Req.Rcpts, Nexthop: f.Req.Nexthop, Size: f.Req.Size, Body: f.Body,
						DirectOnly: f.Req.Direct, Content: func() (io.ReadCloser, error) { return content(id) }}
					if body := f.Body; body != nil {
						req.Content = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
					}
					if f.Req.Release {
						req.Release = func() { p.send(frame{ID: f.ID, Kind: "released"}) }
					}
					a.Results = ag.Deliver(context.Background(), req)
				}
				p.send(a)
			}()
		case "reload":
			a := frame{ID: f.ID, Kind: "reloaded"}
			if next, err := build(q); err != nil {
				a.Err = err.Error() // the old agent keeps working
			} else {
				mu.Lock()
				agents = next
				mu.Unlock()
			}
			p.send(a)
		default:
			p.answer(f) // "queued"
		}
	})
	wg.Wait()
	return nil // the daemon closed the connection: nothing more to do
}

// queueProxy is the agent's queue: copies go to the daemon's queue.
type queueProxy struct{ p *peer }

func (q queueProxy) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	a, err := q.p.call(ctx, frame{Kind: "enqueue", Env: env, Body: data}, nil)
	if err != nil {
		return "", err
	}
	if a.Err != "" {
		return "", errorString(a.Err)
	}
	return a.QueueID, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// transport is the request's transport; "" for no request.
func (r *wireRequest) transport() string {
	if r == nil {
		return ""
	}
	return r.Transport
}

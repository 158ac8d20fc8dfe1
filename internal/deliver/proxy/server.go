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

// Serve runs the agent process's side until conn closes: it builds the
// agent, answers deliver and reload frames, and opens message content
// with content(queueID).
func Serve(conn io.ReadWriter, build Builder, content func(id string) (io.ReadCloser, error)) error {
	p := newPeer(conn)
	q := queueProxy{p}
	var mu sync.RWMutex
	agent, err := build(q)
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
				if f.Req == nil || f.Req.Env == nil {
					a.Err = "no request"
				} else {
					mu.RLock()
					ag := agent
					mu.RUnlock()
					id := f.Req.ID
					req := &deliver.Request{ID: id, Env: f.Req.Env,
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
				agent = next
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

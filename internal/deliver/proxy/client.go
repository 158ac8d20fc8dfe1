package proxy

import (
	"context"
	"io"
	"log/slog"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// Client is the daemon's side: a deliver.Agent whose work is done by the
// agent process at the other end of conn. Forwarded copies the agent
// produces are queued into q.
type Client struct {
	p   *peer
	q   queue.Queue
	log *slog.Logger
}

// NewClient starts reading from conn.
func NewClient(conn io.ReadWriter, q queue.Queue, log *slog.Logger) *Client {
	c := &Client{p: newPeer(conn), q: q, log: log}
	go c.p.read(conn, c.handle)
	return c
}

func (c *Client) handle(f frame) {
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
			c.p.send(a)
		}()
	default:
		if !c.p.answer(f) && c.log != nil {
			c.log.Warn("delivery agent: unexpected " + f.Kind + " frame")
		}
	}
}

// Deliver sends one attempt to the agent process. When the process is
// gone, or ctx ends first, every recipient is deferred.
func (c *Client) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	a, err := c.p.call(ctx, frame{Kind: "deliver", Req: &wireRequest{ID: req.ID, Env: req.Env, Rcpts: req.Rcpts,
		Nexthop: req.Nexthop, Size: req.Size, Release: req.Release != nil, Direct: req.DirectOnly}, Body: req.Body}, req.Release)
	if err == nil && a.Err == "" && len(a.Results) == len(req.Rcpts) {
		return a.Results
	}
	reason := "local delivery agent unavailable"
	if err != nil {
		reason += ": " + err.Error()
	} else if a.Err != "" {
		reason += ": " + a.Err
	}
	return deliver.Unavailable{Reason: reason}.Deliver(ctx, req)
}

// Reload makes the agent process re-read the configuration.
func (c *Client) Reload(ctx context.Context) error {
	a, err := c.p.call(ctx, frame{Kind: "reload"}, nil)
	if err != nil {
		return err
	}
	if a.Err != "" {
		return errorString(a.Err)
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

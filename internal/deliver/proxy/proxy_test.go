package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// forwarder reads the content, forwards a copy through its queue, and
// reports the copy's ID; generation tells which build served.
type forwarder struct {
	q          queue.Queue
	generation int32
}

func (f *forwarder) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	rc, err := req.Content()
	if err != nil {
		return deliver.Unavailable{Reason: err.Error()}.Deliver(ctx, req)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	id, err := f.q.Enqueue(ctx, &queue.Envelope{Sender: req.Env.Sender,
		Recipients: []queue.Recipient{{Addr: "elsewhere@example.net"}}}, strings.NewReader(string(body)))
	if err != nil {
		return deliver.Unavailable{Reason: err.Error()}.Deliver(ctx, req)
	}
	var out []deliver.Result
	for _, i := range req.Rcpts {
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Sent, DSN: "2.0.0",
			Reason: "forwarded as " + id, Relay: "local", Action: string(rune('0' + f.generation))})
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	mem := &queue.Memory{}
	var builds atomic.Int32
	served := make(chan error, 1)
	go func() {
		served <- Serve(agentEnd, func(q queue.Queue) (deliver.Agent, error) {
			return &forwarder{q: q, generation: builds.Add(1)}, nil
		}, func(id string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("Subject: " + id + "\r\n\r\nbody\r\n")), nil
		})
	}()
	c := NewClient(daemonEnd, mem, nil)
	env := &queue.Envelope{Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "a@x"}, {Addr: "b@x"}}}
	req := &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0, 1}}
	res := c.Deliver(context.Background(), req)
	if len(res) != 2 || res[0].Kind != deliver.Sent || res[1].Rcpt != 1 || res[0].Reason != "forwarded as 0000000001" || res[0].Action != "1" {
		t.Fatalf("results %+v", res)
	}
	msgs := mem.Messages()
	if len(msgs) != 1 || string(msgs[0].Body) != "Subject: Q1\r\n\r\nbody\r\n" || msgs[0].Envelope.Sender != "s@example.org" {
		t.Fatalf("forwarded copy %+v", msgs)
	}
	if err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := c.Deliver(context.Background(), req); res[0].Action != "2" {
		t.Errorf("after reload the old agent answered: %+v", res[0])
	}
	agentEnd.Close() // the agent process is gone: mail waits for the next one
	<-served
	c.Wait = 10 * time.Millisecond
	var retried []string
	c.Restarted = func(ids []string) { retried = ids }
	res = c.Deliver(context.Background(), req)
	if len(res) != 2 || res[0].Kind != deliver.Deferred || !strings.HasPrefix(res[0].Reason, "local delivery agent unavailable") {
		t.Fatalf("after the agent died: %+v", res)
	}
	// The next agent process gets the deferred message at once.
	c.Wait = time.Minute
	done := make(chan []deliver.Result)
	go func() { done <- c.Deliver(context.Background(), &deliver.Request{ID: "Q2", Env: env, Rcpts: []int{0}}) }()
	daemonEnd2, agentEnd2 := net.Pipe()
	go Serve(agentEnd2, func(q queue.Queue) (deliver.Agent, error) {
		return &forwarder{q: q, generation: builds.Add(1)}, nil
	}, func(id string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil })
	defer agentEnd2.Close()
	c.Attach(daemonEnd2)
	if len(retried) != 1 || retried[0] != "Q1" {
		t.Errorf("Restarted got %q, want the deferred Q1", retried)
	}
	if res := <-done; len(res) != 1 || res[0].Kind != deliver.Sent || res[0].Action != "3" {
		t.Errorf("a delivery made while no agent ran: %+v", res)
	}
}

// dier is an agent process that dies in the middle of its first
// delivery, after a word on died if it is not nil.
type dier struct {
	conn net.Conn
	died chan<- struct{}
}

func (d dier) Deliver(context.Context, *deliver.Request) []deliver.Result {
	if d.died != nil {
		d.died <- struct{}{}
	}
	d.conn.Close()
	select {}
}

// A delivery whose agent process dies under it is tried once more on the
// next one; one that finds no agent process waits for it.
func TestAgentDiesUnderDelivery(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	go Serve(agentEnd, func(queue.Queue) (deliver.Agent, error) { return dier{conn: agentEnd}, nil },
		func(string) (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
	c := NewClient(daemonEnd, &queue.Memory{}, nil)
	env := &queue.Envelope{Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "a@x"}}}
	done := make(chan []deliver.Result)
	go func() { done <- c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0}}) }()
	daemonEnd2, agentEnd2 := net.Pipe()
	defer agentEnd2.Close()
	go Serve(agentEnd2, func(queue.Queue) (deliver.Agent, error) { return decliner{}, nil },
		func(string) (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
	c.Attach(daemonEnd2)
	if res := <-done; len(res) != 1 || res[0].Kind != deliver.Sent {
		t.Fatalf("results %+v", res)
	}
	// Without a next agent process it is deferred.
	c.Wait = 10 * time.Millisecond
	agentEnd2.Close()
	res := c.Deliver(context.Background(), &deliver.Request{ID: "Q2", Env: env, Rcpts: []int{0}})
	if len(res) != 1 || res[0].Kind != deliver.Deferred || !strings.HasPrefix(res[0].Reason, "local delivery agent unavailable: ") {
		t.Fatalf("results %+v", res)
	}
	// A direct attempt does not wait: the SMTP client does.
	c.Wait = time.Hour
	res = c.Deliver(context.Background(), &deliver.Request{ID: "Q4", Env: env, Rcpts: []int{0}, DirectOnly: true})
	if len(res) != 1 || res[0].Kind != deliver.Deferred {
		t.Fatalf("direct attempt without an agent: %+v", res)
	}
	c.Abandon("the supervisor exited")
	c.Wait = time.Hour
	res = c.Deliver(context.Background(), &deliver.Request{ID: "Q3", Env: env, Rcpts: []int{0}})
	if len(res) != 1 || res[0].Reason != "local delivery agent unavailable: the supervisor exited" {
		t.Fatalf("after Abandon: %+v", res)
	}
}

// releaser calls Release, then finishes only when told to.
type releaser struct{ finish chan struct{} }

func (r releaser) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	if req.Release != nil {
		req.Release()
	}
	<-r.finish
	return []deliver.Result{{Rcpt: req.Rcpts[0], Kind: deliver.Sent, DSN: "2.0.0"}}
}

// An agent's early Release reaches the daemon's request before the
// results do.
func TestRelease(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	finish := make(chan struct{})
	go Serve(agentEnd, func(queue.Queue) (deliver.Agent, error) { return releaser{finish}, nil },
		func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil })
	defer agentEnd.Close()
	c := NewClient(daemonEnd, &queue.Memory{}, nil)
	env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "a@x"}}}
	released := make(chan struct{})
	done := make(chan []deliver.Result)
	go func() {
		done <- c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0},
			Release: func() { close(released) }})
	}()
	select {
	case <-released:
	case <-done:
		t.Fatal("Deliver returned before the agent finished")
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's Release never reached the daemon")
	}
	close(finish)
	if res := <-done; len(res) != 1 || res[0].Kind != deliver.Sent {
		t.Fatalf("results %+v", res)
	}
}

// Content the daemon holds in memory travels with the request: the agent
// process does not open the queue file.
func TestBodyTravelsWithTheRequest(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	go Serve(agentEnd, func(q queue.Queue) (deliver.Agent, error) { return &forwarder{q: q, generation: 1}, nil },
		func(string) (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
	defer agentEnd.Close()
	mem := &queue.Memory{}
	c := NewClient(daemonEnd, mem, nil)
	env := &queue.Envelope{Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "a@x"}}}
	res := c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0}, Body: []byte("Subject: inline\r\n\r\nhi\r\n")})
	if len(res) != 1 || res[0].Kind != deliver.Sent {
		t.Fatalf("results %+v", res)
	}
	if msgs := mem.Messages(); len(msgs) != 1 || string(msgs[0].Body) != "Subject: inline\r\n\r\nhi\r\n" {
		t.Fatalf("forwarded copy %+v", msgs)
	}
}

// Frames carry their content raw after the JSON line; a damaged stream
// is an error, never a frame.
func TestReadFrame(t *testing.T) {
	for _, c := range []struct {
		in, body, err string
	}{
		{in: `{"id":1,"kind":"enqueue","body_len":5}` + "\nhello", body: "hello"},
		{in: `{"id":1,"kind":"queued"}` + "\n"},
		{in: `{"id":1,"kind":"enqueue","body_len":9}` + "\nhello", err: "unexpected EOF"},
		{in: `{"id":1,"kind":"enqueue","body_len":-1}` + "\n", err: "content of -1 bytes"},
		{in: `{"id":1,"kind":"enqueue","body_len":999999999999}` + "\n", err: "content of"},
		{in: `{"id":1`, err: "unexpected EOF"},
		{in: "not json\n", err: "invalid character"},
	} {
		f, err := readFrame(bufio.NewReader(strings.NewReader(c.in)))
		switch {
		case c.err == "" && (err != nil || string(f.Body) != c.body):
			t.Errorf("%q: %v, body %q", c.in, err, f.Body)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.in, err, c.err)
		}
	}
	if _, err := readFrame(bufio.NewReader(strings.NewReader(""))); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte(`{"id":1,"kind":"enqueue","env":{"sender":"a@b"},"body_len":3}` + "\nabc"))
	f.Add([]byte(`{"id":2,"kind":"results","results":[{"Rcpt":0}]}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		for range 4 {
			fr, err := readFrame(br)
			if err != nil {
				return
			}
			if len(fr.Body) != fr.BodyLen {
				t.Fatalf("body %d bytes, body_len %d", len(fr.Body), fr.BodyLen)
			}
		}
	})
}

// decliner declines direct requests, as the local agent does an alias.
type decliner struct{}

func (decliner) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	kind := deliver.Sent
	if req.DirectOnly {
		kind = deliver.Declined
	}
	return []deliver.Result{{Rcpt: req.Rcpts[0], Kind: kind}}
}

// A direct request stays one across the process boundary, and its
// Declined answer comes back.
func TestDirectOnlyCrosses(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	go Serve(agentEnd, func(queue.Queue) (deliver.Agent, error) { return decliner{}, nil },
		func(string) (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
	defer agentEnd.Close()
	c := NewClient(daemonEnd, &queue.Memory{}, nil)
	env := &queue.Envelope{Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "a@x"}}}
	for _, direct := range []bool{false, true} { // a direct attempt does not wait for the agent to serve
		res := c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0}, DirectOnly: direct})
		want := map[bool]deliver.Kind{true: deliver.Declined, false: deliver.Sent}[direct]
		if len(res) != 1 || res[0].Kind != want {
			t.Errorf("DirectOnly %v: results %+v, want kind %v", direct, res, want)
		}
	}
}

// A message that two agent processes died under is deferred, and not
// retried when the next one starts: it may be what kills them.
func TestKillerIsNotRetriedAtRestart(t *testing.T) {
	c := NewClient(nil, &queue.Memory{}, nil)
	var mu sync.Mutex
	var retried []string
	c.Restarted = func(ids []string) { mu.Lock(); retried = append(retried, ids...); mu.Unlock() }
	died := make(chan struct{}, 2)
	attach := func(agent func(net.Conn) deliver.Agent) {
		daemonEnd, agentEnd := net.Pipe()
		go Serve(agentEnd, func(queue.Queue) (deliver.Agent, error) { return agent(agentEnd), nil },
			func(string) (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
		c.Attach(daemonEnd)
	}
	killer := func(conn net.Conn) deliver.Agent { return dier{conn, died} }
	attach(killer)
	env := &queue.Envelope{Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "a@x"}}}
	done := make(chan []deliver.Result)
	go func() { done <- c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0}}) }()
	<-died
	attach(killer)
	<-died
	if res := <-done; len(res) != 1 || res[0].Kind != deliver.Deferred {
		t.Fatalf("results %+v", res)
	}
	attach(func(net.Conn) deliver.Agent { return decliner{} })
	mu.Lock()
	defer mu.Unlock()
	if len(retried) != 0 {
		t.Errorf("retried at the restart: %q", retried)
	}
}

// named answers with its name as the reason.
type named string

func (n named) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	return []deliver.Result{{Rcpt: req.Rcpts[0], Kind: deliver.Sent, Reason: string(n)}}
}

// A request goes to the agent of the transport it names in the agent
// process; one the process lacks is deferred with the reason.
func TestTransports(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	go ServeAgents(agentEnd, func(queue.Queue) (map[string]deliver.Agent, error) {
		return map[string]deliver.Agent{"": named("local"), "virtual": named("virtual")}, nil
	}, nil)
	defer agentEnd.Close()
	c := NewClient(daemonEnd, &queue.Memory{}, nil)
	env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "a@x"}}}
	req := &deliver.Request{ID: "Q1", Env: env, Rcpts: []int{0}}
	for _, tc := range []struct {
		agent      deliver.Agent
		kind       deliver.Kind
		wantReason string
	}{
		{c, deliver.Sent, "local"},
		{c.Transport("virtual"), deliver.Sent, "virtual"},
		{c.Transport("other"), deliver.Deferred, "other delivery agent unavailable: the agent process has no other transport"},
	} {
		if r := tc.agent.Deliver(context.Background(), req)[0]; r.Kind != tc.kind || r.Reason != tc.wantReason {
			t.Errorf("got %v %q, want %v %q", r.Kind, r.Reason, tc.kind, tc.wantReason)
		}
	}
}

package smtpd

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/queue"
)

// message streams content into the queue while it arrives: Enqueue runs
// in its own goroutine reading from a pipe, so the server never holds a
// whole message in memory, and nothing is queued unless Close succeeds.
type message struct {
	pw   *io.PipeWriter
	done chan result
	err  error // first write error; later writes are swallowed
	id   msgIDSniffer
}

// errAborted ends the content when the session gives up on a message.
var errAborted = errors.New("message aborted")

type result struct {
	id  string
	err error
}

func startMessage(ctx context.Context, q queue.Queue, env *queue.Envelope, header string) *message {
	pr, pw := io.Pipe()
	m := &message{pw: pw, done: make(chan result, 1)}
	go func() {
		id, err := q.Enqueue(ctx, env, io.MultiReader(strings.NewReader(header), pr))
		pr.CloseWithError(errAborted) // unblock writers if Enqueue gave up early
		m.done <- result{id, err}
	}()
	return m
}

// Write never fails, so that the reader keeps consuming the client's
// data up to the end marker even after the queue refused it.
func (m *message) Write(p []byte) (int, error) {
	m.id.write(p)
	if m.err == nil {
		_, m.err = m.pw.Write(p)
	}
	return len(p), nil
}

// Close ends the content and waits for the queue's answer.
func (m *message) Close() (string, error) {
	m.pw.Close()
	r := <-m.done
	if r.err == nil && m.err != nil {
		r.err = m.err
	}
	return r.id, r.err
}

// Abort drops the message: nothing is queued.
func (m *message) Abort(reason error) {
	m.pw.CloseWithError(reason)
	<-m.done
}

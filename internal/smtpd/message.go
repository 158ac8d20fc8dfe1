package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/straycrlf"
)

// message collects content while it arrives. Up to memLimit bytes stay
// in memory and go to the queue in one Enqueue call when the message
// ends: no goroutine and no pipe, whose hand-over per content line cost
// more than the copy. Beyond that Enqueue runs in its own goroutine
// reading from a pipe, so the server never holds a whole large message
// in memory. Nothing is queued unless Close succeeds.
type message struct {
	ctx context.Context
	q   queue.Queue
	env *queue.Envelope
	buf *[]byte // the header and content so far, until streaming starts

	pw   *io.PipeWriter // streaming: the pipe Enqueue reads
	bw   *bufio.Writer  // batches content lines into pipe writes
	done chan result
	err  error // first write error; later writes are swallowed
	id   msgIDSniffer
	// stray: replace stray <CR> and <LF> before the queue stores the
	// content (cleanup_replace_stray_cr_lf).
	stray bool
	last  byte // the last content byte written
	// drop removes message_drop_headers fields; kept holds what it
	// keeps of one write.
	drop headerDrop
	kept []byte
	// held: content stages are configured (content.go): the content
	// goes to a cleanup.Spool instead of the queue. A pointer, so that
	// a message without stages carries nothing for them.
	held *heldContent
}

// memLimit is the queue's content chunk: a message up to that size also
// becomes a single write of its queue file.
const memLimit = 64 << 10

var messageBufs = sync.Pool{New: func() any { b := make([]byte, 0, memLimit); return &b }}

// errAborted ends the content when the session gives up on a message.
var errAborted = errors.New("message aborted")

type result struct {
	id  string
	err error
}

func startMessage(ctx context.Context, q queue.Queue, env *queue.Envelope, header string, stray bool) *message {
	buf := messageBufs.Get().(*[]byte)
	*buf = append((*buf)[:0], header...)
	return &message{ctx: ctx, q: q, env: env, buf: buf, stray: stray}
}

// Write never fails, so that the reader keeps consuming the client's
// data up to the end marker even after the queue refused it.
func (m *message) Write(p []byte) (int, error) {
	n := len(p)
	m.id.write(p)
	if len(p) > 0 {
		m.last = p[len(p)-1]
	}
	if !m.drop.done {
		m.kept = m.drop.filter(m.kept[:0], p)
		p = m.kept
	}
	m.store(p)
	return n, nil
}

// store adds content to the buffer, or to the stream beyond memLimit,
// or to the spool of a held message.
func (m *message) store(p []byte) {
	switch {
	case m.err != nil:
	case m.held != nil:
		_, m.err = m.held.sink.Write(p)
	case m.pw == nil && len(*m.buf)+len(p) <= memLimit:
		*m.buf = append(*m.buf, p...)
	default:
		if m.pw == nil {
			m.stream()
		}
		_, m.err = m.bw.Write(p)
	}
}

// stream starts Enqueue on a pipe, fed first with what is buffered.
func (m *message) stream() {
	pr, pw := io.Pipe()
	m.pw, m.bw, m.done = pw, bufio.NewWriterSize(pw, 32<<10), make(chan result, 1)
	var body io.Reader = io.MultiReader(bytes.NewReader(*m.buf), pr)
	if m.stray {
		body = straycrlf.NewReader(body)
	}
	go func() {
		id, err := m.q.Enqueue(m.ctx, m.env, body)
		pr.CloseWithError(errAborted) // unblock writers if Enqueue gave up early
		m.done <- result{id, err}
	}()
}

// holdsFile reports whether m may hold a file open: the queue file it
// streams into, or the spool of a held message.
func (m *message) holdsFile() bool { return m.pw != nil || m.held != nil }

// release returns the buffer once nothing reads it any more.
func (m *message) release() {
	if m.buf != nil && cap(*m.buf) == memLimit {
		messageBufs.Put(m.buf)
	}
	m.buf = nil
}

// Close ends the content and waits for the queue's answer.
func (m *message) Close() (string, error) {
	defer m.release()
	m.store(m.drop.flush(nil)) // a header line without its line end
	if m.pw == nil {
		if m.stray {
			straycrlf.Replace(*m.buf) // the whole message: in place
		}
		return m.q.Enqueue(m.ctx, m.env, bytes.NewReader(*m.buf))
	}
	if m.err == nil {
		m.err = m.bw.Flush()
	}
	m.pw.Close()
	r := <-m.done
	if r.err == nil && m.err != nil {
		r.err = m.err
	}
	return r.id, r.err
}

// Abort drops the message: nothing is queued.
func (m *message) Abort(reason error) {
	defer m.release()
	if m.held != nil {
		m.held.spool.Close()
		m.held = nil
	}
	if m.pw != nil {
		m.pw.CloseWithError(reason)
		<-m.done
	}
}

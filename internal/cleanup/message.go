package cleanup

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/postern-mta/postern/internal/queue"
)

// NewMessage splits held content into the editable header and the body.
// SKELETON: to be completed (the header parse, a message without a body
// separator, bare LF line ends, MaxHeaderBytes).
func NewMessage(env *queue.Envelope, origin Origin, content *Spool) (*Message, error) {
	return nil, errors.New("cleanup: NewMessage: not yet implemented")
}

// Body reads the current body (after ReplaceBody: the new one) from its
// start; each call returns a new reader.
func (m *Message) Body() io.Reader {
	if m.newBody != nil {
		return m.newBody.Reader(0)
	}
	return m.body.Reader(m.bodyOff)
}

// ReplaceBody makes r's content the body (a milter's SMFIR_REPLBODY).
func (m *Message) ReplaceBody(r io.Reader) error {
	s := NewSpool(m.body.dir)
	if _, err := io.Copy(s, r); err != nil {
		s.Close()
		return err
	}
	if m.newBody != nil {
		m.newBody.Close()
	}
	m.newBody = s
	return nil
}

// Content reads the whole message as it would be queued now: the
// header (Header.Bytes) and the body.
func (m *Message) Content() io.Reader {
	return io.MultiReader(bytes.NewReader(m.Header.Bytes()), m.Body())
}

// Close releases the held content.
func (m *Message) Close() error {
	if m.newBody != nil {
		m.newBody.Close()
	}
	return m.body.Close()
}

// Run applies the stages to m in order and queues the result in q
// (the hold queue when a stage said Hold). It returns the queue ID, or
// the verdict that stopped the message (Reject, Discard), or the
// queue's error. SKELETON: to be completed.
func Run(ctx context.Context, q queue.Queue, m *Message, stages []Stage) (string, Verdict, error) {
	return "", Verdict{}, errors.New("cleanup: Run: not yet implemented")
}

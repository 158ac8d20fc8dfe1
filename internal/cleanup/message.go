package cleanup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/queue"
)

// NewMessage splits held content into the editable header and the body
// (parse.go: folded fields, bare LF line ends kept as received, at most
// MaxHeaderBytes of header). The Message owns content from then on:
// Close releases it, also when NewMessage fails.
//
// When the header ends without its empty line but content follows (a
// line that is no header field, or the MaxHeaderBytes bound), the
// message gets an empty line there: what follows is body for every
// later reader too (a stage, the queue, a mail reader), so that no
// field past the end of the header (a forged Authentication-Results, a
// second From) can be read as header by a more lenient parser. Postfix
// likewise ends the header at the first line that is no field, and
// discards a header past header_size_limit (postern keeps it, as body).
// A message whose header ends with its empty line, or with the content,
// comes out byte for byte as received.
func NewMessage(env *queue.Envelope, origin Origin, content *Spool) (*Message, error) {
	p, whole, err := headerPrefix(content, MaxHeaderBytes)
	if err != nil {
		content.Close()
		return nil, err
	}
	fields, end, off := parseHeader(p, whole)
	if end == "" && int64(off) < content.Size() {
		end = "\r\n"
		if n := len(fields); n > 0 && strings.HasSuffix(fields[n-1].Raw, "\n") && !strings.HasSuffix(fields[n-1].Raw, "\r\n") {
			end = "\n" // as the header's last line ended
		}
	}
	return &Message{Env: env, Origin: origin, Header: Header{Fields: fields, end: end},
		body: content, bodyOff: int64(off)}, nil
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

// NewSpool returns an empty spool beside the message's (for a
// replacement body written as it arrives; see SetBody).
func (m *Message) NewSpool() *Spool { return NewSpool(m.body.dir) }

// SetBody makes s's content the body; m owns s from then on.
func (m *Message) SetBody(s *Spool) {
	if m.newBody != nil {
		m.newBody.Close()
	}
	m.newBody = s
}

// Content reads the whole message as it would be queued now: the
// header (Header.Bytes) and the body. A message held in memory is read
// from one buffer (a *bytes.Reader, which the queue may deliver at
// once), a larger one from its file.
func (m *Message) Content() io.Reader {
	body, off := m.body, m.bodyOff
	if m.newBody != nil {
		body, off = m.newBody, 0
	}
	if body.f == nil {
		rest := body.mem[min(off, int64(len(body.mem))):]
		b := m.Header.appendTo(make([]byte, 0, m.Header.size()+len(rest)))
		return bytes.NewReader(append(b, rest...))
	}
	return io.MultiReader(bytes.NewReader(m.Header.Bytes()), body.Reader(off))
}

// Close releases the held content; it may be called more than once.
func (m *Message) Close() error {
	if m.newBody != nil {
		m.newBody.Close()
	}
	return m.body.Close()
}

// NoRecipients is Run's verdict when the stages left no recipient:
// nothing is queued. smtpd and pickup do not send it on: as Postfix,
// whose queue manager removes such a message (nrcpt=0), they log the
// drop and treat the message as accepted.
const NoRecipients = "550 5.1.0 No recipients specified"

// Run applies the stages to m in order and queues the result in q once
// (the hold queue when a stage said Hold: Envelope.Hold). It returns
// the queue ID and the verdict: Continue, or the first Hold when the
// message was queued on hold (for its log line), or the verdict that
// stopped the message (Reject, Discard: nothing is queued, the ID is
// ""); or the queue's error. A cancelled ctx queues nothing.
func Run(ctx context.Context, q queue.Queue, m *Message, stages []Stage) (string, Verdict, error) {
	var held Verdict
	for _, s := range stages {
		if err := ctx.Err(); err != nil {
			return "", Verdict{}, err
		}
		v := s.Apply(ctx, m)
		switch v.Action {
		case Continue:
		case Hold:
			if !m.Hold {
				m.Hold, held = true, v
			}
		case Reject, Discard:
			return "", v, nil
		default:
			return "", Verdict{}, fmt.Errorf("cleanup: a stage returned action %d", v.Action)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", Verdict{}, err
	}
	if len(m.Env.Recipients) == 0 { // a milter deleted them all
		return "", Verdict{Action: Reject, Reply: NoRecipients}, nil
	}
	m.Env.Hold = m.Env.Hold || m.Hold // or already held (an smtpd HOLD action)
	id, err := q.Enqueue(ctx, m.Env, m.Content())
	if err != nil {
		return "", Verdict{}, err
	}
	return id, held, nil
}

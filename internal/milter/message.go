package milter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// Message sends the held message to each milter in turn (headers, end
// of headers, body, end of body) and applies each one's modifications
// to m before the next milter sees it, as Postfix's cleanup edits the
// queue file. It returns the first reply other than continue, or
// ReplyHold when a milter quarantined the message and none refused it.
// The message is over for the milters either way.
func (c *Chain) Message(ctx context.Context, m *cleanup.Message) string {
	c.inMsg = false
	hold := false
	for _, mc := range c.ms {
		r, ok := c.ensure(ctx, mc)
		if ok {
			var q bool
			r, q = c.message(ctx, mc, m)
			hold = hold || q
		}
		if r == ReplyHold {
			hold, r = true, ""
		}
		if r != "" {
			return r
		}
	}
	if hold {
		return ReplyHold
	}
	return ""
}

// message runs the content events of one milter.
func (c *Chain) message(ctx context.Context, mc *conn, m *cleanup.Message) (string, bool) {
	s := mc.s
	neg := s.Negotiated()
	for _, f := range m.Header.Fields {
		_, v, _ := strings.Cut(f.Raw, ":")
		v = strings.TrimRight(strings.ReplaceAll(v, "\r\n", "\n"), "\n")
		hv, err := s.Header(ctx, f.Name(), v)
		if r := c.verdict(mc, CmdHeader, hv, err); r != "" {
			return r, false
		}
	}
	ev, err := s.EndOfHeaders(ctx, eval(c.macros.names(StageEOH, neg), c.look, c.macros.Defaults))
	if r := c.verdict(mc, CmdEOH, ev, err); r != "" {
		return r, false
	}
	body := m.Body()
	buf := make([]byte, 64<<10)
	for {
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			bv, err := s.Body(ctx, buf[:n])
			if r := c.verdict(mc, CmdBody, bv, err); r != "" {
				return r, false
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			c.warn("milter %s: read message body: %v", mc.spec.Name, err)
			return c.failWith(mc, replyConfigError), false
		}
	}
	v, mods, err := s.EndOfBody(ctx, eval(c.macros.names(StageEOM, neg), c.look, c.macros.Defaults))
	if err != nil {
		return c.fail(mc, CmdEOB, err), false
	}
	hold, err := apply(m, mods, neg.Has(ProtoHdrLeadSpc))
	if err != nil {
		c.warn("milter %s: %v", mc.spec.Name, err)
		return c.failWith(mc, replyConfigError), false
	}
	return c.reply(mc, v, false), hold
}

// verdict maps an event's outcome: an error fails the milter.
func (c *Chain) verdict(mc *conn, cmd byte, v Verdict, err error) string {
	if err != nil {
		return c.fail(mc, cmd, err)
	}
	return c.reply(mc, v, false)
}

// crlf makes a milter's LF line ends (header folding, body) CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// field formats a header a milter added or changed: without
// SMFIP_HDR_LEADSPC a space goes after the colon, as Postfix does.
func field(name, value string, leadSpace bool) cleanup.Field {
	sp := " "
	if leadSpace {
		sp = ""
	}
	return cleanup.Field{Raw: name + ":" + sp + crlf(value) + "\r\n"}
}

// bareAddr removes the angle brackets of a milter's address.
func bareAddr(a string) string {
	a = strings.TrimSpace(a)
	if len(a) >= 2 && a[0] == '<' && a[len(a)-1] == '>' {
		a = a[1 : len(a)-1]
	}
	return a
}

// apply makes the modifications of one milter to m, in order; it
// reports whether the milter quarantined the message.
func apply(m *cleanup.Message, mods []Reply, leadSpace bool) (bool, error) {
	hold := false
	var body []byte
	replBody := false
	for _, r := range mods {
		switch r.Cmd {
		case RepAddHeader:
			m.Header.Fields = append(m.Header.Fields, field(r.Name, r.Value, leadSpace))
		case RepInsHeader:
			// Sendmail's index 0 is the top; Postfix inserts before
			// the (index+1)-th header, which is the same.
			h := &m.Header
			i := min(int(r.Index), len(h.Fields))
			h.Fields = append(h.Fields, cleanup.Field{})
			copy(h.Fields[i+1:], h.Fields[i:])
			h.Fields[i] = field(r.Name, r.Value, leadSpace)
		case RepChgHeader:
			changeHeader(&m.Header, r.Name, max(int(r.Index), 1), r.Value, leadSpace)
		case RepAddRcpt, RepAddRcptPar:
			m.Env.Recipients = append(m.Env.Recipients, queue.Recipient{Addr: bareAddr(r.Text)})
		case RepDelRcpt:
			a := bareAddr(r.Text)
			kept := m.Env.Recipients[:0]
			for _, rc := range m.Env.Recipients {
				if !strings.EqualFold(rc.Addr, a) && !strings.EqualFold(rc.Orig, a) {
					kept = append(kept, rc)
				}
			}
			m.Env.Recipients = kept
		case RepChgFrom:
			m.Env.Sender = bareAddr(r.Text)
		case RepReplBody:
			replBody = true
			body = append(body, r.Body...)
		case RepQuarantine:
			hold = true
		}
	}
	if replBody {
		if err := m.ReplaceBody(bytes.NewReader([]byte(crlf(string(body))))); err != nil {
			return hold, errors.Join(errors.New("replace body"), err)
		}
	}
	return hold, nil
}

// changeHeader replaces the n-th (from 1) field named name, or deletes
// it for an empty value; without such a field a non-empty value is
// added at the end, as Sendmail does.
func changeHeader(h *cleanup.Header, name string, n int, value string, leadSpace bool) {
	seen := 0
	for i, f := range h.Fields {
		if !strings.EqualFold(f.Name(), name) {
			continue
		}
		if seen++; seen == n {
			if value == "" {
				h.Fields = append(h.Fields[:i], h.Fields[i+1:]...)
			} else {
				h.Fields[i] = field(f.Name(), value, leadSpace)
			}
			return
		}
	}
	if value != "" {
		h.Fields = append(h.Fields, field(name, value, leadSpace))
	}
}

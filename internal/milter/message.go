package milter

import (
	"context"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
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
	e := c.editor(mc, m)
	v, err := s.EndOfBody(ctx, eval(c.macros.names(StageEOM, neg), c.look, c.macros.Defaults), e.apply)
	if err == nil {
		err = e.finish()
	}
	if err != nil {
		e.abandon()
		if e.err != nil { // ours (the spool), not the milter's
			c.warn("milter %s: %v", mc.spec.Name, e.err)
			return c.failWith(mc, replyConfigError), false
		}
		return c.fail(mc, CmdEOB, err), false
	}
	return c.reply(mc, v, false), e.hold
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

// changeHeader replaces the n-th (from 1) field named name, or deletes
// it for an empty value; without such a field a non-empty value is
// added at the end, as Sendmail does (cleanup.Header.Change).
func changeHeader(h *cleanup.Header, name string, n int, value string, leadSpace bool) {
	h.ChangeFormat(name, n, value, func(name, value string) cleanup.Field { return field(name, value, leadSpace) })
}

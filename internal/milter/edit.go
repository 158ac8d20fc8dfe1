package milter

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// Limits bound what one milter may do to one message at end of body;
// past one, the milter broke the protocol: its milter_default_action
// stands, and the warning is logged. Zero fields take the defaults.
type Limits struct {
	// BodySize bounds a replacement body (SMFIR_REPLBODY), in bytes:
	// message_size_limit; 0 is no limit (it goes to a spool file).
	BodySize int64
	// Recipients bounds SMFIR_ADDRCPT, SMFIR_ADDRCPT_PAR and
	// SMFIR_DELRCPT: DefaultMaxRecipientEdits when 0
	// (smtpd_recipient_limit in smtpd).
	Recipients int
	// Headers bounds SMFIR_ADDHEADER, SMFIR_INSHEADER and
	// SMFIR_CHGHEADER; HeaderBytes the bytes of their names and values.
	// DefaultMaxHeaderEdits and cleanup.MaxHeaderBytes when 0.
	Headers, HeaderBytes int
}

// Default Limits.
const (
	DefaultMaxRecipientEdits = 1000 // Postfix's smtpd_recipient_limit
	DefaultMaxHeaderEdits    = 1000
)

// editor applies one milter's modifications to the message as they
// arrive (Postfix's cleanup edits the queue file as they arrive too),
// within Limits: a replacement body goes to a Spool, nothing else is
// held.
type editor struct {
	c         *Chain
	name      string
	m         *cleanup.Message
	lim       Limits
	leadSpace bool
	hold      bool
	rcpts     int
	headers   int
	hdrBytes  int
	body      *cleanup.Spool // the replacement body, from the first SMFIR_REPLBODY
	bodyCR    bool           // the last byte written to body was a CR
	// err: a failure of ours (writing the spool), not the milter's.
	err error
}

func (c *Chain) editor(mc *conn, m *cleanup.Message) *editor {
	lim := c.Limits
	if lim.Recipients <= 0 {
		lim.Recipients = DefaultMaxRecipientEdits
	}
	if lim.Headers <= 0 {
		lim.Headers = DefaultMaxHeaderEdits
	}
	if lim.HeaderBytes <= 0 {
		lim.HeaderBytes = cleanup.MaxHeaderBytes
	}
	return &editor{c: c, name: mc.spec.Name, m: m, lim: lim, leadSpace: mc.s.Negotiated().Has(ProtoHdrLeadSpc)}
}

// apply makes one modification.
func (e *editor) apply(r Reply) error {
	switch r.Cmd {
	case RepAddHeader, RepInsHeader, RepChgHeader:
		if e.headers++; e.headers > e.lim.Headers {
			return perr(r.Cmd, "more than %d header changes", e.lim.Headers)
		}
		if e.hdrBytes += len(r.Name) + len(r.Value); e.hdrBytes > e.lim.HeaderBytes {
			return perr(r.Cmd, "header changes of more than %d bytes", e.lim.HeaderBytes)
		}
	case RepAddRcpt, RepAddRcptPar, RepDelRcpt:
		if e.rcpts++; e.rcpts > e.lim.Recipients {
			return perr(r.Cmd, "more than %d recipient changes", e.lim.Recipients)
		}
	}
	h := &e.m.Header
	switch r.Cmd {
	case RepAddHeader:
		h.Fields = append(h.Fields, field(r.Name, r.Value, e.leadSpace))
	case RepInsHeader:
		// Sendmail's index 0 is the top; Postfix inserts before the
		// (index+1)-th header, which is the same.
		i := min(int(r.Index), len(h.Fields))
		h.Fields = append(h.Fields, cleanup.Field{})
		copy(h.Fields[i+1:], h.Fields[i:])
		h.Fields[i] = field(r.Name, r.Value, e.leadSpace)
	case RepChgHeader:
		changeHeader(h, r.Name, max(int(r.Index), 1), r.Value, e.leadSpace)
	case RepAddRcpt, RepAddRcptPar:
		rc, err := e.addr(r, true)
		if err != nil {
			return err
		}
		e.m.Env.Recipients = append(e.m.Env.Recipients, rc)
	case RepDelRcpt:
		a := bareAddr(r.Text)
		q := a
		if rc, err := e.addr(r, true); err == nil {
			q = rc.Addr
		}
		kept := e.m.Env.Recipients[:0]
		for _, rc := range e.m.Env.Recipients {
			if !strings.EqualFold(rc.Addr, a) && !strings.EqualFold(rc.Addr, q) && !strings.EqualFold(rc.Orig, a) {
				kept = append(kept, rc)
			}
		}
		e.m.Env.Recipients = kept
	case RepChgFrom:
		rc, err := e.addr(r, false)
		if err != nil {
			return err
		}
		e.m.Env.Sender = rc.Addr
	case RepReplBody:
		return e.replBody(r.Body)
	case RepQuarantine:
		e.hold = true
	}
	return nil
}

// addr is the address of SMFIR_ADDRCPT(_PAR), SMFIR_DELRCPT or
// SMFIR_CHGFROM as it is queued: rewritten as cleanup rewrites (Chain's
// Canonical: <user> is user@$myorigin), the address as given kept for
// orig_to=. ESMTP arguments are not honoured: a warning says so. There
// is no relay check, as in Postfix: the milter is trusted.
func (e *editor) addr(r Reply, rcpt bool) (queue.Recipient, error) {
	name := map[byte]string{RepAddRcpt: "SMFIR_ADDRCPT", RepAddRcptPar: "SMFIR_ADDRCPT_PAR", RepDelRcpt: "SMFIR_DELRCPT", RepChgFrom: "SMFIR_CHGFROM"}[r.Cmd]
	a := bareAddr(r.Text)
	if r.Args != "" {
		e.c.warn("milter %s: %s <%s>: ignoring ESMTP arguments %q", e.name, name, a, r.Args)
	}
	if a == "" && !rcpt {
		return queue.Recipient{}, nil // the null sender
	}
	path, rest, err := address.Options{Rcpt: rcpt}.ParsePath("<"+a+">", true)
	if err != nil || rest != "" || path.Null {
		return queue.Recipient{}, perr(r.Cmd, "%s: bad address syntax: %q", name, a)
	}
	rc := queue.Recipient{Addr: path.Addr.String()}
	if e.c.Canonical != nil {
		if c := e.c.Canonical(path.Addr); c != path.Addr {
			rc.Addr, rc.Orig = c.String(), path.Addr.String()
		}
	}
	return rc, nil
}

// replBody appends a chunk of the replacement body to its spool, LF
// line ends made CRLF (also across chunks), within Limits.BodySize.
func (e *editor) replBody(p []byte) error {
	if e.body == nil {
		e.body = e.m.NewSpool()
	}
	var b []byte
	if bytes.IndexByte(p, '\n') < 0 {
		b = p
	} else {
		b = make([]byte, 0, len(p)+len(p)/16)
		prev := e.bodyCR
		for _, c := range p {
			if c == '\n' && !prev {
				b = append(b, '\r')
			}
			b = append(b, c)
			prev = c == '\r'
		}
	}
	if len(p) > 0 {
		e.bodyCR = p[len(p)-1] == '\r'
	}
	if e.lim.BodySize > 0 && e.body.Size()+int64(len(b)) > e.lim.BodySize {
		return perr(RepReplBody, "replacement body larger than %d bytes", e.lim.BodySize)
	}
	if _, err := e.body.Write(b); err != nil {
		e.err = fmt.Errorf("replace body: %w", err)
		return e.err
	}
	return nil
}

// finish installs the replacement body, if any.
func (e *editor) finish() error {
	if e.body != nil {
		e.m.SetBody(e.body)
		e.body = nil
	}
	return nil
}

// abandon drops a replacement body not installed.
func (e *editor) abandon() {
	if e.body != nil {
		e.body.Close()
		e.body = nil
	}
}

// bareAddr removes the angle brackets of a milter's address.
func bareAddr(a string) string {
	a = strings.TrimSpace(a)
	if len(a) >= 2 && a[0] == '<' && a[len(a)-1] == '>' {
		a = a[1 : len(a)-1]
	}
	return a
}

package bounce

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// Audience is whom a notice is for.
type Audience int

const (
	// ToSender is the notice to the original envelope sender, from <>:
	// boilerplate text, RET honoured for failures.
	ToSender Audience = iota
	// PostmasterCopy is the copy for Params.Postmaster that
	// notify_classes = bounce (bounce_notice_recipient) or delay
	// (delay_notice_recipient) asks for: no boilerplate, headers only.
	PostmasterCopy
	// DoubleBounce is the notice to Params.Postmaster
	// (2bounce_notice_recipient) about null-sender mail, a bounce, that
	// could not be delivered: no boilerplate, the whole message.
	DoubleBounce
)

// ErrNoNotice is returned by Compose for a notice to the null sender or to
// the double-bounce sender: those are discarded, never notified, so that
// notices cannot loop.
var ErrNoNotice = errors.New("no notice goes to the null sender or to the double-bounce sender")

// DefaultMaxQueueLifetime is maximal_queue_lifetime's default.
const DefaultMaxQueueLifetime = 5 * 24 * time.Hour

// Params describe one notice.
type Params struct {
	Kind    Kind
	To      Audience           // ToSender (the zero value), PostmasterCopy or DoubleBounce
	ID      string             // queue ID of the original message
	Env     *queue.Envelope    // the original envelope
	Rcpts   []int              // the recipients reported on (Compose does not apply NOTIFY: see Wanted)
	Status  []queue.RcptStatus // parallel to Env.Recipients
	Content io.Reader          // the original content (headers + body); nil: "message unavailable"

	Hostname   string // myhostname
	MailName   string // mail_name, "postern"
	Postmaster string // recipient of PostmasterCopy and DoubleBounce notices; qualified with @Hostname when bare
	Now        time.Time
	NewID      string // queue ID of the notice (Received:, Message-Id:)

	// MaxReturned is bounce_size_limit: content longer than this is
	// returned as headers only. 0 means DefaultMaxReturned, < 0 no limit.
	MaxReturned int64
	// DelayWarning is delay_warning_time, quoted by Delay notices.
	DelayWarning time.Duration
	// MaxQueueLifetime is maximal_queue_lifetime (bounce_queue_lifetime
	// for null-sender mail), for Delay notices' text and Will-Retry-Until;
	// 0 means DefaultMaxQueueLifetime.
	MaxQueueLifetime time.Duration
}

// Compose builds the notice p describes: its envelope (sender <>, or
// DoubleBounceSender for postmaster notices; one recipient) and its
// content, an RFC 3464 multipart/report with CRLF lines, ready for the
// queue. It reads p.Content and nothing else; the caller enqueues.
func Compose(p *Params) (*queue.Envelope, []byte, error) {
	if err := p.check(); err != nil {
		return nil, nil, fmt.Errorf("compose %s notice for %s: %w", p.kindName(), p.id(), err)
	}
	tmpl := templates[p.Kind]
	toPostmaster := p.To != ToSender
	headersOnly := p.Kind != Failure || p.To == PostmasterCopy ||
		p.To == ToSender && strings.EqualFold(p.Env.Ret, "HDRS")
	limit := p.MaxReturned
	if limit == 0 {
		limit = DefaultMaxReturned
	}

	var orig original
	if p.Content != nil {
		var err error
		if orig, err = readOriginal(p.Content, limit, headersOnly); err != nil {
			return nil, nil, fmt.Errorf("compose %s notice for %s: %w", p.kindName(), p.id(), err)
		}
		headersOnly = orig.headersOnly
	}

	host := mask(p.Hostname, false)
	smtputf8 := p.Env.SMTPUTF8
	// Like Postfix, one flag for the whole notice: an 8-bit original makes
	// the report and its text part 8bit too (they quote its addresses).
	eightBit := p.Env.EightBit || smtputf8 || orig.eightBit
	to := qualify(mask(p.Env.Sender, smtputf8), host)
	sender := ""
	if toPostmaster {
		to = qualify(mask(p.Postmaster, smtputf8), host)
		sender = DoubleBounceSender(host)
	}
	w := &writer{
		host:     host,
		xname:    xToken(p.MailName),
		smtputf8: smtputf8,
		boundary: boundary(mask(p.ID, false), p.Now.Unix(), host, orig.data),
	}
	w.buf.Grow(len(orig.data) + 4096)

	// The header, in the order Postfix's bounce plus cleanup produce it.
	date := mailDate(p.Now)
	w.line("Received: by " + host + " (" + mask(p.mailName(), false) + ")")
	w.line("\tid " + mask(p.NewID, false) + "; " + date)
	w.line("Date: " + date)
	w.line("From: Mail Delivery System <MAILER-DAEMON@" + host + ">")
	if toPostmaster {
		w.line("Subject: " + tmpl.postmasterSubject)
	} else {
		w.line("Subject: " + tmpl.subject)
	}
	w.line("To: " + to)
	if toPostmaster {
		w.line("Auto-Submitted: auto-generated")
	} else {
		w.line("Auto-Submitted: auto-replied")
	}
	w.line("MIME-Version: 1.0")
	w.line("Content-Type: multipart/report; report-type=delivery-status;")
	w.line("\tboundary=\"" + w.boundary + "\"")
	if eightBit {
		w.line("Content-Transfer-Encoding: 8bit")
	}
	w.line("Message-Id: <" + p.Now.Format("20060102150405") + "." + mask(p.NewID, false) + "@" + host + ">")
	w.line("")
	w.line("This is a MIME-encapsulated message.")

	w.notification(p, eightBit, toPostmaster)
	w.deliveryStatus(p, eightBit)
	w.original(p, orig, tmpl.undelivered, headersOnly, eightBit)

	env := &queue.Envelope{
		ID:         p.NewID,
		Sender:     sender,
		Recipients: []queue.Recipient{{Addr: to}},
		EightBit:   eightBit,
		SMTPUTF8:   smtputf8 && !isASCII(to),
		Arrival:    p.Now,
	}
	return env, w.buf.Bytes(), nil
}

// check rejects Params that cannot make a notice.
func (p *Params) check() error {
	switch {
	case p == nil || p.Env == nil:
		return errors.New("no original envelope")
	case p.Kind != Failure && p.Kind != Delay && p.Kind != Success:
		return fmt.Errorf("unknown notice kind %d", p.Kind)
	case p.To < ToSender || p.To > DoubleBounce:
		return fmt.Errorf("unknown audience %d", p.To)
	case p.To != ToSender && p.Kind == Success:
		return errors.New("success notices go to the sender only")
	case p.To != ToSender && p.Postmaster == "":
		return errors.New("no postmaster address")
	case p.To == ToSender && !noticeSender(p.Env.Sender, p.Hostname):
		return ErrNoNotice
	case p.Hostname == "" || p.ID == "" || p.NewID == "":
		return errors.New("hostname, queue ID and new queue ID are required")
	case len(p.Status) != len(p.Env.Recipients):
		return fmt.Errorf("%d statuses for %d recipients", len(p.Status), len(p.Env.Recipients))
	case len(p.Rcpts) == 0:
		return errors.New("no recipients to report on")
	}
	for _, i := range p.Rcpts {
		if i < 0 || i >= len(p.Env.Recipients) {
			return fmt.Errorf("recipient index %d out of range", i)
		}
	}
	return nil
}

func (p *Params) kindName() string {
	if p == nil {
		return "a"
	}
	return strings.ToLower(p.Kind.String())
}

func (p *Params) id() string {
	if p == nil || p.ID == "" {
		return "a message"
	}
	return p.ID
}

func (p *Params) mailName() string {
	if p.MailName == "" {
		return "postern"
	}
	return p.MailName
}

func (p *Params) lifetime() time.Duration {
	if p.MaxQueueLifetime == 0 {
		return DefaultMaxQueueLifetime
	}
	return p.MaxQueueLifetime
}

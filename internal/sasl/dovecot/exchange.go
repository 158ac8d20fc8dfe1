package dovecot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// exchange is one AUTH request: AUTH, then CONT rounds, until OK or FAIL.
type exchange struct {
	c       *Client
	mech    string
	client  sasl.Client
	initial []byte

	cn    *conn // the connection of the request, until released
	id    uint32
	sent  bool // the AUTH line went out: Dovecot knows the id
	ch    chan line
	state int
	user  string // OK came with final data: the user, for the last step
}

const (
	stNew     = iota
	stCont    // Dovecot sent CONT: the next Next carries the answer
	stSuccess // OK came with final server data, sent as a challenge
	stDone
)

// errDone: Next after the outcome.
var errDone = errors.New("exchange already finished")

func (e *exchange) Next(ctx context.Context, response []byte) (sasl.Step, error) {
	switch e.state {
	case stNew:
		return e.first(ctx)
	case stCont:
		sent := time.Now()
		text := "CONT\t" + strconv.FormatUint(uint64(e.id), 10) + "\t" + base64.StdEncoding.EncodeToString(response) + "\n"
		if err := e.cn.send(ctx, text, e.c.Timeout); err != nil {
			return e.fail(fmt.Errorf("sending CONT: %w", err))
		}
		l, err := e.wait(ctx, sent)
		if err != nil {
			return e.fail(err)
		}
		return e.reply(l)
	case stSuccess:
		e.state = stDone
		return sasl.Step{Done: true, User: e.user}, nil
	}
	return sasl.Step{}, errDone
}

// Close ends the exchange. One still pending in Dovecot (it sent CONT,
// or its reply is overdue: the client answered "*", sent bad base64,
// hung up, or the wait timed out) is cancelled there with CANCEL, which
// frees Dovecot's request (about 6 KB of its auth process each: it
// never times them out itself) and the id here; a late reply to it is
// dropped. After the outcome it is a no-op; it is safe to call twice.
func (e *exchange) Close() error {
	e.state = stDone
	e.release()
	return nil
}

// release forgets the request and cancels it in Dovecot if Dovecot
// holds it: sent and not answered with OK or FAIL (the reader forgets
// those ids itself).
func (e *exchange) release() {
	if e.cn == nil {
		return
	}
	cn, id, sent := e.cn, e.id, e.sent
	e.cn, e.sent = nil, false
	if cn.end(id) && sent {
		cn.cancel(id, e.c.Timeout)
	}
}

// first sends AUTH. A request that met a broken connection before any
// reply to it (Dovecot restarted while the connection was idle) is
// retried once on a new connection; one that timed out is not.
func (e *exchange) first(ctx context.Context) (sasl.Step, error) {
	if !validMech(e.mech) {
		e.state = stDone
		return sasl.Step{Done: true, Reason: "Invalid authentication mechanism"}, nil
	}
	for attempt := 0; ; attempt++ {
		cn, err := e.c.conn(ctx)
		if err != nil {
			return e.fail(err)
		}
		if !offers(cn.mechs, e.mech) {
			// Dovecot drops a client that asks for a mechanism it
			// did not list.
			e.state = stDone
			return sasl.Step{Done: true, Reason: "Invalid authentication mechanism"}, nil
		}
		id, ch, err := cn.begin(e.c.maxPending())
		if errors.Is(err, errTooMany) {
			return e.fail(err)
		}
		if err == nil {
			e.cn, e.id, e.ch = cn, id, ch
			sent := time.Now()
			if err = cn.send(ctx, e.authLine(), e.c.Timeout); err == nil {
				e.sent = true
				var l line
				if l, err = e.wait(ctx, sent); err == nil {
					return e.reply(l)
				}
			}
			e.release()
		}
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
		if attempt > 0 || ctx.Err() != nil || timedOut || cn.broken() == nil {
			return e.fail(err) // a hung Dovecot is not waited for twice
		}
	}
}

// wait bounds the wait for Dovecot's reply by ReplyTimeout.
func (e *exchange) wait(ctx context.Context, sent time.Time) (line, error) {
	ctx, cancel := context.WithTimeout(ctx, e.c.ReplyTimeout)
	defer cancel()
	return e.cn.wait(ctx, e.ch, sent)
}

func offers(mechs []sasl.Mechanism, name string) bool {
	for _, m := range mechs {
		if m.Name == name {
			return true
		}
	}
	return false
}

// authLine is the AUTH request, every value escaped.
func (e *exchange) authLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AUTH\t%d\t%s\tservice=%s\tnologin", e.id, e.mech, escape(e.client.Service))
	if a := e.client.LocalAddr; a.IsValid() {
		fmt.Fprintf(&b, "\tlip=%s\tlport=%d", escape(a.Addr().Unmap().String()), a.Port())
	}
	if a := e.client.RemoteAddr; a.IsValid() {
		fmt.Fprintf(&b, "\trip=%s\trport=%d", escape(a.Addr().Unmap().String()), a.Port())
	}
	if e.client.Secured {
		b.WriteString("\tsecured")
	}
	if e.initial != nil {
		b.WriteString("\tresp=")
		b.WriteString(base64.StdEncoding.EncodeToString(e.initial))
	}
	b.WriteByte('\n')
	return b.String()
}

// reply turns Dovecot's CONT, OK or FAIL into a step.
func (e *exchange) reply(l line) (sasl.Step, error) {
	opts := l.args[1:]
	switch l.cmd {
	case "CONT":
		data := ""
		if len(opts) > 0 {
			data = opts[0]
		}
		ch, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return e.fail(fmt.Errorf("CONT with bad base64 data: %w", err))
		}
		e.state = stCont
		return sasl.Step{Challenge: ch}, nil
	case "OK":
		e.state = stDone
		user, _ := param(opts, "user")
		if user == "" {
			return e.fail(errors.New("OK without user="))
		}
		user = printable(user)
		if resp, ok := param(opts, "resp"); ok && resp != "" {
			// Additional data with success (RFC 4954 section 4): a
			// last 334, answered with an empty line, then 235.
			data, err := base64.StdEncoding.DecodeString(resp)
			if err != nil {
				return e.fail(fmt.Errorf("OK with bad base64 data: %w", err))
			}
			e.state, e.user = stSuccess, user
			return sasl.Step{Challenge: data}, nil
		}
		return sasl.Step{Done: true, User: user}, nil
	default: // FAIL
		e.state = stDone
		reason, _ := param(opts, "reason")
		reason = printable(reason)
		if _, temp := param(opts, "temp"); temp {
			if reason == "" {
				reason = "no reason given"
			}
			return e.fail(fmt.Errorf("temporary failure: %s", reason))
		}
		if _, authz := param(opts, "authz"); authz && reason == "" {
			reason = "authorization failed"
		}
		return sasl.Step{Done: true, Reason: reason}, nil
	}
}

// fail ends the exchange with a temporary error naming the socket.
func (e *exchange) fail(err error) (sasl.Step, error) {
	e.state = stDone
	e.release()
	return sasl.Step{}, e.c.errorf("%w", err)
}

// Package queue is postern's mail queue. This file holds the interface the
// SMTP server hands messages to, and an in-memory implementation for tests;
// the durable on-disk queue implements the same interface.
package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Recipient is one envelope recipient with its DSN options (RFC 3461).
type Recipient struct {
	Addr   string
	Notify string // NEVER, or a comma list of SUCCESS, FAILURE, DELAY; "" = default
	ORcpt  string // original recipient, "rfc822;addr", xtext-decoded
	// Orig is the address as the client or sender wrote it when Addr, the
	// rewritten address (<user> becomes user@$myorigin), differs from it:
	// Postfix's orig_to= and X-Original-To:. "" means Addr.
	Orig string
}

// Original is the address as it was received: Orig, else Addr.
func (r Recipient) Original() string {
	if r.Orig != "" {
		return r.Orig
	}
	return r.Addr
}

// Envelope is everything about a message except its content.
type Envelope struct {
	ID         string // queue ID; Enqueue assigns one with NewID when empty
	Sender     string // "" for the null sender <>
	Recipients []Recipient
	ClientAddr string // IP address
	ClientName string // verified name or "unknown"
	Helo       string
	Protocol   string // SMTP or ESMTP
	EightBit   bool   // BODY=8BITMIME
	SMTPUTF8   bool
	Ret        string // DSN RET=FULL|HDRS
	EnvID      string // DSN ENVID
	Arrival    time.Time
	// Hold: Enqueue puts the message in the hold queue, not incoming,
	// so that the queue manager never sees it until postsuper -H
	// releases it (a content stage's quarantine, internal/cleanup). Not
	// stored in the file: the directory says it.
	Hold bool
}

// Queue accepts messages. Enqueue reads body to EOF and returns the queue
// ID only once the message is safely stored; any error from body (the
// client exceeded the size limit, the connection broke) means nothing was
// queued.
type Queue interface {
	Enqueue(ctx context.Context, env *Envelope, body io.Reader) (id string, err error)
}

// SpaceChecker is a Queue that can tell before a transaction whether a
// message of the given size (0: unknown) would fit (queue_minfree); the
// SMTP server then answers MAIL with 452 4.3.1 Insufficient system storage.
type SpaceChecker interface {
	CheckSpace(size int64) error
}

// Bouncer is a Queue that takes a message whose recipients have all
// failed before delivery (a content stage refused a local submission,
// which Postfix's cleanup returns to the sender): EnqueueBounced queues
// it with every recipient in state st, and the queue manager sends the
// failure notice the sender asked for and removes it.
type Bouncer interface {
	EnqueueBounced(ctx context.Context, env *Envelope, body io.Reader, st RcptStatus) (id string, err error)
}

// Message is a queued message: its envelope and the delivery state of
// each recipient, without the content (Memory alone keeps Body).
type Message struct {
	ID          string
	Queue       string // the directory it is in: Incoming, Active, …
	Envelope    Envelope
	Status      []RcptStatus // one per Envelope.Recipients, same order
	Size        int64        // content bytes
	NextAttempt time.Time    // deferred: not before this time
	DelayWarned bool         // a delay_warning_time notice was sent
	Body        []byte       // Memory only
}

// Queue directory names, as Postfix's.
const (
	Maildrop = "maildrop"
	Incoming = "incoming"
	Active   = "active"
	Deferred = "deferred"
	Hold     = "hold"
	Corrupt  = "corrupt"
)

// RcptState is where a recipient stands. Only Pending recipients are
// ever delivered to, so a recipient marked Sent is never sent twice.
type RcptState uint8

const (
	Pending RcptState = iota // not delivered yet (maybe deferred: see Action)
	Sent                     // delivered, relayed or expanded
	Bounced                  // failed for good
)

// RcptStatus is the persisted outcome of the latest attempt for one
// recipient.
type RcptStatus struct {
	State      RcptState
	Notified   bool      // the DSN due for this final state is queued, or none is due
	Action     string    // RFC 3464: delivered, relayed, expanded, failed, delayed
	DSN        string    // enhanced status code, "5.1.1"
	Reason     string    // maillog status text, "delivered to maildir"
	Diagnostic string    // RFC 3464 Diagnostic-Code, "smtp; 550 5.1.1 …"
	RemoteMTA  string    // RFC 3464 Remote-MTA, "dns; mx.example.net"
	At         time.Time // when this outcome was recorded
}

// Done reports whether nothing is left to do for this recipient.
func (s RcptStatus) Done() bool { return s.State != Pending && s.Notified }

// Memory is an in-memory Queue for tests. Fail, when set, makes Enqueue
// fail as a full disk would.
type Memory struct {
	mu   sync.Mutex
	msgs []Message
	n    int
	Fail error
}

// Enqueue stores the message in memory.
func (m *Memory) Enqueue(_ context.Context, env *Envelope, body io.Reader) (string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return "", m.Fail
	}
	if len(env.Recipients) == 0 {
		return "", errors.New("queue: no recipients")
	}
	m.n++
	id := env.ID
	if id == "" {
		id = fmt.Sprintf("%010X", m.n)
	}
	e := *env
	e.ID = id
	e.Recipients = append([]Recipient(nil), env.Recipients...)
	q := Incoming
	if env.Hold {
		q = Hold
	}
	m.msgs = append(m.msgs, Message{ID: id, Queue: q, Envelope: e, Body: data})
	return id, nil
}

// EnqueueBounced stores the message with every recipient in state st.
func (m *Memory) EnqueueBounced(ctx context.Context, env *Envelope, body io.Reader, st RcptStatus) (string, error) {
	id, err := m.Enqueue(ctx, env, body)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	msg := &m.msgs[len(m.msgs)-1]
	msg.Status = make([]RcptStatus, len(env.Recipients))
	for i := range msg.Status {
		msg.Status[i] = st
	}
	return id, nil
}

// CheckSpace fails while Fail is a shortage of space, as the store does
// below queue_minfree.
func (m *Memory) CheckSpace(int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if errors.Is(m.Fail, ErrNoSpace) {
		return m.Fail
	}
	return nil
}

// SetFail makes later Enqueue (and CheckSpace) calls fail with err.
func (m *Memory) SetFail(err error) {
	m.mu.Lock()
	m.Fail = err
	m.mu.Unlock()
}

// Messages returns a copy of what was queued.
func (m *Memory) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.msgs...)
}

// ErrUnavailable is returned by Unavailable.
var ErrUnavailable = errors.New("the mail queue is not implemented yet")

// Unavailable refuses every message. The daemon uses it until the
// durable queue lands, so that the server never answers 250 for mail it
// has not stored: clients get a temporary failure and retry.
type Unavailable struct{}

// Enqueue refuses the message.
func (Unavailable) Enqueue(context.Context, *Envelope, io.Reader) (string, error) {
	return "", ErrUnavailable
}

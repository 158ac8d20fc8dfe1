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
}

// Envelope is everything about a message except its content.
type Envelope struct {
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
}

// Queue accepts messages. Enqueue reads body to EOF and returns the queue
// ID only once the message is safely stored; any error from body (the
// client exceeded the size limit, the connection broke) means nothing was
// queued.
type Queue interface {
	Enqueue(ctx context.Context, env *Envelope, body io.Reader) (id string, err error)
}

// Message is one message held by Memory.
type Message struct {
	ID       string
	Envelope Envelope
	Body     []byte
}

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
	id := fmt.Sprintf("%010X", m.n)
	e := *env
	e.Recipients = append([]Recipient(nil), env.Recipients...)
	m.msgs = append(m.msgs, Message{ID: id, Envelope: e, Body: data})
	return id, nil
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

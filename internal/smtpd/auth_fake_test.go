package smtpd

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"

	"github.com/postern-mta/postern/internal/sasl"
)

// FakeSASL is a SASL backend for the tests: PLAIN and LOGIN over a user
// map, ANONYMOUS (which the default smtpd_sasl_security_options hide),
// and the user "tempfail", whose every step is a backend error. Every
// call must come with a deadline.
type FakeSASL struct {
	Users map[string]string
	// Calls counts Start calls; Closes counts Close calls, at most one
	// per exchange (a second Close of the same exchange is counted in
	// DoubleCloses).
	Calls        atomic.Int64
	Closes       atomic.Int64
	DoubleCloses atomic.Int64
}

// NewFakeSASL knows alice with password "secret".
func NewFakeSASL() *FakeSASL { return &FakeSASL{Users: map[string]string{"alice": "secret"}} }

var errNoDeadline = errors.New("fake SASL: called without a deadline")

func (f *FakeSASL) Mechanisms(ctx context.Context) ([]sasl.Mechanism, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errNoDeadline
	}
	return []sasl.Mechanism{{Name: "PLAIN", Plaintext: true}, {Name: "LOGIN", Plaintext: true},
		{Name: "ANONYMOUS", Anonymous: true}}, nil
}

func (f *FakeSASL) Start(ctx context.Context, mech string, _ sasl.Client, initial []byte) (sasl.Exchange, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errNoDeadline
	}
	f.Calls.Add(1)
	return &fakeExchange{f: f, mech: mech, initial: initial}, nil
}

func (f *FakeSASL) Close() error { return nil }

type fakeExchange struct {
	f       *FakeSASL
	mech    string
	initial []byte
	step    int
	user    string
	closed  bool
}

func (x *fakeExchange) Close() error {
	if x.closed {
		x.f.DoubleCloses.Add(1)
		return nil
	}
	x.closed = true
	x.f.Closes.Add(1)
	return nil
}

func (x *fakeExchange) Next(ctx context.Context, resp []byte) (sasl.Step, error) {
	if _, ok := ctx.Deadline(); !ok {
		return sasl.Step{}, errNoDeadline
	}
	x.step++
	switch x.mech {
	case "PLAIN":
		msg := x.initial
		if x.step == 1 && msg == nil {
			return sasl.Step{Challenge: []byte{}}, nil // "334 " asks for it
		}
		if x.step > 1 {
			msg = resp
		}
		parts := bytes.Split(msg, []byte{0})
		if len(parts) != 3 {
			return sasl.Step{Done: true, Reason: "invalid PLAIN response"}, nil
		}
		return x.check(string(parts[1]), string(parts[2]))
	case "LOGIN":
		switch {
		case x.step == 1 && len(x.initial) > 0:
			x.user = string(x.initial)
			return sasl.Step{Challenge: []byte("Password:")}, nil
		case x.step == 1:
			return sasl.Step{Challenge: []byte("Username:")}, nil
		case x.user == "":
			x.user = string(resp)
			return sasl.Step{Challenge: []byte("Password:")}, nil
		}
		return x.check(x.user, string(resp))
	}
	return sasl.Step{}, errors.New("fake SASL: unknown mechanism " + x.mech)
}

func (x *fakeExchange) check(user, pass string) (sasl.Step, error) {
	if user == "tempfail" {
		return sasl.Step{}, errors.New("fake SASL: backend down")
	}
	want, ok := x.f.Users[user]
	switch {
	case !ok:
		return sasl.Step{Done: true, Reason: "unknown user"}, nil
	case want != pass:
		return sasl.Step{Done: true, Reason: "password mismatch"}, nil
	}
	return sasl.Step{Done: true, User: user}, nil
}

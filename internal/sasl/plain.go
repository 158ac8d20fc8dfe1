package sasl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// PasswordChecker checks a user name and password: a backend that
// offers PLAIN and LOGIN through NewPlain and NewLogin. It answers with
// a Done step (User set when right, Reason when wrong); an error is a
// temporary failure of the backend.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, c Client, user, password string) (Step, error)
}

// MaxCredential bounds each of authzid, authcid and password: RFC 4616
// requires 255 octets; longer input fails instead of reaching a hash
// function.
const MaxCredential = 1024

// ErrExchangeOver is returned by Next after the exchange is done.
var ErrExchangeOver = errors.New("sasl: the exchange is over")

// ParsePlain splits a PLAIN message (RFC 4616): authzid NUL authcid NUL
// passwd. authcid and passwd must not be empty, and authzid must be
// empty or equal to authcid (postern authorizes no one to act for
// another user).
func ParsePlain(msg []byte) (authzid, authcid, passwd string, err error) {
	if len(msg) > 3*MaxCredential+2 {
		return "", "", "", fmt.Errorf("PLAIN response longer than %d bytes", 3*MaxCredential+2)
	}
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("malformed PLAIN response: %d NUL separators, want 2", len(parts)-1)
	}
	for _, p := range parts {
		if len(p) > MaxCredential {
			return "", "", "", fmt.Errorf("PLAIN response field longer than %d bytes", MaxCredential)
		}
	}
	authzid, authcid, passwd = string(parts[0]), string(parts[1]), string(parts[2])
	switch {
	case authcid == "":
		return "", "", "", errors.New("empty user name in the PLAIN response")
	case passwd == "":
		return "", "", "", errors.New("empty password in the PLAIN response")
	case authzid != "" && authzid != authcid:
		return "", "", "", fmt.Errorf("authorization identity %q differs from the user name", authzid)
	}
	return authzid, authcid, passwd, nil
}

// NewPlain is the PLAIN mechanism over pc. initial is the client's
// initial response (nil: none, so the first step is an empty
// challenge).
func NewPlain(pc PasswordChecker, c Client, initial []byte) Exchange {
	return &plainExchange{pc: pc, c: c, initial: initial}
}

type plainExchange struct {
	pc      PasswordChecker
	c       Client
	initial []byte
	state   int // 0: start, 1: waiting for the response, 2: done
}

func (x *plainExchange) Next(ctx context.Context, response []byte) (Step, error) {
	switch x.state {
	case 0:
		if x.initial == nil {
			x.state = 1
			return Step{Challenge: []byte{}}, nil
		}
		response = x.initial
	case 1:
	default:
		return Step{}, ErrExchangeOver
	}
	x.state = 2
	_, user, pw, err := ParsePlain(response)
	if err != nil {
		return Step{Done: true, Reason: err.Error()}, nil
	}
	return x.pc.CheckPassword(ctx, x.c, user, pw)
}

// Close is a no-op: the exchange holds nothing.
func (x *plainExchange) Close() error { return nil }

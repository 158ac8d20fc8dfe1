package sasl

import (
	"bytes"
	"context"
	"fmt"
)

// The LOGIN mechanism's challenges (draft-murchison-sasl-login), as
// Postfix, Dovecot and Cyrus send them.
var (
	LoginUserChallenge     = []byte("Username:")
	LoginPasswordChallenge = []byte("Password:")
)

// NewLogin is the LOGIN mechanism over pc: "Username:" then
// "Password:". A non-nil initial response is the user name, and the
// first step asks for the password.
func NewLogin(pc PasswordChecker, c Client, initial []byte) Exchange {
	return &loginExchange{pc: pc, c: c, initial: initial}
}

type loginExchange struct {
	pc      PasswordChecker
	c       Client
	initial []byte
	user    string
	state   int // 0: start, 1: waiting for the user, 2: for the password, 3: done
}

func (x *loginExchange) Next(ctx context.Context, response []byte) (Step, error) {
	switch x.state {
	case 0:
		if x.initial == nil {
			x.state = 1
			return Step{Challenge: LoginUserChallenge}, nil
		}
		return x.gotUser(x.initial)
	case 1:
		return x.gotUser(response)
	case 2:
		x.state = 3
		if reason := checkField("password", response); reason != "" {
			return Step{Done: true, Reason: reason}, nil
		}
		return x.pc.CheckPassword(ctx, x.c, x.user, string(response))
	}
	return Step{}, ErrExchangeOver
}

// Close is a no-op: the exchange holds nothing.
func (x *loginExchange) Close() error { return nil }

func (x *loginExchange) gotUser(user []byte) (Step, error) {
	if reason := checkField("user name", user); reason != "" {
		x.state = 3
		return Step{Done: true, Reason: reason}, nil
	}
	x.user, x.state = string(user), 2
	return Step{Challenge: LoginPasswordChallenge}, nil
}

// checkField says what is wrong with a LOGIN user name or password.
func checkField(what string, b []byte) string {
	switch {
	case len(b) == 0:
		return "empty " + what + " in the LOGIN response"
	case len(b) > MaxCredential:
		return fmt.Sprintf("LOGIN %s longer than %d bytes", what, MaxCredential)
	case bytes.IndexByte(b, 0) >= 0:
		return "NUL in the LOGIN " + what
	}
	return ""
}

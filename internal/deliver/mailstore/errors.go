package mailstore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// StepError is a failed delivery step with its DSN status and Postfix's
// wording of the reason.
type StepError struct {
	DSN  string
	Text string
	Err  error // the system call's error, if any
}

func (e *StepError) Error() string { return e.Text }
func (e *StepError) Unwrap() error { return e.Err }

// Fail returns a StepError.
func Fail(dsn, text string) error { return &StepError{DSN: dsn, Text: text} }

// failErr returns a StepError for the failed system call err, with the
// status ErrnoDSN gives it (def when it says nothing better).
func failErr(err error, def, text string) error {
	return &StepError{DSN: ErrnoDSN(err, def), Text: text, Err: err}
}

// ErrnoDSN is Postfix's mbox_dsn(): the status for a failed mailbox
// operation. A full disk and a busy lock are temporary; an over-quota
// or over-size mailbox is "mailbox full"; anything else gets def.
func ErrnoDSN(err error, def string) string {
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ESTALE):
		return "4.2.0"
	case errors.Is(err, syscall.ENOSPC):
		return "4.3.0"
	case errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG):
		return "5.2.2"
	}
	return def
}

// Strerror words an error as C's strerror() (%m) does: the errno text
// with a capital letter ("Permission denied"), without Go's "open
// /path:" prefixes.
func Strerror(err error) string {
	var errno syscall.Errno
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		if s != "" && 'a' <= s[0] && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	case errors.As(err, &pe):
		return Strerror(pe.Err)
	case errors.As(err, &le):
		return Strerror(le.Err)
	}
	return err.Error()
}

// ReadError marks a failure to read the message content, as opposed to
// a failure to write the copy: Postfix defers the first and judges the
// second by its errno.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "error reading message: " + Strerror(e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

// CopyError words a failed WriteCopy as Postfix's mail_copy() does.
func CopyError(err error) error {
	var re *ReadError
	if errors.As(err, &re) {
		return Fail("4.3.0", re.Error())
	}
	return Fail(ErrnoDSN(err, "5.3.0"), "error writing message: "+Strerror(err))
}

package local

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/deliver"
)

// outcome is the result of delivering to one destination.
type outcome struct {
	kind   deliver.Kind
	dsn    string
	reason string
	pass   string // an address left to mailbox_transport (kind Sent, no reason)
}

func sent(reason string) outcome { return outcome{kind: deliver.Sent, dsn: "2.0.0", reason: reason} }

// failed is a bounce or, for a 4.x.x status, a deferral.
func failed(dsn, reason string) outcome {
	if strings.HasPrefix(dsn, "4") {
		return outcome{kind: deliver.Deferred, dsn: dsn, reason: reason}
	}
	return outcome{kind: deliver.Bounced, dsn: dsn, reason: reason}
}

// stepError is a failed delivery step with its DSN status and Postfix's
// wording of the reason.
type stepError struct {
	dsn  string
	text string
}

func (e *stepError) Error() string { return e.text }

// errnoDSN is Postfix's mbox_dsn(): the status for a failed mailbox
// operation. A full disk and a busy lock are temporary; an over-quota
// or over-size mailbox is "mailbox full".
func errnoDSN(err error, def string) string {
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

// strerror words an error as C's strerror() (%m) does: the errno text
// with a capital letter ("Permission denied"), without Go's "open
// /path:" prefixes.
func strerror(err error) string {
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
		return strerror(pe.Err)
	case errors.As(err, &le):
		return strerror(le.Err)
	}
	return err.Error()
}

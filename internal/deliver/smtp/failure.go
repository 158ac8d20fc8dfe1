package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// failure is why one or more recipients were not delivered by one step
// (a lookup, a connection, a session, a reply), in Postfix's dsb terms.
type failure struct {
	dsn       string // "4.4.1"
	reason    string // maillog text
	diag      string // RFC 3464 Diagnostic-Code, "smtp; 550 …"; "" for local trouble
	remoteMTA string // RFC 3464 Remote-MTA, "dns; host"; ""
	relay     string // maillog relay=, "none" before a connection
	connUse   int    // maillog conn_use= on a reused connection
	loop      bool   // mail loops back to this host: try no fallback relay
	// retryPlain asks for the same server again without TLS (level may).
	retryPlain bool
}

func (f *failure) soft() bool { return f.dsn == "" || f.dsn[0] != '5' }

func fail(dsn, format string, args ...any) *failure {
	return &failure{dsn: dsn, reason: fmt.Sprintf(format, args...), relay: "none"}
}

// remoteFailure is a failure caused by a server reply, reported as
// "host X said: …" and the like. A 2xx or 3xx reply where another was
// expected is an unexpected reply (4.5.0), never a failure with a
// success code.
func remoteFailure(s *session, r reply, format string, args ...any) *failure {
	dsn := r.dsn
	if c := r.code / 100; c != 4 && c != 5 {
		dsn = "4.5.0"
	}
	return &failure{
		dsn:       dsn,
		reason:    fmt.Sprintf(format, args...),
		diag:      "smtp; " + r.text,
		remoteMTA: "dns; " + s.srv.host,
		relay:     s.srv.namaddrport(),
		connUse:   s.connUse(),
	}
}

// said is Postfix's "host X said: REPLY (in reply to CMD)".
func said(s *session, r reply, cmd string) *failure {
	return remoteFailure(s, r, "host %s said: %s (in reply to %s)", s.srv.namaddr(), r.text, cmd)
}

// localFailure is a failure decided on this side during a session.
func localFailure(s *session, dsn, format string, args ...any) *failure {
	f := fail(dsn, format, args...)
	f.relay, f.connUse = s.srv.namaddrport(), s.connUse()
	return f
}

// streamFailure describes an I/O error in the middle of a session: "lost
// connection with X while STAGE" or "conversation with X timed out while
// STAGE" (4.4.2), or the interruption of the delivery itself.
func streamFailure(ctx context.Context, s *session, err error, stage string) *failure {
	if ctx.Err() != nil {
		return localFailure(s, "4.3.0", "delivery interrupted: %v", context.Cause(ctx))
	}
	if isTimeout(err) {
		return localFailure(s, "4.4.2", "conversation with %s timed out while %s", s.srv.namaddr(), stage)
	}
	return localFailure(s, "4.4.2", "lost connection with %s while %s", s.srv.namaddr(), stage)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// errnoText is a system error as strerror(3) words it ("Connection
// refused"), which is what Postfix's %m prints.
func errnoText(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		if errno == syscall.ETIMEDOUT || s == "" {
			return "Connection timed out"
		}
		return strings.ToUpper(s[:1]) + s[1:]
	case isTimeout(err):
		return "Connection timed out"
	case errors.Is(err, io.EOF):
		return "Connection closed"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

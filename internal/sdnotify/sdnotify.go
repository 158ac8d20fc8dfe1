// Package sdnotify tells systemd (or another service manager that speaks
// the same protocol) what state the daemon is in, as described in
// sd_notify(3).
//
// The protocol: the manager puts the address of an AF_UNIX datagram socket
// into $NOTIFY_SOCKET, either an absolute file system path
// ("/run/systemd/notify") or, when it starts with '@', a name in Linux's
// abstract socket namespace, where the '@' stands for a leading NUL byte.
// Every notification is one datagram whose payload is newline-separated
// VARIABLE=value assignments such as "READY=1". The kernel attaches the
// sender's credentials, from which systemd decides whether to accept the
// message; with the default NotifyAccess=main only the service's main
// process is heard, so notify from the daemon process itself (any
// goroutine), not from a child it starts.
//
// The life cycle of a Type=notify-reload service (systemd 253 and later):
//
//   - start: bind every listener, then [Ready];
//   - SIGHUP: [Reloading] first, re-read the configuration, then [Ready] —
//     also when the new configuration was rejected and the old one keeps
//     serving, else `systemctl reload` waits for READY=1 until its timeout
//     and reports a failure; [Status] can say why the reload was refused;
//   - SIGTERM: [Stopping], drain the sessions, exit.
//
// Every function does nothing and returns nil when $NOTIFY_SOCKET is unset
// or empty, so callers need not know whether systemd runs them. The
// variable is read on every call and left in place (sd_notify's
// unset_environment = 0), which means that child processes inherit it;
// systemd ignores them under NotifyAccess=main.
//
// Errors say which notification failed and which socket refused it. They
// are worth a log line, not worth stopping the daemon for.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	_ "unsafe" // for go:linkname
)

const (
	// envSocket names the environment variable holding the socket address.
	envSocket = "NOTIFY_SOCKET"
	// maxDatagram is the largest notification systemd accepts: it reads
	// into a buffer of this size and drops longer datagrams unread.
	maxDatagram = 4096
)

// writeTimeout bounds how long a notification may wait for room in the
// manager's receive queue. A variable so that tests can shorten it.
var writeTimeout = 2 * time.Second

// Ready tells the manager that start-up, or a reload announced with
// [Reloading], is complete: "READY=1".
func Ready() error {
	return Notify("READY=1")
}

// Reloading tells the manager that the daemon has begun re-reading its
// configuration: "RELOADING=1" with "MONOTONIC_USEC=" set to the current
// CLOCK_MONOTONIC time in microseconds. Type=notify-reload needs the
// timestamp to tell this reload from an earlier one; older systemd
// versions ignore it. Send [Ready] when the reload is over, whether or
// not it succeeded.
func Reloading() error {
	return Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicUsec(), 10))
}

// Stopping tells the manager that the daemon has begun shutting down:
// "STOPPING=1".
func Stopping() error {
	return Notify("STOPPING=1")
}

// Status sets the one-line status text that `systemctl status` shows:
// "STATUS=" followed by s. Newlines in s become spaces, so that s cannot
// smuggle in other assignments, and s is shortened (at a character
// boundary) to fit in one notification.
func Status(s string) error {
	const prefix = "STATUS="
	s = strings.ReplaceAll(s, "\n", " ")
	if cut := maxDatagram - len(prefix); len(s) > cut {
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // do not split a character
		}
		s = s[:cut]
	}
	return Notify(prefix + s)
}

// Notify sends state, one or more newline-separated VARIABLE=value
// assignments (for example "READY=1\nSTATUS=accepting mail"), to the
// socket named by $NOTIFY_SOCKET as a single datagram. It does nothing
// and returns nil when $NOTIFY_SOCKET is unset or empty.
func Notify(state string) error {
	addr := os.Getenv(envSocket)
	if addr == "" {
		return nil
	}
	if state == "" {
		return fmt.Errorf("sdnotify: empty notification for %s %q", envSocket, addr)
	}
	if len(state) > maxDatagram {
		return fmt.Errorf("sdnotify: %q: %d bytes, more than the %d a notification may have", firstLine(state), len(state), maxDatagram)
	}
	ua, err := socketAddr(addr)
	if err != nil {
		return err
	}
	// An unbound datagram socket connected to the manager's: the kernel
	// supplies the credentials systemd checks, nothing else is needed.
	conn, err := net.DialUnix("unixgram", nil, ua)
	if err != nil {
		return sendError(state, addr, err)
	}
	// Closing a datagram socket after the datagram left cannot fail in a
	// way that would tell the caller anything.
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return sendError(state, addr, err)
	}
	n, err := conn.Write([]byte(state))
	if err != nil {
		return sendError(state, addr, err)
	}
	if n != len(state) {
		return sendError(state, addr, fmt.Errorf("short write: %d of %d bytes", n, len(state)))
	}
	return nil
}

// socketAddr turns a $NOTIFY_SOCKET value into a socket address.
func socketAddr(s string) (*net.UnixAddr, error) {
	switch {
	case strings.HasPrefix(s, "/"):
		return &net.UnixAddr{Name: s, Net: "unixgram"}, nil
	case strings.HasPrefix(s, "@") && len(s) > 1:
		// Linux abstract namespace: the name is the bytes after a NUL.
		return &net.UnixAddr{Name: "\x00" + s[1:], Net: "unixgram"}, nil
	default:
		// Also systemd 254's "vsock:CID:PORT", for services in virtual
		// machines, which postern has no use for.
		return nil, fmt.Errorf("sdnotify: %s %q: want an absolute path or an @abstract socket name", envSocket, s)
	}
}

// sendError puts the notification and the socket into err.
func sendError(state, addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		// Keep the cause ("connect: no such file or directory") without
		// net's rendering of the address, which shows an abstract name's
		// NUL byte; the address is named below as the manager gave it.
		err = op.Err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("manager's receive queue still full after %v: %w", writeTimeout, err)
	}
	return fmt.Errorf("sdnotify: send %q to %s %q: %w", firstLine(state), envSocket, addr, err)
}

// firstLine is what error messages show of a notification.
func firstLine(state string) string {
	if i := strings.IndexByte(state, '\n'); i >= 0 {
		return state[:i] + "..."
	}
	return state
}

// monotonicUsec reads CLOCK_MONOTONIC in microseconds.
//
// runtime.nanotime is the clock behind the monotonic readings of
// time.Now; on Linux it is clock_gettime(CLOCK_MONOTONIC) through the
// vDSO, which is the clock MONOTONIC_USEC is defined on. The time package
// offers it only as offsets from an unexported start value, and the
// syscall package's SYS_CLOCK_GETTIME does not exist on every GOOS this
// repository builds for (darwin), so the runtime function is borrowed
// directly; the runtime keeps it reachable for exactly this kind of use
// (go.dev/issue/67401). The tests compare it with a raw clock_gettime.
func monotonicUsec() int64 {
	return nanotime() / 1000
}

//go:linkname nanotime runtime.nanotime
func nanotime() int64

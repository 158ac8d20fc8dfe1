//go:build linux

// Linux only: abstract sockets, and CLOCK_MONOTONIC read with a raw
// clock_gettime to check the package's clock against.

package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// listen opens a datagram socket playing the service manager and points
// NOTIFY_SOCKET at it. name is a path or an @abstract name.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	// Go's net package also reads a leading '@' as the abstract namespace.
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv(envSocket, name)
	return conn
}

func listenPath(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	return listen(t, path), path
}

// abstractName is unique per test, and per run of the test binary.
func abstractName(t *testing.T) string {
	return fmt.Sprintf("@postern-sdnotify-test/%d/%d/%s", os.Getpid(), time.Now().UnixNano(), t.Name())
}

// recv returns the next datagram.
func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2*maxDatagram)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

// noMore fails if another datagram is waiting.
func noMore(t *testing.T, conn *net.UnixConn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 2*maxDatagram)
	if n, _, err := conn.ReadFrom(buf); err == nil {
		t.Fatalf("unexpected extra datagram %q", buf[:n])
	}
}

// clockMonotonicUsec reads CLOCK_MONOTONIC with the clock_gettime system
// call itself, independently of the runtime's clock.
func clockMonotonicUsec(t *testing.T) int64 {
	t.Helper()
	const clockMonotonic = 1 // CLOCK_MONOTONIC in <linux/time.h>
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		t.Fatalf("clock_gettime(CLOCK_MONOTONIC): %v", e)
	}
	sec, nsec := ts.Unix()
	return sec*1_000_000 + nsec/1000
}

func TestEachFunctionSendsOneDatagram(t *testing.T) {
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"Ready", Ready, "READY=1"},
		{"Stopping", Stopping, "STOPPING=1"},
		{"Status", func() error { return Status("accepting mail: 3 sessions") }, "STATUS=accepting mail: 3 sessions"},
		{"StatusEmpty", func() error { return Status("") }, "STATUS="},
		{"StatusNewlines", func() error { return Status("reload refused:\nREADY=1") }, "STATUS=reload refused: READY=1"},
		{"Notify", func() error { return Notify("READY=1\nSTATUS=up") }, "READY=1\nSTATUS=up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, _ := listenPath(t)
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, conn); got != tt.want {
				t.Errorf("datagram %q, want %q", got, tt.want)
			}
			noMore(t, conn)
		})
	}
}

// parseReloading checks the form of a Reloading datagram and returns
// its MONOTONIC_USEC.
func parseReloading(t *testing.T, msg string) int64 {
	t.Helper()
	const prefix = "RELOADING=1\nMONOTONIC_USEC="
	digits, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		t.Fatalf("datagram %q does not start with %q", msg, prefix)
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		t.Fatalf("MONOTONIC_USEC=%q is not a decimal integer", digits)
	}
	usec, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if usec <= 0 {
		t.Fatalf("MONOTONIC_USEC=%d is not positive", usec)
	}
	return usec
}

func TestReloadingCarriesMonotonicClock(t *testing.T) {
	conn, _ := listenPath(t)
	before := clockMonotonicUsec(t)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	after := clockMonotonicUsec(t)
	first := parseReloading(t, recv(t, conn))
	// The value was read between the two system calls: it is
	// CLOCK_MONOTONIC, not the wall clock or a process-relative offset.
	if first < before || first > after {
		t.Errorf("MONOTONIC_USEC=%d outside [%d, %d] read from clock_gettime(CLOCK_MONOTONIC) around it", first, before, after)
	}
	time.Sleep(2 * time.Millisecond)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	second := parseReloading(t, recv(t, conn))
	if second <= first {
		t.Errorf("second MONOTONIC_USEC %d not after the first %d", second, first)
	}
	if d := second - first; d > int64(5*time.Second/time.Microsecond) {
		t.Errorf("consecutive MONOTONIC_USEC values %d µs apart", d)
	}
	noMore(t, conn)
}

func TestAbstractSocket(t *testing.T) {
	name := abstractName(t)
	conn := listen(t, name)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn); got != "READY=1" {
		t.Errorf("datagram %q, want READY=1", got)
	}
	noMore(t, conn)
	// Abstract means no file, not a file named "@...".
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat %s: %v, want not exist", name, err)
	}
}

func TestSocketAddr(t *testing.T) {
	for in, want := range map[string]string{
		"/run/systemd/notify": "/run/systemd/notify",
		"@/org/example/n":     "\x00/org/example/n",
	} {
		ua, err := socketAddr(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if ua.Name != want || ua.Net != "unixgram" {
			t.Errorf("%q: %q %s, want %q unixgram", in, ua.Name, ua.Net, want)
		}
	}
}

func TestUnsetIsNoop(t *testing.T) {
	all := map[string]func() error{
		"Ready":     Ready,
		"Reloading": Reloading,
		"Stopping":  Stopping,
		"Status":    func() error { return Status("x") },
		"Notify":    func() error { return Notify("READY=1") },
		"NotifyBad": func() error { return Notify("") },
	}
	t.Setenv(envSocket, "") // restores the variable afterwards
	for _, unset := range []bool{true, false} {
		if unset {
			os.Unsetenv(envSocket)
		} else {
			os.Setenv(envSocket, "")
		}
		for name, f := range all {
			if err := f(); err != nil {
				t.Errorf("unset=%v: %s: %v", unset, name, err)
			}
		}
	}
}

func TestMissingSocketIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody-listens")
	t.Setenv(envSocket, path)
	err := Ready()
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "READY=1") {
		t.Errorf("error %q does not name the socket and the notification", err)
	}
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error %q is not ENOENT", err)
	}

	name := abstractName(t)
	t.Setenv(envSocket, name)
	err = Stopping()
	if err == nil {
		t.Fatal("no error for an abstract name nobody listens on")
	}
	if !strings.Contains(err.Error(), strconv.Quote(name)) || strings.Contains(err.Error(), "\x00") {
		t.Errorf("error %q does not name %s as given", err, name)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %q is not ECONNREFUSED", err)
	}
}

func TestUnusableAddress(t *testing.T) {
	for _, addr := range []string{"run/notify", "@", "vsock:2:1234"} {
		t.Setenv(envSocket, addr)
		err := Ready()
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(addr)) {
			t.Errorf("%q: error %v, want one naming it", addr, err)
		}
	}
}

func TestTooLong(t *testing.T) {
	conn, _ := listenPath(t)
	if err := Notify("STATUS=" + strings.Repeat("x", maxDatagram)); err == nil {
		t.Error("no error for a notification longer than systemd reads")
	}
	noMore(t, conn)
	if err := Notify(""); err == nil {
		t.Error("no error for an empty notification")
	}
	noMore(t, conn)

	// Status shortens instead, without splitting a character.
	if err := Status(strings.Repeat("é", maxDatagram)); err != nil {
		t.Fatal(err)
	}
	got := recv(t, conn)
	if len(got) > maxDatagram || len(got) < maxDatagram-utf8.UTFMax || !strings.HasPrefix(got, "STATUS=éé") || !utf8.ValidString(got) {
		t.Errorf("long status sent as %d bytes (valid UTF-8: %v)", len(got), utf8.ValidString(got))
	}
}

func TestWriteDeadline(t *testing.T) {
	old := writeTimeout
	writeTimeout = 50 * time.Millisecond
	t.Cleanup(func() { writeTimeout = old })
	_, path := listenPath(t) // never read: its receive queue fills up
	for i := 0; i < 100000; i++ {
		start := time.Now()
		err := Ready()
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), path) {
			t.Fatalf("after %d datagrams: %v, want a timeout naming %s", i, err, path)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("full queue blocked for %v, deadline %v", d, writeTimeout)
		}
		return
	}
	t.Fatal("the receive queue never filled up")
}

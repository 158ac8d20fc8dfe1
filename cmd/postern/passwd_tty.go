package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// terminal is standard input as a terminal with echo turned off until
// restore (also on SIGINT, SIGTERM and SIGHUP, which then exit).
type terminal struct {
	f     *os.File
	saved unix.Termios
	in    *bufio.Reader
	sigs  chan os.Signal
	done  chan struct{}
}

// openTerminal turns echo off when f is a terminal.
func openTerminal(f *os.File) (*terminal, bool) {
	fd := int(f.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, false // not a terminal
	}
	t := &terminal{f: f, saved: *saved, in: bufio.NewReader(f),
		sigs: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(t.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-t.sigs:
			t.reset()
			fmt.Fprintln(os.Stderr)
			os.Exit(130)
		case <-t.done:
		}
	}()
	noEcho := *saved
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		t.restore()
		return nil, false
	}
	return t, true
}

func (t *terminal) reset() {
	unix.IoctlSetTermios(int(t.f.Fd()), unix.TCSETS, &t.saved)
}

// restore turns echo back on.
func (t *terminal) restore() {
	signal.Stop(t.sigs)
	close(t.done)
	t.reset()
}

// prompt asks on w and reads one line without echo.
func (t *terminal) prompt(w io.Writer, p string) ([]byte, error) {
	fmt.Fprint(w, p)
	line, err := t.in.ReadString('\n')
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("reading the password: %w", err)
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

//go:build linux

// Command arrivals waits until n files have arrived in a directory, or
// in several taken together (created, linked or moved there, as a
// Maildir delivery puts a message into new/), watching with inotify
// instead of listing the directory over and over: the harness must not
// take CPU from the server under test, and a listing of a Maildir grows
// with every run. It reads the events every 10 ms, not at each arrival,
// for the same reason. It prints "ready" once it watches, then, within 10 ms of the n-th
// arrival, the time it saw it (Unix seconds with nanoseconds) and
// exits; after stall without any arrival it fails. Linux only.
//
//	arrivals -n N [-stall 60s] DIR...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	n := flag.Int("n", 1, "arrivals to wait for")
	stall := flag.Duration("stall", time.Minute, "give up after this long without an arrival")
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(64)
	}
	if err := wait(flag.Args(), *n, *stall); err != nil {
		fmt.Fprintln(os.Stderr, "arrivals:", err)
		os.Exit(1)
	}
}

func wait(dirs []string, n int, stall time.Duration) error {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	base, err := entries(dirs) // for a queue overflow: count the directories then
	if err != nil {
		return err
	}
	fmt.Println("ready")
	buf := make([]byte, 256<<10)
	count, last := 0, time.Now()
	for count < n {
		got, err := drain(fd, buf)
		if err != nil {
			return err
		}
		switch {
		case got < 0: // events were lost: count the directories
			now, err := entries(dirs)
			if err != nil {
				return err
			}
			count, last = now-base, time.Now()
			continue
		case got > 0:
			count, last = count+got, time.Now()
			continue
		}
		if time.Since(last) > stall {
			return fmt.Errorf("%d of %d files arrived in %s, then none for %v", count, n, strings.Join(dirs, " "), stall)
		}
		// Look again in a while, not at every arrival: woken for each of
		// thousands of copies a second, this process took 13 % of a CPU
		// from the server under test (2026-12-08). The arrival time is
		// late by at most the interval, for every server alike.
		time.Sleep(pollInterval)
	}
	t := time.Now()
	fmt.Printf("%d.%09d\n", t.Unix(), t.Nanosecond())
	return nil
}

// pollInterval is how often the events are read: 0.1-0.3 % of a run.
const pollInterval = 10 * time.Millisecond

// drain reads all the inotify events waiting on fd and returns how
// many arrivals they report, -1 if the kernel's queue overflowed (the
// rest is read and dropped: the caller counts the directories).
func drain(fd int, buf []byte) (int, error) {
	got := 0
	for {
		k, err := syscall.Read(fd, buf)
		if err == syscall.EAGAIN {
			return got, nil
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= k; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			switch {
			case ev.Mask&syscall.IN_Q_OVERFLOW != 0:
				got = -1
			case got >= 0 && ev.Mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0:
				got++
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// entries counts the entries of the directories together.
func entries(dirs []string) (int, error) {
	total := 0
	for _, dir := range dirs {
		f, err := os.Open(dir)
		if err != nil {
			return 0, err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return 0, err
		}
		total += len(names)
	}
	return total, nil
}

//go:build linux

// Command arrivals waits until n files have arrived in a directory, or
// in several taken together (created, linked or moved there, as a
// Maildir delivery puts a message into new/), watching with inotify instead of listing the directory
// over and over: the harness must not take CPU from the server under
// test, and a listing of a Maildir grows with every run. It prints
// "ready" once it watches, then, at the n-th arrival, the time of that
// arrival (Unix seconds with nanoseconds) and exits; after stall without
// any arrival it fails. Linux only.
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
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
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
	arrivals := make(chan int, 64)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			k, err := syscall.Read(fd, buf)
			if err != nil {
				fmt.Fprintln(os.Stderr, "arrivals: read:", err)
				os.Exit(1)
			}
			got := 0
			for off := 0; off+syscall.SizeofInotifyEvent <= k; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				switch {
				case ev.Mask&syscall.IN_Q_OVERFLOW != 0:
					got = -1 // events were lost
				case got >= 0 && ev.Mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0:
					got++
				}
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
			arrivals <- got
		}
	}()
	count := 0
	for count < n {
		select {
		case got := <-arrivals:
			if got >= 0 {
				count += got
				continue
			}
			now, err := entries(dirs)
			if err != nil {
				return err
			}
			count = now - base
		case <-time.After(stall):
			return fmt.Errorf("%d of %d files arrived in %s, then none for %v", count, n, strings.Join(dirs, " "), stall)
		}
	}
	t := time.Now()
	fmt.Printf("%d.%09d\n", t.Unix(), t.Nanosecond())
	return nil
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

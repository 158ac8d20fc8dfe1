//go:build linux

// Command fsyncrate measures what the file system under a directory
// allows Maildir deliveries at most: the rate of "create a file in tmp/,
// write 4 KB, fsync it, link it into new/ under another name, remove the
// tmp/ name, fsync new/", with one writer and with -w writers at once,
// each into a Maildir of its own (distinct directories, as deliveries to
// distinct users). Nothing is shared between the writers: no group
// commit of the directory fsyncs, which is what a delivery agent may
// add on top of this.
//
//	fsyncrate [-d DIR] [-n COPIES] [-w WRITERS] [-s BYTES] [-m METHOD]
//
// It prints one line per measurement, with the process's CPU time
// (user + system) per file,
//
//	fsyncrate: 1 writers 1523.4 files/s (3000 files, 1.97 s, 0.231 ms CPU each)
//	fsyncrate: 16 writers 4301.2 files/s (…)
//
// -m unnamed measures, for comparison, a copy written as an unnamed file
// in new/ (O_TMPFILE), fsynced, linked by name through /proc/self/fd,
// fsynced again, then new/ fsynced; -m unnamed-unsafe leaves out the
// fsync after the link, which loses copies in a power cut on a file
// system without a journal (bench/README.md, "O_TMPFILE").
//
// and leaves the files (on ext4 without a journal a removal slows
// creations nearby for minutes; the caller removes the directory later).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	dir := flag.String("d", ".", "directory to measure in (a subdirectory is made)")
	n := flag.Int("n", 2000, "files per measurement (split among the writers)")
	writers := flag.Int("w", 16, "writers of the parallel measurement")
	size := flag.Int("s", 4096, "bytes per file")
	flag.StringVar(&method, "m", "tmp", "how a copy is made: tmp, unnamed, unnamed-unsafe")
	flag.Parse()
	if method != "tmp" && method != "unnamed" && method != "unnamed-unsafe" {
		fail(fmt.Errorf("unknown method %q", method))
	}
	base, err := os.MkdirTemp(*dir, "fsyncrate.")
	if err != nil {
		fail(err)
	}
	for i, w := range []int{1, *writers} {
		cpu0 := cpuTime()
		rate, took, err := measure(filepath.Join(base, strconv.Itoa(i)), w, *n, *size)
		if err != nil {
			fail(err)
		}
		cpu := cpuTime() - cpu0
		fmt.Printf("fsyncrate: %d writers %.1f files/s (%d files, %.2f s, %.3f ms CPU each)\n", w, rate, *n, took.Seconds(), float64(cpu.Microseconds())/1000/float64(*n))
	}
}

// method is how a copy is made (-m).
var method string

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fsyncrate:", err)
	os.Exit(1)
}

// measure runs w writers, each into a Maildir of its own below dir,
// n files in all, and returns files per second.
func measure(dir string, w, n, size int) (float64, time.Duration, error) {
	data := make([]byte, size)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	for k := range w {
		for _, sub := range []string{"tmp", "new"} {
			if err := os.MkdirAll(filepath.Join(dir, strconv.Itoa(k), sub), 0o700); err != nil {
				return 0, 0, err
			}
		}
	}
	errs := make(chan error, w)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range w {
		count := n / w
		if k < n%w {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writer(filepath.Join(dir, strconv.Itoa(k)), count, data); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return float64(n) / took.Seconds(), took, nil
}

// writer makes count Maildir copies in md, each durable before the next.
func writer(md string, count int, data []byte) error {
	newDir, err := os.Open(filepath.Join(md, "new"))
	if err != nil {
		return err
	}
	defer newDir.Close()
	for i := range count {
		name := fmt.Sprintf("%d.%d", os.Getpid(), i)
		if method != "tmp" {
			if err := unnamed(newDir, name+".host", data); err != nil {
				return err
			}
			continue
		}
		tmp := filepath.Join(md, "tmp", name)
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := os.Link(tmp, filepath.Join(md, "new", name+".host")); err != nil {
			return err
		}
		if err := os.Remove(tmp); err != nil {
			return err
		}
		if err := syscall.Fsync(int(newDir.Fd())); err != nil {
			return err
		}
	}
	return nil
}

// unnamed makes one copy as an unnamed file in newDir (-m unnamed,
// unnamed-unsafe).
func unnamed(newDir *os.File, name string, data []byte) error {
	dfd := int(newDir.Fd())
	fd, err := unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("O_TMPFILE in %s: %w", newDir.Name(), err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, data); err != nil {
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		return err
	}
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dfd, name, unix.AT_SYMLINK_FOLLOW); err != nil {
		return err
	}
	if method == "unnamed" {
		// The link raised the link count in memory only: without a
		// journal nothing else writes the inode.
		if err := unix.Fsync(fd); err != nil {
			return err
		}
	}
	return unix.Fsync(dfd)
}

package mailstore

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// WithFSCreds runs fn with the file system rights of uid and gid: on an
// OS thread of its own whose fsuid and fsgid are uid and gid and that has
// no supplementary groups, so that the kernel checks every open, create
// and lock fn makes as for that user, symbolic links and all, and files
// fn creates belong to that user. Linux keeps these credentials per
// thread (the C library, unlike the raw system calls, would change all
// threads). The thread is never unlocked, so it exits with the goroutine
// and no other goroutine ever runs with these rights. fn must do its work
// in the calling goroutine. Without root privileges fn simply runs.
func WithFSCreds(uid, gid int, fn func() error) error {
	if os.Geteuid() != 0 {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no unlock: the thread dies with its credentials
		if err := setThreadFSCreds(uid, gid); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

func setThreadFSCreds(uid, gid int) error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0); errno != 0 {
		return fmt.Errorf("setgroups: %w", errno)
	}
	// setfsuid and setfsgid report no errors: check the result.
	syscall.Setfsgid(gid)
	syscall.Setfsuid(uid)
	fsuid, fsgid, groups, err := threadFSCreds()
	if err != nil {
		return err
	}
	if fsuid != uid || fsgid != gid || groups != "" {
		return fmt.Errorf("cannot take the rights of uid %d gid %d: fsuid %d fsgid %d groups %q", uid, gid, fsuid, fsgid, groups)
	}
	return nil
}

// threadFSCreds reads the calling thread's fsuid, fsgid and
// supplementary groups from /proc.
func threadFSCreds() (fsuid, fsgid int, groups string, err error) {
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		return 0, 0, "", err
	}
	defer f.Close()
	fsuid, fsgid = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		switch {
		case key == "Uid" && len(fields) == 4:
			fmt.Sscan(fields[3], &fsuid)
		case key == "Gid" && len(fields) == 4:
			fmt.Sscan(fields[3], &fsgid)
		case key == "Groups":
			groups = strings.Join(fields, " ")
		}
	}
	return fsuid, fsgid, groups, sc.Err()
}

package mailstore

import (
	"fmt"
	"os"
	"runtime"
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
	// setfsuid and setfsgid report no errors but return the previous
	// value: a second call with the same id says what is in force. (Not
	// /proc/thread-self/status, which costs as much again as the
	// thread: 0.12 ms.)
	syscall.RawSyscall(syscall.SYS_SETFSGID, uintptr(gid), 0, 0)
	syscall.RawSyscall(syscall.SYS_SETFSUID, uintptr(uid), 0, 0)
	fsgid, _, _ := syscall.RawSyscall(syscall.SYS_SETFSGID, uintptr(gid), 0, 0)
	fsuid, _, _ := syscall.RawSyscall(syscall.SYS_SETFSUID, uintptr(uid), 0, 0)
	if int(fsuid) != uid || int(fsgid) != gid {
		return fmt.Errorf("cannot take the rights of uid %d gid %d: fsuid %d fsgid %d", uid, gid, fsuid, fsgid)
	}
	return nil
}

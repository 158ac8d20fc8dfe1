// Package fdpermtest plays the attacker in tests of code that changes
// owners and modes as root in directories another user can write: it
// swaps a directory for a symbolic link, over and over, while the code
// under test walks it.
package fdpermtest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Swap exchanges the directory dir and a symbolic link to target
// (atomically, with renameat2 RENAME_EXCHANGE, or with two renames where
// the file system lacks it) until the returned stop is called; stop
// waits for the swapper and puts the directory back.
func Swap(t *testing.T, dir, target string) (stop func()) {
	t.Helper()
	link := filepath.Join(filepath.Dir(dir), ".swap-"+filepath.Base(dir))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	exchange := func() error {
		return unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
	}
	if err := exchange(); err != nil {
		t.Logf("renameat2 RENAME_EXCHANGE: %v: swapping with two renames", err)
		aside := dir + ".aside"
		exchange = func() error {
			os.Rename(dir, aside)
			os.Rename(link, dir)
			os.Rename(aside, link)
			return nil
		}
	} else if err := exchange(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for swapped := false; ; swapped = !swapped {
			select {
			case <-done:
				if swapped {
					exchange()
				}
				return
			default:
			}
			exchange()
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// Owner describes path (not following a final symbolic link).
func Owner(t *testing.T, path string) (uid, gid, mode uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid, st.Mode
}

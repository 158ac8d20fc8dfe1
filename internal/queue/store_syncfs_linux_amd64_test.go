package queue

import (
	"os"
	"syscall"
	"testing"
)

// sysSyncfs is syncfs(2) on linux/amd64; package syscall has no name for
// it there, which is why the store itself does not use it.
const sysSyncfs = 306

// Measured, not used: the file fsyncs shared too, as one syncfs(2) of
// the whole file system per batch of finished files.
func init() {
	benchModes = append(benchModes, struct {
		name  string
		setup func(testing.TB, *Store)
	}{"syncfs", func(tb testing.TB, s *Store) {
		d, err := os.Open(s.dir)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { d.Close() })
		fd := d.Fd()
		g := &groupSync{sync: func() error {
			if _, _, errno := syscall.Syscall(sysSyncfs, fd, 0, 0); errno != 0 {
				return errno
			}
			return nil
		}}
		s.syncFile = func(*os.File) error { return g.Wait() }
	}})
}

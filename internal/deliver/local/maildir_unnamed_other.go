//go:build !(linux && (amd64 || arm64))

package local

import "os"

// storeUnnamed is Linux's (maildir_unnamed_linux.go); elsewhere copies
// go through tmp/.
func (d *delivery) storeUnnamed(*os.Root, *os.File, string, owner) (bool, error) {
	return false, nil
}

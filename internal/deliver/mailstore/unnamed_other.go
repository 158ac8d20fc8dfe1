//go:build !linux

package mailstore

import "os"

// storeUnnamed is Linux's (O_TMPFILE); elsewhere copies go through tmp/.
func (s *Store) storeUnnamed(newDir *os.File, name string, o Owner, c *Copy) (done bool, err error) {
	return false, nil
}

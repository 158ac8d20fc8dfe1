package queue

import (
	"os"
	"sync"
	"time"
)

// Queue IDs have Postfix's long form (enable_long_queue_ids = yes): the
// arrival second in base 52 (6 digits until the year 2627), the
// microsecond in base 52 (4 digits), a "z", and the process ID in base 51
// where Postfix uses the queue file's inode. IDs sort by time as strings,
// and they are unique across processes (distinct PIDs) and across restarts
// (NewID never hands out the same microsecond twice in one process).
const (
	idDigits52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
	idDigits51 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy" // no "z": it separates
)

var idClock struct {
	sync.Mutex
	last int64 // microseconds since the epoch of the last ID
}

// NewID returns a fresh queue ID for a message arriving now.
func NewID() string { return newID(time.Now(), os.Getpid()) }

func newID(now time.Time, pid int) string {
	us := now.UnixMicro()
	idClock.Lock()
	if us <= idClock.last {
		us = idClock.last + 1
	}
	idClock.last = us
	idClock.Unlock()
	b := make([]byte, 0, 16)
	b = appendBase(b, uint64(us/1e6), idDigits52, 6)
	b = appendBase(b, uint64(us%1e6), idDigits52, 4)
	b = append(b, 'z')
	return string(appendBase(b, uint64(pid), idDigits51, 1))
}

// appendBase appends n in the given digits, zero-padded to width.
func appendBase(b []byte, n uint64, digits string, width int) []byte {
	var tmp [16]byte
	i := len(tmp)
	base := uint64(len(digits))
	for n > 0 || len(tmp)-i < width {
		i--
		tmp[i] = digits[n%base]
		n /= base
	}
	return append(b, tmp[i:]...)
}

// IDTime returns the arrival time encoded in a queue ID, and false when
// id is not one of ours.
func IDTime(id string) (time.Time, bool) {
	if len(id) < 12 || id[10] != 'z' {
		return time.Time{}, false
	}
	sec, ok1 := parseBase(id[:6], idDigits52)
	us, ok2 := parseBase(id[6:10], idDigits52)
	_, ok3 := parseBase(id[11:], idDigits51)
	if !ok1 || !ok2 || !ok3 || us >= 1e6 {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), int64(us)*1000), true
}

func parseBase(s, digits string) (uint64, bool) {
	var n uint64
	for i := 0; i < len(s); i++ {
		d := -1
		for j := 0; j < len(digits); j++ {
			if digits[j] == s[i] {
				d = j
				break
			}
		}
		if d < 0 {
			return 0, false
		}
		n = n*uint64(len(digits)) + uint64(d)
	}
	return n, true
}

// ValidID reports whether id has the shape of a queue ID, so that no
// file name built from an ID can leave its queue directory.
func ValidID(id string) bool {
	_, ok := IDTime(id)
	return ok
}

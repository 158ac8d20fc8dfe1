package cleanup

import "golang.org/x/sys/unix"

// oTmpfile is O_TMPFILE: a file in a directory's file system without a
// name (Linux 3.11).
const oTmpfile = unix.O_TMPFILE

//go:build !linux

package cleanup

// oTmpfile: no O_TMPFILE; open fails with EISDIR and tempFile falls back
// to a name removed at once.
const oTmpfile = 0

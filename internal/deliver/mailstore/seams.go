package mailstore

import "os"

// Seams for tests, of this package and of the agents that use it. Only
// tests change them.
var (
	// SyncParentDir is the fsync of a directory that got a new entry
	// (a new mailbox, Maildir or Maildir subdirectory).
	SyncParentDir = (*os.File).Sync
	// SyncDir is the fsync of a Maildir's new/ (open as fd) that a
	// Batch runs.
	SyncDir = func(name string, fd int) error { return fileFD(fd).sync() }
	// MaxPending bounds the directories a Batch keeps open; beyond it
	// the fsyncs run at once, in the destination's slot.
	MaxPending = 64
)

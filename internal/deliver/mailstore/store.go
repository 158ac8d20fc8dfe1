package mailstore

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/fsyncgroup"
)

// Store is the mailbox writing of one delivery agent, shared by its
// deliveries: set the exported fields before the first. It is safe for
// concurrent use.
type Store struct {
	Hostname string           // myhostname, for Maildir file names
	Locks    Locks            // how mbox files are locked
	Logger   *slog.Logger     // warnings as Postfix logs them; nil: none
	Now      func() time.Time // nil: time.Now

	dirSyncs fsyncgroup.Set[dirKey] // Maildir new/ fsyncs, shared (Batch)
	syncSeq  atomic.Uint64
}

// Copy is one copy of a message to store for one recipient.
type Copy struct {
	Ctx context.Context // ends lock waits; nil: never
	// QueueID and Rcpt (the recipient's index in the envelope) name a
	// Maildir copy, so that a retry finds it; without a queue ID the
	// copy gets a unique name.
	QueueID string
	Rcpt    int
	// Write writes the copy (WriteCopy, with the agent's envelope).
	Write func(w io.Writer) error
	// Limit is the largest size of the file the copy goes into
	// (mailbox_size_limit, virtual_mailbox_limit); 0: none. A copy that
	// would make it larger fails with EFBIG, as Postfix's RLIMIT_FSIZE.
	Limit int64
	// DSN is the status of a failed step whose errno says nothing
	// better: "5.2.0" for local(8), "4.2.0" for virtual(8).
	DSN string
	// Batch keeps the fsync of a Maildir's new/ for later.
	Batch *Batch
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Store) warn(msg string) {
	if s.Logger != nil {
		s.Logger.Warn(msg)
	}
}

func (s *Store) info(msg string) {
	if s.Logger != nil {
		s.Logger.Info(msg)
	}
}

func (c *Copy) ctx() context.Context {
	if c.Ctx == nil {
		return context.Background()
	}
	return c.Ctx
}

// sizeLimit returns the bytes that may be added to a file of size bytes;
// -1 for no limit.
func (c *Copy) sizeLimit(size int64) int64 {
	if c.Limit <= 0 {
		return -1
	}
	return max(c.Limit-size, 0)
}

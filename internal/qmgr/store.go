package qmgr

import (
	"io"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// Store is the queue the manager works on (*queue.Store).
type Store interface {
	queue.Queue
	List(q string) ([]string, error)
	Read(q, id string) (*queue.Message, error)
	// ReadWithContent is Read plus the content of a message whose queue
	// file holds at most max bytes (nil for a larger one).
	ReadWithContent(q, id string, max int64) (*queue.Message, []byte, error)
	// Version changes whenever the message's file is written.
	Version(q, id string) (queue.Version, error)
	Content(q, id string) (io.ReadCloser, error)
	Update(q, id string, status map[int]queue.RcptStatus) error
	SetDelayWarned(q, id string) error
	Move(id, from, to string) error
	Defer(id, from string, next time.Time) error
	Remove(q, id string) error
	// Activate is Move to active without the directory fsyncs, where a
	// crash cannot lose or duplicate anything.
	Activate(id, from string) error
	// Complete removes a message with nothing left to do, durably, so
	// that its last outcomes need not be recorded first.
	Complete(q, id string) error
}

package smtpd

import (
	"bufio"
	"io"
	"sync"
)

// replyWriter buffers a session's replies as a bufio.Writer does, but
// holds a buffer only while replies wait to be flushed: once flushed,
// the buffer goes back to a pool that all sessions share, so a session
// waiting for its client's next command costs no write buffer (see
// smtpio.Idler for the read side). A buffer is pooled only empty and
// reset before use, so no reply of one session can reach another.
type replyWriter struct {
	dst io.Writer
	bw  *bufio.Writer // nil while none is held
	// err is the first write error: every later call returns it, as
	// with a bufio.Writer; the failed buffer is dropped, not pooled.
	err error
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

func newReplyWriter(dst io.Writer) *replyWriter { return &replyWriter{dst: dst} }

// WriteString buffers s.
func (w *replyWriter) WriteString(s string) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.bw == nil {
		w.bw = writerPool.Get().(*bufio.Writer)
		w.bw.Reset(w.dst)
	}
	n, err := w.bw.WriteString(s)
	if err != nil {
		w.err, w.bw = err, nil
	}
	return n, err
}

// Flush writes what is buffered and gives the buffer back.
func (w *replyWriter) Flush() error {
	if w.err != nil || w.bw == nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err, w.bw = err, nil
		return err
	}
	w.release()
	return nil
}

// Reset writes to dst from now on (STARTTLS: the TLS connection) and
// drops anything not flushed and any error, as bufio.Writer.Reset.
func (w *replyWriter) Reset(dst io.Writer) {
	w.release()
	w.dst, w.err = dst, nil
}

func (w *replyWriter) release() {
	if w.bw != nil {
		w.bw.Reset(nil) // empties it: nothing buffered goes to the pool
		writerPool.Put(w.bw)
		w.bw = nil
	}
}

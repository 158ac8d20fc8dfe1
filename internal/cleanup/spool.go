package cleanup

import (
	"bytes"
	"io"
)

// Spool holds content while it arrives, so that stages can read it as
// often as they need. SKELETON: memory only; the file spill beyond a
// memory limit (an unlinked temporary file under dir) is to come.
type Spool struct {
	dir string
	mem []byte
}

// NewSpool returns an empty spool whose overflow file, if any, goes in
// dir (os.TempDir when empty).
func NewSpool(dir string) *Spool { return &Spool{dir: dir} }

// Write appends p.
func (s *Spool) Write(p []byte) (int, error) {
	s.mem = append(s.mem, p...)
	return len(p), nil
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return int64(len(s.mem)) }

// Reader reads the content from offset off to the end. Readers are
// independent; the spool must not be written while one is in use.
func (s *Spool) Reader(off int64) io.Reader { return bytes.NewReader(s.mem[off:]) }

// Close releases the memory and removes the overflow file.
func (s *Spool) Close() error {
	s.mem = nil
	return nil
}

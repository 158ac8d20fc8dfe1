package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file reads constant databases in D. J. Bernstein's public cdb
// format (https://cr.yp.to/cdb/cdb.txt):
//
//	header   256 × (table position, table slot count), uint32 little endian
//	records  klen uint32, dlen uint32, key, data — in insertion order
//	tables   256 hash tables of (hash uint32, record position uint32) slots
//
// A key lives in table hash&255, starting at slot (hash>>8) mod slots and
// probing linearly; an empty slot (position 0) ends the search.
//
// The reader never trusts the file: every position and length is checked
// against the file size before it is used, so a corrupt or truncated file
// yields ErrCorrupt instead of a panic, an endless probe, or an allocation
// larger than the file.

const cdbHeaderSize = 2048

// ErrCorrupt reports a cdb file whose structure is inconsistent.
var ErrCorrupt = errors.New("corrupt cdb file")

// cdbHash is the cdb hash function: h = ((h << 5) + h) ^ c from 5381.
func cdbHash(key []byte) uint32 {
	h := uint32(5381)
	for _, c := range key {
		h = ((h << 5) + h) ^ uint32(c)
	}
	return h
}

// CDB is a read-only constant database. It is safe for concurrent use
// when the underlying io.ReaderAt is (an *os.File is).
type CDB struct {
	r      io.ReaderAt
	size   uint64
	tables [256]struct{ pos, slots uint32 }
	eod    uint64 // end of the record area
}

// NewCDB validates the header of the size-byte database read from r.
func NewCDB(r io.ReaderAt, size int64) (*CDB, error) {
	if size < cdbHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrCorrupt, size, cdbHeaderSize)
	}
	c := &CDB{r: r, size: uint64(size), eod: uint64(size)}
	var hdr [cdbHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("read cdb header: %w", err)
	}
	for i := range c.tables {
		pos := binary.LittleEndian.Uint32(hdr[8*i:])
		slots := binary.LittleEndian.Uint32(hdr[8*i+4:])
		// uint64 arithmetic: pos+8*slots cannot wrap around.
		if uint64(pos) < cdbHeaderSize || uint64(pos)+8*uint64(slots) > c.size {
			return nil, fmt.Errorf("%w: hash table %d (position %d, %d slots) outside the file", ErrCorrupt, i, pos, slots)
		}
		c.tables[i].pos, c.tables[i].slots = pos, slots
		// Writers put the tables after the records, so the first table
		// marks the end of the record area.
		c.eod = min(c.eod, uint64(pos))
	}
	return c, nil
}

// readAt reads exactly len(buf) bytes at off, which the caller has
// already checked against the file size.
func (c *CDB) readAt(buf []byte, off uint64) error {
	n, err := c.r.ReadAt(buf, int64(off))
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = fmt.Errorf("%w: short read at offset %d", ErrCorrupt, off)
	}
	return err
}

// record reads the key and data lengths of the record at pos and checks
// that the whole record lies inside limit.
func (c *CDB) record(pos, limit uint64) (klen, dlen uint64, err error) {
	if pos < cdbHeaderSize || pos+8 > limit {
		return 0, 0, fmt.Errorf("%w: record position %d outside the file", ErrCorrupt, pos)
	}
	var lens [8]byte
	if err := c.readAt(lens[:], pos); err != nil {
		return 0, 0, err
	}
	klen = uint64(binary.LittleEndian.Uint32(lens[:]))
	dlen = uint64(binary.LittleEndian.Uint32(lens[4:]))
	if pos+8+klen+dlen > limit {
		return 0, 0, fmt.Errorf("%w: record at %d (%d+%d bytes) extends past the end", ErrCorrupt, pos, klen, dlen)
	}
	return klen, dlen, nil
}

// Get returns the data of the first record whose key is key.
func (c *CDB) Get(key []byte) (data []byte, found bool, err error) {
	h := cdbHash(key)
	t := c.tables[h&255]
	if t.slots == 0 {
		return nil, false, nil
	}
	slot := uint64(h>>8) % uint64(t.slots)
	var ent [8]byte
	// At most one pass over the table: a full table without an empty
	// slot must not make the lookup loop forever.
	for range t.slots {
		if err := c.readAt(ent[:], uint64(t.pos)+8*slot); err != nil {
			return nil, false, err
		}
		sh := binary.LittleEndian.Uint32(ent[:])
		pos := uint64(binary.LittleEndian.Uint32(ent[4:]))
		if pos == 0 {
			return nil, false, nil
		}
		if sh == h {
			klen, dlen, err := c.record(pos, c.size)
			if err != nil {
				return nil, false, err
			}
			if klen == uint64(len(key)) {
				buf := make([]byte, klen+dlen)
				if err := c.readAt(buf, pos+8); err != nil {
					return nil, false, err
				}
				if bytes.Equal(buf[:klen], key) {
					return buf[klen:], true, nil
				}
			}
		}
		if slot++; slot == uint64(t.slots) {
			slot = 0
		}
	}
	return nil, false, nil
}

// ForEach calls fn for every record in file order (insertion order),
// stopping at the first error.
func (c *CDB) ForEach(fn func(key, data []byte) error) error {
	for pos := uint64(cdbHeaderSize); pos < c.eod; {
		klen, dlen, err := c.record(pos, c.eod)
		if err != nil {
			return err
		}
		buf := make([]byte, klen+dlen)
		if err := c.readAt(buf, pos+8); err != nil {
			return err
		}
		if err := fn(buf[:klen], buf[klen:]); err != nil {
			return err
		}
		pos += 8 + klen + dlen
	}
	return nil
}

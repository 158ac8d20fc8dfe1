package maps

import (
	"encoding/binary"
	"errors"
	"math"
)

// CDBWriter assembles a cdb file in memory. The whole file is built
// before anything is written so that the caller can replace the old
// database atomically (see atomicfile.WriteFile); tables that are too big
// for memory are also too big for the 4 GiB cdb format.
type CDBWriter struct {
	buf   []byte
	slots [256][]cdbSlot
}

type cdbSlot struct{ hash, pos uint32 }

// ErrCDBTooBig reports that the database would exceed the 32-bit
// positions of the cdb format.
var ErrCDBTooBig = errors.New("cdb file would exceed 4 GiB")

// NewCDBWriter starts an empty database.
func NewCDBWriter() *CDBWriter {
	return &CDBWriter{buf: make([]byte, cdbHeaderSize, 4096)}
}

// Add appends a record. Duplicate keys are stored as given; readers
// return the first one, so callers that want "first wins" semantics need
// not filter, and callers that want warnings must check themselves.
func (w *CDBWriter) Add(key, data []byte) error {
	pos := uint64(len(w.buf))
	if pos+8+uint64(len(key))+uint64(len(data)) > math.MaxUint32 {
		return ErrCDBTooBig
	}
	h := cdbHash(key)
	w.slots[h&255] = append(w.slots[h&255], cdbSlot{h, uint32(pos)})
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(key)))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(data)))
	w.buf = append(w.buf, key...)
	w.buf = append(w.buf, data...)
	return nil
}

// Bytes appends the hash tables, fills in the header and returns the
// complete file. The writer must not be used afterwards.
func (w *CDBWriter) Bytes() ([]byte, error) {
	total := uint64(len(w.buf))
	for i := range w.slots {
		total += 16 * uint64(len(w.slots[i]))
	}
	if total > math.MaxUint32 {
		return nil, ErrCDBTooBig
	}
	last := map[uint32]uint32{}
	for i, list := range w.slots {
		// Twice as many slots as entries keeps probe chains short and
		// guarantees an empty slot that ends unsuccessful searches.
		n := uint32(2 * len(list))
		pos := uint32(len(w.buf))
		binary.LittleEndian.PutUint32(w.buf[8*i:], pos)
		binary.LittleEndian.PutUint32(w.buf[8*i+4:], n)
		table := make([]cdbSlot, n)
		// Equal hashes (duplicate keys) continue probing where the last
		// one stopped, so that many duplicates do not make the build
		// quadratic; readers still meet them in insertion order.
		clear(last)
		for _, s := range list {
			j := (s.hash >> 8) % n
			if l, ok := last[s.hash]; ok {
				j = l
			}
			for table[j].pos != 0 {
				if j++; j == n {
					j = 0
				}
			}
			table[j] = s
			last[s.hash] = j
		}
		for _, s := range table {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, s.hash)
			w.buf = binary.LittleEndian.AppendUint32(w.buf, s.pos)
		}
	}
	out := w.buf
	w.buf = nil
	return out, nil
}

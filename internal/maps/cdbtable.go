package maps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// cdbTable serves cdb:, hash:, btree: and lmdb: tables from "name.cdb".
// Keys are stored folded (see Build) and folded again at lookup. Like
// Postfix's dict_cdb, a key that is not found is retried with a trailing
// NUL byte, for databases written by tools that store C strings.
//
// A table dropped without Close (the old generation's tables after a
// reload) has its file closed when the *os.File is garbage collected, by
// the finalizer package os gives it (TestDroppedCDBTablesClose). No
// cleanup is attached to the cdbTable itself: a Lookup may still read f
// through db after t has become unreachable.
type cdbTable struct {
	base
	f  *os.File
	db *CDB
}

// cdbSuffix is appended to the table name, as Postfix's cdb: does; the
// hash:, btree: and lmdb: aliases use it too instead of .db and .lmdb.
const cdbSuffix = ".cdb"

func openCDB(spec, name string) (Table, error) {
	path := name + cdbSuffix
	f, err := os.Open(path)
	if err != nil {
		err = openError("open database", path, err)
		if _, serr := os.Stat(name); serr == nil && errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w (build it with \"postern map %s\")", err, spec)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		var db *CDB
		if db, err = NewCDB(f, st.Size()); err == nil {
			return &cdbTable{base: base{spec: spec}, f: f, db: db}, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("open database %s: %w", path, err)
}

func (t *cdbTable) Lookup(key string) (string, bool, error) {
	k := []byte(foldKey(key))
	v, ok, err := t.db.Get(k)
	if err == nil && !ok {
		v, ok, err = t.db.Get(append(k, 0))
		return strings.TrimSuffix(string(v), "\x00"), ok, t.wrap(err)
	}
	return string(v), ok, t.wrap(err)
}

func (t *cdbTable) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("table %s: query error: %w", t.spec, err)
	}
	return nil
}

func (t *cdbTable) each(fn func(key, value string) error) error {
	return t.wrap(t.db.ForEach(func(k, v []byte) error {
		return fn(strings.TrimSuffix(string(k), "\x00"), strings.TrimSuffix(string(v), "\x00"))
	}))
}

// Close closes the database file.
func (t *cdbTable) Close() error { return t.f.Close() }

package maps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/atomicfile"
)

// Build does what "postmap spec" does for postern: it reads the text
// table source and writes the constant database "name.cdb" for spec
// ("type:name"; a bare name means hash:name, postmap's default). source
// is the text file to read; "" means the table name itself, as postmap
// reads /etc/postfix/access to build hash:/etc/postfix/access.
//
// Keys are folded to lower case. Duplicate keys keep the first value with
// a "duplicate entry" warning, as measured with postmap 3.7.11 for hash:
// (postmap's own wording there is `/etc/postfix/access.db: duplicate
// entry: "key"`; Build names the source line instead). Malformed lines
// are skipped with warnings. The database replaces the old one
// atomically (temporary file, fsync, rename, directory fsync), so a
// server never sees a half-written table. As postmap does, the result
// keeps only the group/other read permissions of the source and, when
// built by root, belongs to the owner of the source.
//
// Types that postmap cannot build either (texthash, cidr, regexp, ...)
// fail with postmap's message.
func Build(source, spec string) (warnings []string, err error) {
	typ, name, ok := strings.Cut(spec, ":")
	if !ok {
		typ, name = "hash", spec
	}
	switch typ {
	case "cdb", "hash", "btree", "lmdb":
	default:
		return nil, fmt.Errorf("unsupported dictionary type: %s does not support bulk-mode creation.", typ)
	}
	if name == "" {
		return nil, fmt.Errorf("open dictionary: expecting \"type:name\" form instead of \"%s\"", spec)
	}
	if source == "" {
		source = name
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return nil, openError("open", source, err)
	}
	st, err := os.Stat(source)
	if err != nil {
		return nil, err
	}
	entries, warnings := ParseSource(source, string(data), false)
	w := NewCDBWriter()
	for _, e := range entries {
		if err := w.Add([]byte(foldKey(e.Key)), []byte(e.Value)); err != nil {
			return warnings, fmt.Errorf("table %s: write error: %w", spec, err)
		}
	}
	db, err := w.Bytes()
	if err != nil {
		return warnings, fmt.Errorf("table %s: write error: %w", spec, err)
	}
	dst := name + cdbSuffix
	perm := os.FileMode(0o644) &^ (^st.Mode().Perm() & 0o077)
	if err := atomicfile.WriteFile(dst, db, perm); err != nil {
		return warnings, fmt.Errorf("table %s: %w", spec, err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Chown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
			return warnings, fmt.Errorf("table %s: %w", spec, err)
		}
	}
	return warnings, nil
}

// sequencer is implemented by tables that can list their entries.
type sequencer interface {
	each(fn func(key, value string) error) error
}

// Each calls fn for every entry of t, as Dump lists them; ok is false
// (and fn never called) for tables that cannot be listed: pattern
// tables and static:.
func Each(t Table, fn func(key, value string) error) (ok bool, err error) {
	s, ok := t.(sequencer)
	if !ok {
		return false, nil
	}
	err = s.each(fn)
	if errors.Is(err, errNoSequence) {
		return false, nil
	}
	return true, err
}

// Dump writes every entry of t as "key<TAB>value" lines, like
// "postmap -s". Keys appear folded, as stored. cdb-backed tables list
// entries in source order (postmap -s on hash: lists them in hash order).
// Pattern tables and static: cannot be listed, as in Postfix.
func Dump(w io.Writer, t Table) error {
	s, ok := t.(sequencer)
	if !ok {
		return fmt.Errorf("table %s: %w", t.Name(), errNoSequence)
	}
	bw := bufio.NewWriter(w)
	err := s.each(func(k, v string) error {
		_, err := fmt.Fprintf(bw, "%s\t%s\n", k, v)
		return err
	})
	if errors.Is(err, errNoSequence) {
		return fmt.Errorf("table %s: %w", t.Name(), err)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

var errNoSequence = errors.New("sequence operation is not supported")

// Query looks key up in each table in turn and returns the first value
// found, like "postmap -q key table...".
func Query(key string, tables ...Table) (value string, found bool, err error) {
	for _, t := range tables {
		if v, ok, err := t.Lookup(key); err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

// QueryStream answers one query per input line like "postmap -q -":
// found keys are written as "key<TAB>value". It reports whether any key
// was found (postmap's exit status 0).
func QueryStream(w io.Writer, r io.Reader, tables ...Table) (anyFound bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	bw := bufio.NewWriter(w)
	for sc.Scan() {
		key := sc.Text()
		v, ok, err := Query(key, tables...)
		if err != nil {
			return anyFound, err
		}
		if ok {
			anyFound = true
			fmt.Fprintf(bw, "%s\t%s\n", key, v)
		}
	}
	if err := sc.Err(); err != nil {
		return anyFound, err
	}
	return anyFound, bw.Flush()
}

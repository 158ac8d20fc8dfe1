package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func buildCDB(t testing.TB, pairs ...[2]string) []byte {
	t.Helper()
	w := NewCDBWriter()
	for _, p := range pairs {
		if err := w.Add([]byte(p[0]), []byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCDBRoundTrip100k(t *testing.T) {
	const n = 100000
	w := NewCDBWriter()
	for i := range n {
		if err := w.Add(fmt.Appendf(nil, "key-%d", i), fmt.Appendf(nil, "value %d", i*7)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	db, err := NewCDB(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v, ok, err := db.Get(fmt.Appendf(nil, "key-%d", i))
		if err != nil || !ok || string(v) != fmt.Sprintf("value %d", i*7) {
			t.Fatalf("key-%d: %q %v %v", i, v, ok, err)
		}
	}
	for _, k := range []string{"key-100000", "", "key-", "KEY-1"} {
		if _, ok, err := db.Get([]byte(k)); ok || err != nil {
			t.Errorf("%q: found %v, err %v", k, ok, err)
		}
	}
	count := 0
	if err := db.ForEach(func(k, v []byte) error {
		if want := fmt.Sprintf("key-%d", count); string(k) != want {
			return fmt.Errorf("record %d is %q, want %q", count, k, want)
		}
		count++
		return nil
	}); err != nil || count != n {
		t.Errorf("ForEach: %v after %d records", err, count)
	}
}

// The format is djb's: check a tiny file byte for byte.
func TestCDBFormat(t *testing.T) {
	data := buildCDB(t, [2]string{"a", "1"})
	h := cdbHash([]byte("a")) // 5381*33 ^ 'a' = 177604
	if h != 177604 {
		t.Fatalf("hash(a) = %d", h)
	}
	rec := data[2048:2058]
	if !bytes.Equal(rec, []byte{1, 0, 0, 0, 1, 0, 0, 0, 'a', '1'}) {
		t.Errorf("record %v", rec)
	}
	i := h & 255
	pos, slots := binary.LittleEndian.Uint32(data[8*i:]), binary.LittleEndian.Uint32(data[8*i+4:])
	if pos != 2058 || slots != 2 || len(data) != 2058+16 {
		t.Errorf("table %d at %d with %d slots, file %d bytes", i, pos, slots, len(data))
	}
}

func TestCDBDuplicatesFirstWins(t *testing.T) {
	data := buildCDB(t, [2]string{"k", "first"}, [2]string{"k", "second"})
	db, _ := NewCDB(bytes.NewReader(data), int64(len(data)))
	if v, ok, _ := db.Get([]byte("k")); !ok || string(v) != "first" {
		t.Errorf("got %q", v)
	}
}

// Corrupt and truncated files give ErrCorrupt, never a panic.
func TestCDBCorrupt(t *testing.T) {
	good := buildCDB(t, [2]string{"alpha", "one"}, [2]string{"beta", "two"})
	h := cdbHash([]byte("alpha")) & 255
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":           {},
		"short header":    good[:100],
		"truncated table": good[:len(good)-1],
		"table past end": mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8*h+4:], 1<<30)
			return b
		}),
		"table in header": mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8*h:], 16)
			return b
		}),
		"huge key length": mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[2048:], 0xffffffff)
			return b
		}),
	}
	for name, data := range cases {
		db, err := NewCDB(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			_, _, err = db.Get([]byte("alpha"))
			if err == nil {
				err = db.ForEach(func(k, v []byte) error { return nil })
			}
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	// A table whose slots are all occupied by other hashes must not loop.
	full := mutate(func(b []byte) []byte {
		pos := binary.LittleEndian.Uint32(b[8*h:])
		for s := range binary.LittleEndian.Uint32(b[8*h+4:]) {
			binary.LittleEndian.PutUint32(b[pos+8*s:], 12345)
			binary.LittleEndian.PutUint32(b[pos+8*s+4:], 2048)
		}
		return b
	})
	db, err := NewCDB(bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Get([]byte("alpha")); ok || err != nil {
		t.Errorf("full table: found %v err %v", ok, err)
	}
}

// Databases written with C-string keys (tinycdb with DICT_FLAG_TRY1NULL)
// are found too, as Postfix's dict_cdb tries both forms.
func TestCDBTableTrailingNul(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "nul")
	data := buildCDB(t, [2]string{"withnul\x00", "v1\x00"}, [2]string{"plain", "v2"})
	if err := os.WriteFile(name+".cdb", data, 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := Open("cdb:" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(tbl)
	for k, want := range map[string]string{"withnul": "v1", "WITHNUL": "v1", "plain": "v2"} {
		if v, ok, err := tbl.Lookup(k); !ok || err != nil || v != want {
			t.Errorf("%s: %q %v %v", k, v, ok, err)
		}
	}
	var out bytes.Buffer
	if err := Dump(&out, tbl); err != nil || out.String() != "withnul\tv1\nplain\tv2\n" {
		t.Errorf("dump %q %v", out.String(), err)
	}
}

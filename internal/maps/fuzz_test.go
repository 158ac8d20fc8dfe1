package maps

import (
	"bytes"
	"strings"
	"testing"
)

// Run each target with: go test -run=^$ -fuzz=^FuzzName$ -fuzztime=60s
// Inputs worth keeping live in testdata/fuzz/FuzzName.

// FuzzCDBRead: arbitrary bytes never make the reader panic, hang or
// allocate more than the file; and a database built by the writer from
// the input returns the first value of every key.
//
// A cdb file is at least 2 KiB, and minimizing inputs that big takes the
// fuzzer minutes. So the input is used three ways, all small: as a raw
// file; as a list of (offset, byte) patches plus a truncation applied to
// a valid database, which reaches the corruption paths; and as "klen key
// dlen data" records to write and read back.
func FuzzCDBRead(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x02k1\x02v1\x02k2\x02v2\x02k1\x02v3"))
	f.Add([]byte{0x00, 0x08, 0xff, 0x08, 0x00, 0x10}) // header patches
	f.Add([]byte{0x08, 0x10, 0x41})                   // record patch
	f.Fuzz(fuzzCDB)
}

var fuzzBase = func() []byte {
	w := NewCDBWriter()
	for i := range 40 {
		w.Add([]byte{'k', byte('a' + i)}, bytes.Repeat([]byte{'v'}, i))
	}
	b, _ := w.Bytes()
	return b
}()

// readAll exercises every reader entry point on data.
func readAll(data []byte) {
	db, err := NewCDB(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return
	}
	for i := range 40 {
		db.Get([]byte{'k', byte('a' + i)})
	}
	db.ForEach(func(k, v []byte) error { return nil })
}

func fuzzCDB(t *testing.T, data []byte) {
	readAll(data)

	patched := append([]byte(nil), fuzzBase...)
	for i := 0; i+2 < len(data); i += 3 {
		patched[(int(data[i])<<8|int(data[i+1]))%len(patched)] = data[i+2]
	}
	if len(data)%3 == 1 {
		patched = patched[:len(patched)*int(data[len(data)-1])/256]
	}
	readAll(patched)

	w := NewCDBWriter()
	want := map[string]string{}
	n := 0
	for rest := data; len(rest) > 0; n++ {
		var k, v []byte
		k, rest = chunk(rest)
		v, rest = chunk(rest)
		if err := w.Add(k, v); err != nil {
			t.Fatal(err)
		}
		if _, dup := want[string(k)]; !dup {
			want[string(k)] = string(v)
		}
	}
	out, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	db, err := NewCDB(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		got, ok, err := db.Get([]byte(k))
		if err != nil || !ok || string(got) != v {
			t.Fatalf("key %q: got %q %v %v, want %q", k, got, ok, err, v)
		}
	}
	count := 0
	if err := db.ForEach(func(k, v []byte) error { count++; return nil }); err != nil || count != n {
		t.Fatalf("ForEach: %d of %d records, %v", count, n, err)
	}
}

// chunk splits a length-prefixed piece off b.
func chunk(b []byte) (piece, rest []byte) {
	if len(b) == 0 {
		return nil, nil
	}
	n := min(int(b[0]), len(b)-1)
	return b[1 : 1+n], b[1+n:]
}

// FuzzPOSIXRegexp: the POSIX-to-RE2 translation never panics, and what it
// accepts compiles and runs. Literal alphanumeric patterns keep their
// meaning.
func FuzzPOSIXRegexp(f *testing.F) {
	for _, s := range []string{`^(.*)@(.*)$`, `a{1,2}{3}`, `[[:alpha:]-]`, `\(a\)\{2\}`, `a**`, `[]a-]`, `x{,5}`, `\<w\>`} {
		f.Add(s, uint8(3), "a@b")
	}
	f.Fuzz(func(t *testing.T, pat string, flags uint8, key string) {
		re, err := compilePOSIX(pat, flags&1 != 0, flags&2 != 0, flags&4 != 0)
		if err != nil {
			return
		}
		k := toLatin1(key)
		re.FindStringSubmatchIndex(k)
		if flags&1 == 0 && pat != "" && strings.Trim(pat, "abcxyz019") == "" {
			if re.MatchString(k) != strings.Contains(key, pat) {
				t.Fatalf("literal %q on %q", pat, key)
			}
		}
	})
}

// FuzzTableFiles: no table file makes parsing or lookup panic.
func FuzzTableFiles(f *testing.F) {
	f.Add("192.0.2.0/24 OK\nif !10.0.0.0/8\n::/0 x\nendif\n", "192.0.2.1")
	f.Add("/^(a)(b)?$/ $1-${2}\nif /x/\n/./m y\nendif\n!/q/!/r/ z", "ab")
	f.Add("key value\n\"quoted key\" v\nk\\ x y\n  cont\n", "key")
	f.Fuzz(func(t *testing.T, content, key string) {
		c := &cidrTable{}
		c.parse("F", content)
		c.Lookup(key)
		for _, d := range []*dialect{posixDialect, pcreDialect} {
			r := &reTable{d: d}
			r.parse("F", content)
			r.Lookup(key)
		}
		entries, _ := ParseSource("F", content, true)
		for _, e := range entries {
			if e.Key == "" || e.Value == "" {
				t.Fatalf("empty key or value: %+v", e)
			}
		}
	})
}

// FuzzInline: inline: and static: specs never panic.
func FuzzInline(f *testing.F) {
	for _, s := range []string{"{a=b}", "{ { a = b c }, d=e }", "{{a}=b}", "{a={b}}", "{ }", "{"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, name, key string) {
		if name == "" {
			return
		}
		if tbl, err := openInline("inline:"+name, name); err == nil {
			tbl.Lookup(key)
		}
		if tbl, err := openStatic("static:"+name, name); err == nil {
			tbl.Lookup(key)
		}
	})
}

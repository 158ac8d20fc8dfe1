package cleanup

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openIn counts this process's open files under dir (named or not).
func openIn(t *testing.T, dir string) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// Content stays in memory up to MemLimit, then goes to a file in the
// spool directory that has no name; Close frees it.
func TestSpool(t *testing.T) {
	tests := []struct {
		name   string
		writes []int
		inFile bool
	}{
		{"empty", nil, false},
		{"small", []int{100, 200}, false},
		{"exactly the limit", []int{MemLimit - 1, 1}, false},
		{"one byte over", []int{MemLimit, 1}, true},
		{"one large write", []int{5 * MemLimit}, true},
		{"many writes", []int{40000, 40000, 40000, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := NewSpool(dir)
			var want strings.Builder
			for i, n := range tt.writes {
				p := strings.Repeat(string(rune('a'+i)), n)
				want.WriteString(p)
				if k, err := sp.Write([]byte(p)); err != nil || k != n {
					t.Fatalf("Write: %d, %v", k, err)
				}
			}
			if sp.InFile() != tt.inFile || sp.Size() != int64(want.Len()) {
				t.Errorf("in file %v size %d, want %v %d", sp.InFile(), sp.Size(), tt.inFile, want.Len())
			}
			if n := openIn(t, dir); n != map[bool]int{false: 0, true: 1}[tt.inFile] {
				t.Errorf("%d files open in the spool directory", n)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the spool directory holds %d names", len(entries))
			}
			for _, off := range []int64{0, 1, MemLimit, sp.Size(), sp.Size() + 10} {
				got, err := io.ReadAll(sp.Reader(off))
				if err != nil {
					t.Fatal(err)
				}
				if w := want.String()[min(int(off), want.Len()):]; string(got) != w {
					t.Errorf("Reader(%d): %d bytes, want %d", off, len(got), len(w))
				}
			}
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			if n := openIn(t, dir); n != 0 {
				t.Errorf("%d files open after Close", n)
			}
			if _, err := sp.Write([]byte("x")); err == nil {
				t.Error("Write after Close succeeded")
			}
			if err := sp.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// A spool directory that cannot take the overflow makes Write fail,
// and every later Write too; nothing is left behind.
func TestSpoolOverflowFails(t *testing.T) {
	sp := NewSpool(filepath.Join(t.TempDir(), "missing"))
	defer sp.Close()
	if _, err := sp.Write(make([]byte, MemLimit)); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Write([]byte("x")); err == nil {
		t.Fatal("Write past MemLimit into a missing directory succeeded")
	}
	if _, err := sp.Write([]byte("y")); err == nil {
		t.Fatal("a later Write succeeded")
	}
}

// Where O_TMPFILE is not available, the file gets a name that is
// removed at once.
func TestSpoolWithoutTmpfile(t *testing.T) {
	defer func(f int) { tmpfileFlag = f }(tmpfileFlag)
	tmpfileFlag = 0 // opening the directory read-write fails with EISDIR
	dir := t.TempDir()
	sp := NewSpool(dir)
	defer sp.Close()
	if _, err := sp.Write(make([]byte, 2*MemLimit)); err != nil {
		t.Fatal(err)
	}
	if !sp.InFile() || openIn(t, dir) != 1 {
		t.Fatal("no overflow file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the spool directory holds %d names", len(entries))
	}
}

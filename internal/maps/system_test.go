package maps

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSystemTables(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { passwdFile = old }(passwdFile)
	passwdFile = pw

	tb, err := Open("proxy:unix:passwd.byname")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, want string
		found     bool
	}{
		{"alice", "alice:x:1000:1000:Alice:/home/alice:/bin/sh", true},
		{"root", "root:x:0:0:root:/root:/bin/bash", true},
		{"bob", "", false},
		{"alice@example.com", "", false},
		{"alic", "", false},
		{"", "", false},
	} {
		v, ok, err := tb.Lookup(c.key)
		if err != nil || ok != c.found || v != c.want {
			t.Errorf("Lookup(%q) = %q, %v, %v; want %q, %v", c.key, v, ok, err, c.want, c.found)
		}
	}
	if tb.Name() != "unix:passwd.byname" {
		t.Errorf("Name() = %q", tb.Name())
	}

	nis, err := Open("nis:mail.aliases")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := nis.Lookup("postmaster"); ok || err != nil {
		t.Errorf("nis lookup found something: %v %v", ok, err)
	}
	if len(Warnings(nis)) != 1 {
		t.Errorf("nis: warnings %q, want the NIS-disabled warning", Warnings(nis))
	}
	if _, err := Open("unix:shadow.byname"); err == nil {
		t.Error("unix:shadow.byname opened")
	}
}

// A new user is known at once: the cached passwd file is read again
// when it changes (a rename into place, as useradd does).
func TestUnixTableSeesNewUsers(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	os.WriteFile(pw, []byte("alice:x:1000:1000::/home/alice:/bin/sh\n"), 0o644)
	defer func(old string) { passwdFile = old }(passwdFile)
	passwdFile = pw
	tb, err := Open("unix:passwd.byname")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := tb.Lookup("bob"); ok {
		t.Fatal("bob found before he exists")
	}
	tmp := filepath.Join(dir, "passwd.new")
	os.WriteFile(tmp, []byte("alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n"), 0o644)
	os.Rename(tmp, pw)
	if _, ok, err := tb.Lookup("bob"); !ok || err != nil {
		t.Errorf("bob not found after useradd: %v", err)
	}
}

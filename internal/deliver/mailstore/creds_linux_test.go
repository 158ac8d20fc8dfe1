package mailstore

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWithFSCreds(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root")
	}
	dir := filepath.Join(sharedDir(t), "shared")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, nil, 0o600)
	err := WithFSCreds(aliceUID, aliceGID, func() error {
		if fsuid, fsgid, groups, err := threadFSCreds(); err != nil || fsuid != aliceUID || fsgid != aliceGID || groups != "" {
			t.Errorf("in WithFSCreds: fsuid %d fsgid %d groups %q %v", fsuid, fsgid, groups, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mine"), []byte("x"), 0o600); err != nil {
			return err
		}
		if _, err := os.OpenFile(secret, os.O_WRONLY, 0); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("root's file opened as alice: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid, _ := ownerOf(t, filepath.Join(dir, "mine")); uid != aliceUID || gid != aliceGID {
		t.Errorf("created as %d:%d", uid, gid)
	}
	// The rights stayed on the discarded thread.
	os.WriteFile(filepath.Join(dir, "root"), nil, 0o600)
	if uid, _, _ := ownerOf(t, filepath.Join(dir, "root")); uid != 0 {
		t.Errorf("after WithFSCreds files are created as %d", uid)
	}
	if fsuid, _, _, err := threadFSCreds(); err != nil || fsuid != 0 {
		t.Errorf("this thread: fsuid %d %v", fsuid, err)
	}
}

// BenchmarkWithFSCreds: the cost of a delivery's thread with another
// user's rights.
func BenchmarkWithFSCreds(b *testing.B) {
	if !isRoot() {
		b.Skip("needs root")
	}
	for b.Loop() {
		if err := WithFSCreds(aliceUID, aliceGID, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// threadFSCreds reads the calling thread's fsuid, fsgid and
// supplementary groups from /proc.
func threadFSCreds() (fsuid, fsgid int, groups string, err error) {
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		return 0, 0, "", err
	}
	defer f.Close()
	fsuid, fsgid = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		switch {
		case key == "Uid" && len(fields) == 4:
			fmt.Sscan(fields[3], &fsuid)
		case key == "Gid" && len(fields) == 4:
			fmt.Sscan(fields[3], &fsgid)
		case key == "Groups":
			groups = strings.Join(fields, " ")
		}
	}
	return fsuid, fsgid, groups, sc.Err()
}

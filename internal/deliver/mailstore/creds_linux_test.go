package mailstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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

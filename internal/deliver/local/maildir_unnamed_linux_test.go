//go:build linux && (amd64 || arm64)

package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

// On Linux the copy is written unnamed in new/ and linked there: nothing
// passes through tmp/, and the file is whole and the recipient's.
func TestStoreUnnamed(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	req := request(testBody, "alice@example.test")
	req.ID = queue.NewID()
	req.Env.ID = req.ID
	d := &delivery{a: e.agent(), ctx: context.Background(), m: &message{req: req}, rcpt: req.Env.Recipients[0]}
	home, err := os.OpenRoot(e.home["alice"])
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	md, err := openMaildir(home, "Maildir", chownTo(owner{aliceUID, aliceGID}))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	newDir, err := md.Open("new")
	if err != nil {
		t.Fatal(err)
	}
	defer newDir.Close()
	done, err := d.storeUnnamed(md, newDir, "copy", chownTo(owner{aliceUID, aliceGID}))
	if !done || err != nil {
		t.Fatalf("storeUnnamed: done %v, %v (no O_TMPFILE here?)", done, err)
	}
	p := filepath.Join(e.home["alice"], "Maildir", "new", "copy")
	if got := readFile(t, p); got != "Return-Path: <sender@remote.test>\nX-Original-To: alice@example.test\nDelivered-To: alice@example.test\n"+
		"Subject: test\nFrom: sender@remote.test\n\nFrom the start\n>From quoted already\nline\n" {
		t.Errorf("copy %q", got)
	}
	if uid, _, mode := ownerOf(t, p); mode.Perm() != 0o600 || isRoot() && uid != aliceUID {
		t.Errorf("copy uid %d %v", uid, mode)
	}
	if tmp, _ := os.ReadDir(filepath.Join(e.home["alice"], "Maildir", "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ used: %v", tmp)
	}
	// The same name again is the copy an earlier attempt made.
	if done, err := d.storeUnnamed(md, newDir, "copy", noChown); !done || err != nil {
		t.Errorf("second store: %v %v", done, err)
	}
}

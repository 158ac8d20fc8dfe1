package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/testperm"
)

// vmailID is the uid and gid of the virtual mailboxes in these tests:
// no user of the system, as is usual for virtual_uid_maps = static:5000.
const vmailID = 5000

// virtualSetup writes the tables of a virtual mailbox domain v.test
// (alice: a Maildir, carol: an mbox, routed to the virtual transport
// through transport_maps) and returns the main.cf lines and
// virtual_mailbox_base, owned by vmailID as the mail administrator
// makes it.
func virtualSetup(t *testing.T) (mainCf, base string) {
	t.Helper()
	dir := t.TempDir()
	base = filepath.Join(dir, "vmail")
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(base, vmailID, vmailID); err != nil {
		t.Fatal(err)
	}
	testperm.OpenDirs(base) // vmail reaches its base through the test's directories
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	transport := write("transport", "v.test virtual:\n")
	mailboxes := write("vmailbox", "alice@v.test v.test/alice/\ncarol@v.test v.test/carol\n")
	mainCf = fmt.Sprintf("transport_maps = texthash:%s\nvirtual_mailbox_base = %s\nvirtual_mailbox_maps = texthash:%s\n"+
		"virtual_uid_maps = static:%d\nvirtual_gid_maps = static:%d\nrecipient_delimiter = +\n", transport, base, mailboxes, vmailID, vmailID)
	return mainCf, base
}

// Mail routed to the virtual transport lands in the Maildir and mbox
// virtual_mailbox_maps names below virtual_mailbox_base, owned by the
// uid and gid of virtual_uid_maps and virtual_gid_maps, delivered by the
// root agent process (the daemon runs as nobody), logged as Postfix's
// virtual logs it; an unknown user bounces.
func TestVirtualDelivery(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: virtual delivery writes as the mailbox owner (CI runs as root)")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody")
	}
	extra, base := virtualSetup(t)
	in, _ := rootAgentInstance(t, extra)

	sendTo(t, in, "alice+news@v.test", "to alice")
	waitLog(t, in, "to=<alice+news@v.test>, relay=virtual, delay=")
	log := in.maillog(t)
	sent := regexp.MustCompile(`postern/virtual\[\d+\]: [0-9A-Za-z]+: to=<alice\+news@v\.test>, relay=virtual, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(delivered to maildir\)`)
	if !sent.MatchString(log) {
		t.Fatalf("no Postfix-style line for the Maildir delivery:\n%s", log)
	}
	maildir := filepath.Join(base, "v.test", "alice")
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if len(files) != 1 || !strings.Contains(files[0], "Delivered-To: alice+news@v.test\n") || !strings.Contains(files[0], "Subject: to alice") {
		t.Fatalf("new/ holds %q", files)
	}
	entries, _ := os.ReadDir(filepath.Join(maildir, "new"))
	for _, p := range []string{filepath.Join(base, "v.test"), maildir, filepath.Join(maildir, "tmp"), filepath.Join(maildir, "new", entries[0].Name())} {
		if uid, gid := ownerIDs(t, p); uid != vmailID || gid != vmailID {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, uid, gid, vmailID, vmailID)
		}
	}

	sendTo(t, in, "carol@v.test", "to carol")
	waitLog(t, in, "to=<carol@v.test>, relay=virtual")
	if !strings.Contains(in.maillog(t), "dsn=2.0.0, status=sent (delivered to mailbox)") {
		t.Fatalf("carol:\n%s", in.maillog(t))
	}
	mbox := filepath.Join(base, "v.test", "carol")
	if b, err := os.ReadFile(mbox); err != nil || !strings.HasPrefix(string(b), "From app@client.example  ") || !strings.Contains(string(b), "Subject: to carol") {
		t.Errorf("mbox: %q %v", b, err)
	}
	if uid, gid := ownerIDs(t, mbox); uid != vmailID || gid != vmailID {
		t.Errorf("mbox owned by %d:%d", uid, gid)
	}

	sendTo(t, in, "nobody@v.test", "to nobody")
	waitLog(t, in, `to=<nobody@v.test>, relay=virtual`)
	if !regexp.MustCompile(`dsn=5\.1\.1, status=bounced \(unknown user: "nobody@v\.test"\)`).MatchString(in.maillog(t)) {
		t.Errorf("unknown user:\n%s", in.maillog(t))
	}
}

func ownerIDs(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid)
}

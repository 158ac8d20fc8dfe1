package check

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

// runWith checks a minimal main.cf plus the given settings and returns
// the report's lines.
func runWith(t *testing.T, over map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.test\ninet_interfaces = loopback-only\n"), 0o644)
	over["alias_maps"], over["alias_database"] = "", ""
	if over["mail_owner"] == "" {
		over["mail_owner"] = "root" // the directories are judged for this user
	}
	rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail", Overrides: over})
	var b strings.Builder
	for _, d := range rep.Diags {
		b.WriteString(format(d) + "\n")
	}
	return b.String()
}

// A root-owned mode-700 parent passes for root but not for mail_owner,
// who runs the queue after start drops privileges.
func TestQueueDirectoryAsMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: judges the queue directory for mail_owner = nobody")
	}
	base := t.TempDir()
	testperm.OpenDirs(base)
	parent := filepath.Join(base, "spool")
	os.Mkdir(parent, 0o700)
	queue, data := filepath.Join(parent, "postern"), filepath.Join(base, "data")
	over := map[string]string{"mail_owner": "nobody", "queue_directory": queue, "data_directory": data}
	want := "parameter queue_directory: (default) mail_owner nobody cannot use " + queue + ": " + parent + " (mode 700, owner root) cannot be searched by nobody"
	if got := runWith(t, over); !strings.Contains(got, want) {
		t.Errorf("mode 700 parent: want %q in\n%s", want, got)
	}
	os.Chmod(parent, 0o711)
	if got := runWith(t, over); strings.Contains(got, "cannot use") {
		t.Errorf("mode 711 parent:\n%s", got)
	}
}

// A queue on a read-only file system is named as such.
func TestQueueDirectoryReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a read-only tmpfs")
	}
	ro := t.TempDir()
	if err := syscall.Mount("tmpfs", ro, "tmpfs", syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	defer syscall.Unmount(ro, 0)
	got := runWith(t, map[string]string{"queue_directory": filepath.Join(ro, "queue"), "data_directory": t.TempDir()})
	if !strings.Contains(got, "is on a read-only file system: remount it read-write") {
		t.Errorf("read-only queue:\n%s", got)
	}
}

// The queue keeps max(queue_minfree, 1.5 × message_size_limit) free
// before it takes a message (queue.SpaceNeeded); a file system that
// cannot, or can no longer, keep it means MAIL is refused.
func TestQueueSpace(t *testing.T) {
	queue := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(queue, &st); err != nil {
		t.Fatal(err)
	}
	total := int64(st.Blocks) * int64(st.Frsize)
	for _, tc := range []struct {
		over map[string]string
		want string
	}{
		{map[string]string{"message_size_limit": "4000000000000000000"}, "every MAIL would be refused"},
		{map[string]string{"queue_minfree": strconv.FormatInt(total, 10)}, "MAIL is refused (452 4.3.1 Insufficient system storage) until space is freed"},
		{map[string]string{}, ""},
	} {
		tc.over["queue_directory"], tc.over["data_directory"] = queue, queue
		got := runWith(t, tc.over)
		if tc.want == "" {
			if strings.Contains(got, "MAIL") {
				t.Errorf("defaults: %s", got)
			}
		} else if !strings.Contains(got, tc.want) {
			t.Errorf("%v: want %q in\n%s", tc.over, tc.want, got)
		}
	}
}

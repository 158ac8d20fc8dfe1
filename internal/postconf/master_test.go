package postconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/mastercf"
)

// Without master.cf, postern runs the bundled default, so an edit starts
// from it (Postfix would create a master.cf holding only the new entry,
// which here would switch every other service off).
func TestMasterEditWithoutMasterCfEditsTheDefault(t *testing.T) {
	dir := writeMain(t, "")
	if _, e, code := conf(t, dir, "-Me", "new/unix=new unix - - n - - foo"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "master.cf"))
	want := mastercf.Default() + "new        unix  -       -       n       -       -       foo\n"
	if string(got) != want {
		t.Errorf("master.cf =\n%s\nwant the bundled default plus the new entry", got)
	}
}

// A refused edit writes nothing and leaves no temporary file behind.
func TestMasterEditRefusedWritesNothing(t *testing.T) {
	dir := writeMain(t, "")
	const text = "smtp inet n - y - - smtpd\n  -o syslog_name=x\n"
	path := filepath.Join(dir, "master.cf")
	os.WriteFile(path, []byte(text), 0o640)
	for _, args := range [][]string{
		{"-Fe", "smtp/inet/chroot=x"},
		{"-Pe", "smtp/inet/smtpd_banner=a b"},
		{"-Fe", "smtp/inet/wakeup="},
		{"-Me", "smtp/inet=smtp inet n - y -"},
	} {
		out, e, code := conf(t, dir, args...)
		if code != 1 || out != "" || !strings.HasPrefix(e, "postern: fatal: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, e)
		}
		if got, _ := os.ReadFile(path); string(got) != text {
			t.Errorf("%q: master.cf changed to %q", args, got)
		}
	}
	if _, e, code := conf(t, dir, "-Pe", "smtp/inet/syslog_name=y"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640 kept", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

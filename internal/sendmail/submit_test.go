package sendmail

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/testperm"
)

const helperEnv = "POSTERN_SENDMAIL_HELPER"

// TestMain lets TestSubmitNotAllowed run Submit as another user.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		o := &Options{DotEnds: true, Recipients: []string{"a@example.test"}}
		_, err := Submit(o, Settings{Maildrop: dir, HeaderSizeLimit: 1000}, User{UID: os.Getuid(), Login: "u"}, strings.NewReader("x\n"))
		var e *Error
		if errors.As(err, &e) {
			fmt.Println(e.Msg)
			os.Exit(e.Code)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func maildrop(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := pickup.Prepare(dir, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, queue.Maildrop)
}

var alice = User{UID: 1000, Login: "alice", FullName: "Alice Example"}

func submit(t *testing.T, md string, args []string, stdin string) (*pickup.Submission, string, error) {
	t.Helper()
	o, err := Parse("sendmail", args)
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Maildrop: md, MessageSizeLimit: 1000, HeaderSizeLimit: 200}
	name, err := Submit(o, s, alice, strings.NewReader(stdin))
	entries, _ := os.ReadDir(md)
	if err != nil {
		if len(entries) != 0 {
			t.Errorf("failed submission left %v in the maildrop", entries)
		}
		return nil, "", err
	}
	if len(entries) != 1 || entries[0].Name() != name {
		t.Fatalf("maildrop holds %v, want only %s", entries, name)
	}
	path := filepath.Join(md, name)
	defer os.Remove(path)
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("maildrop file mode %v", st.Mode())
	}
	f, _ := os.Open(path)
	defer f.Close()
	sub, r, err := pickup.ReadSubmission(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return sub, string(content), nil
}

func TestSubmit(t *testing.T) {
	md := maildrop(t)
	for _, tc := range []struct {
		name    string
		args    []string
		in      string
		want    pickup.Submission
		content string
	}{
		{"command line", []string{"bob@example.test", "Carol <carol@example.test>, dave"}, "Subject: hi\n\nhello\n",
			pickup.Submission{Sender: "alice", FullName: "Alice Example", Recipients: []string{"bob@example.test", "carol@example.test", "dave"}},
			"Subject: hi\n\nhello\n"},
		{"-t -i as PHP runs it", []string{"-t", "-i"}, "To: Bob <bob@example.test>\r\nBcc: eve@example.test\r\nSubject: hi\r\n\r\n.\r\nbye\r\n",
			pickup.Submission{Sender: "alice", FullName: "Alice Example", Recipients: []string{"bob@example.test", "eve@example.test"}},
			"To: Bob <bob@example.test>\nBcc: eve@example.test\nSubject: hi\n\n.\nbye\n"},
		{"-t adds to the command line", []string{"-t", "first@example.test"}, "Cc: second@example.test\n\nx\n",
			pickup.Submission{Sender: "alice", FullName: "Alice Example", Recipients: []string{"first@example.test", "second@example.test"}},
			"Cc: second@example.test\n\nx\n"},
		{"-f -F and DSN", []string{"-f", "App <app@example.test>", "-F", "The App", "-N", "never", "-R", "hdrs", "-V", "id-1", "-B", "8BITMIME", "x@example.test"},
			"Subject: s\n\nGrüße\n",
			pickup.Submission{Sender: "app@example.test", FullName: "The App", Recipients: []string{"x@example.test"},
				Notify: "NEVER", Ret: "HDRS", EnvID: "id-1", EightBit: true},
			"Subject: s\n\nGrüße\n"},
		{"null sender, control characters leave the name", []string{"-f", "<>", "-F", "a\tb", "x@example.test"}, "x\n",
			pickup.Submission{Sender: "", FullName: "a b", Recipients: []string{"x@example.test"}}, "x\n"},
		{"dot ends without -i", []string{"x@example.test"}, "a\n.\nb\n",
			pickup.Submission{Sender: "alice", FullName: "Alice Example", Recipients: []string{"x@example.test"}}, "a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, content, err := submit(t, md, tc.args, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*sub, tc.want) {
				t.Errorf("envelope %+v\nwant     %+v", *sub, tc.want)
			}
			if content != tc.content {
				t.Errorf("content %q, want %q", content, tc.content)
			}
		})
	}
}

// Bad input fails with the right exit code and a clear message, and
// leaves nothing in the maildrop (submit checks that).
func TestSubmitRefuses(t *testing.T) {
	md := maildrop(t)
	for _, tc := range []struct {
		name string
		args []string
		in   string
		code int
		msg  string
	}{
		{"no recipients", nil, "x\n", ExUsage, "alice(1000): Recipient addresses must be specified on the command line or via the -t option"},
		{"-t without recipients", []string{"-t"}, "Subject: x\n\nTo: body@example.test\n", ExUsage, "alice(1000): No recipient addresses found in message header"},
		{"empty", []string{"x@example.test"}, "", ExDataErr, "alice(1000): empty message: nothing was read from standard input"},
		{"only a dot", []string{"x@example.test"}, ".\n", ExDataErr, "empty message"},
		{"binary", []string{"x@example.test"}, "Subject: x\n\n\x7fELF\x02\x01\x01\x00", ExDataErr, "alice(1000): message content contains a NUL byte"},
		{"too big", []string{"x@example.test"}, "Subject: x\n\n" + strings.Repeat("0123456789\n", 100), ExDataErr, "alice(1000): message file too big"},
		{"header too long for -t", []string{"-t"}, "To: " + strings.Repeat("a@example.test, ", 20) + "\n\nx\n", ExDataErr, "message header length exceeds safety limit"},
		{"bad recipient", []string{"a@b..c"}, "x\n", ExUsage, "alice(1000): bad recipient address syntax: a@b..c"},
		{"empty recipient", []string{""}, "x\n", ExUsage, `bad recipient address syntax: ""`},
		{"bad header recipient", []string{"-t"}, "To: user@\n\nx\n", ExUsage, "bad recipient address syntax: user@"},
		{"bad sender", []string{"-f", "a@[x", "x@example.test"}, "x\n", ExUsage, "bad sender address syntax: a@[x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := submit(t, md, tc.args, tc.in)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v, want exit %d with %q", err, tc.code, tc.msg)
			}
		})
	}
	o := &Options{DotEnds: true, Recipients: []string{"x@example.test"}}
	_, err := Submit(o, Settings{Maildrop: filepath.Join(t.TempDir(), "missing")}, alice, strings.NewReader("x\n"))
	var e *Error
	if !errors.As(err, &e) || e.Code != ExUnavailable || !strings.Contains(e.Msg, "maildrop directory is not set up") {
		t.Errorf("missing maildrop: %v", err)
	}
}

// A user the administrator has not let write the maildrop gets
// EX_NOPERM.
func TestSubmitNotAllowed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run Submit as another user (CI runs as root)")
	}
	base := t.TempDir()
	testperm.OpenDirs(base)
	self, _ := os.ReadFile("/proc/self/exe")
	bin := filepath.Join(base, "sendmail.test")
	os.WriteFile(bin, self, 0o755)
	qdir := filepath.Join(base, "queue")
	if err := pickup.Prepare(qdir, 64201, 64201); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(qdir, queue.Maildrop)
	os.Chmod(md, os.ModeSetgid|os.ModeSticky|0o730) // only mail_owner's group may submit
	cmd := exec.Command(bin)
	cmd.Env = []string{helperEnv + "=" + md}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 64202, Gid: 64202, Groups: []uint32{}}}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExNoPerm || !strings.Contains(string(out), "not allowed to submit mail") {
		t.Errorf("exit %v: %s", err, out)
	}
	entries, _ := os.ReadDir(md)
	if len(entries) != 0 {
		t.Errorf("maildrop holds %v", entries)
	}
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/testperm"
)

// privatePostfix writes a configuration for Debian's Postfix under a temp
// dir (queue, data and maillog there, smtpd on a free loopback port,
// never 25) and returns its directory.
func privatePostfix(t *testing.T, extraMain string) (etc string) {
	t.Helper()
	postfixTool(t, "postfix")
	if os.Getuid() != 0 {
		t.Skip("the postfix command needs root")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user")
	}
	dir := t.TempDir()
	etc, data := filepath.Join(dir, "etc"), filepath.Join(dir, "data")
	for _, d := range []string{etc, data, filepath.Join(dir, "queue")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testperm.OpenDirs(dir)
	var uid int
	fmt.Sscan(pf.Uid, &uid)
	os.Chown(data, uid, -1)
	main := fmt.Sprintf("compatibility_level = 3.6\nqueue_directory = %s/queue\ndata_directory = %s\n"+
		"maillog_file = %s/maillog\nmaillog_file_prefixes = %s\ninet_protocols = ipv4\nmail_spool_directory = %s/mail\n%s",
		dir, data, dir, dir, dir, extraMain)
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", freePort(t)) +
		"pickup unix n - n 60 1 pickup\ncleanup unix n - n - 0 cleanup\nqmgr unix n - n 300 1 qmgr\n" +
		"postlog unix-dgram n - n - 1 postlogd\n"
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(etc, "master.cf"), []byte(master), 0o644)
	t.Cleanup(func() { exec.Command("postfix", "-c", etc, "abort").Run() })
	return etc
}

var (
	pidBrackets = regexp.MustCompile(`\[\d+\]: `)
	pidNumber   = regexp.MustCompile(`PID: \d+`)
)

// scriptLines keeps the postfix-script lines and postfix's warnings and
// fatal errors, without pids ("waiting to terminate" lines, whose number
// depends on timing, and -v's debug lines dropped).
func scriptLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = pidBrackets.ReplaceAllString(l, ": ")
		l = pidNumber.ReplaceAllString(l, "PID: N")
		if (strings.HasPrefix(l, "postfix/postfix-script: ") || strings.HasPrefix(l, "postfix: fatal: ") ||
			strings.HasPrefix(l, "postfix: warning: ")) &&
			!strings.Contains(l, "waiting for the Postfix mail system to terminate") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// postfixSays runs Debian's postfix command and returns its stdout, the
// messages it printed and its exit status. It prints its messages only
// when stderr is a terminal (otherwise it logs them, and a line logged
// while the mail system stops can be lost): script(1) gives it one.
func postfixSays(t *testing.T, etc string, args ...string) (string, string, int) {
	t.Helper()
	stdout := filepath.Join(t.TempDir(), "stdout")
	cmd := "/usr/sbin/postfix -c " + etc + " " + strings.Join(args, " ") + " >" + stdout + " </dev/null"
	tty, _, code := runTool(t, "script", "-qec", cmd, "/dev/null")
	out, _ := os.ReadFile(stdout)
	return string(out), scriptLines(strings.ReplaceAll(tty, "\r", "")), code
}

// postern called as postfix answers every command of a stopped and a
// running mail system as Debian's postfix does: the same exit status,
// nothing on stdout, and the same postfix-script messages ("the Postfix
// mail system is running: PID: N", "starting the Postfix mail system",
// "fatal: the Postfix mail system is not running", …), which postern
// prints on stderr and Postfix logs.
func TestPostfixCommandLikePostfix(t *testing.T) {
	etc := privatePostfix(t, "")
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n")
	os.MkdirAll(filepath.Join(in.dir, "queue"), 0o755) // no "does not exist yet" warnings
	os.MkdirAll(in.data, 0o755)
	for _, args := range [][]string{
		{"status"}, {"stop"}, {"reload"}, {"abort"}, {"check"}, {"flush"},
		{"start"}, {"start"}, {"status"}, {"-v", "status"}, {"reload"}, {"flush"}, {"stop"}, {"status"},
		{"start"}, {"abort"}, {"frobnicate"}, {},
	} {
		wantOut, want, wantCode := postfixSays(t, etc, args...)
		gotOut, gotErr, gotCode := runBin(t, "postfix", append([]string{"-c", in.dir}, args...)...)
		got := scriptLines(gotErr)
		if len(args) <= 1 && (len(args) == 0 || args[0] == "frobnicate") {
			// Postfix lists logrotate, postern start-fg.
			got, _, _ = strings.Cut(got, " Usage: ")
			want, _, _ = strings.Cut(want, " Usage: ")
		}
		if gotCode != wantCode || gotOut != wantOut || got != want {
			t.Errorf("postfix %s:\npostern: exit %d, stdout %q, stderr %q\nPostfix: exit %d, stdout %q, printed %q",
				strings.Join(args, " "), gotCode, gotOut, got, wantCode, wantOut, want)
		}
		if args := strings.Join(args, " "); args == "abort" || args == "stop" {
			// Postfix's abort does not wait: let the next start find it gone.
			waitStopped(t, etc)
		}
	}
}

// waitStopped waits until Postfix's master has exited ("postfix status"
// exits 1).
func waitStopped(t *testing.T, etc string) {
	t.Helper()
	for range 100 {
		if exec.Command("/usr/sbin/postfix", "-c", etc, "status").Run() != nil {
			return
		}
		exec.Command("sleep", "0.1").Run()
	}
	t.Fatal("Postfix did not stop")
}

// postfix check prints nothing when all is well; the configuration's
// errors, on stderr, make it exit 1 with nothing on stdout, as Postfix's
// fatal errors do; bad options are refused as Postfix refuses them.
func TestPostfixCheckLikePostfix(t *testing.T) {
	etc := privatePostfix(t, "")
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n")
	os.MkdirAll(filepath.Join(in.dir, "queue"), 0o755)
	os.MkdirAll(in.data, 0o755)
	for _, args := range [][]string{{"check"}, {"-v", "check"}, {"-x", "check"}} {
		wantOut, _, wantCode := postfixSays(t, etc, args...)
		gotOut, gotErr, gotCode := runBin(t, "postfix", append([]string{"-c", in.dir}, args...)...)
		if gotCode != wantCode || gotOut != wantOut {
			t.Errorf("postfix %v: postern exit %d stdout %q, Postfix exit %d stdout %q", args, gotCode, gotOut, wantCode, wantOut)
		}
		if args[0] != "-x" && gotErr != "" && args[0] != "-v" {
			t.Errorf("postfix %v: a good configuration, yet stderr %q", args, gotErr)
		}
	}
	// postern check keeps its summary line.
	if out, _, code := runBin(t, "postern", "check", "-c", in.dir); code != 0 || !strings.Contains(out, "postern check: 0 errors, 0 warnings") {
		t.Errorf("postern check: exit %d %q", code, out)
	}
	// The global -c before the command.
	if out, e, code := runBin(t, "postern", "-c", in.dir, "check"); code != 0 || !strings.Contains(out, "0 errors, 0 warnings") {
		t.Errorf("postern -c DIR check: exit %d %q %q", code, out, e)
	}
	in.writeMain(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nsmtpd_delay_reject = maybe\n")
	out, e, code := runBin(t, "postfix", "-c", in.dir, "check")
	if code != 1 || out != "" || !strings.Contains(e, "postfix: fatal: "+in.dir+"/main.cf:") || !strings.Contains(e, ": parameter smtpd_delay_reject: bad boolean value") {
		t.Errorf("postfix check of a broken main.cf: exit %d, stdout %q, stderr %q", code, out, e)
	}
	if out, e, code := runBin(t, "postern", "-c", in.dir, "check"); code != 1 || !strings.Contains(out, "1 error") {
		t.Errorf("postern -c DIR check of a broken main.cf: exit %d %q %q", code, out, e)
	}
	// Start refuses it, as Postfix's check-fatal does.
	if out, e, code := runBin(t, "postfix", "-c", in.dir, "start"); code != 1 || out != "" || !strings.Contains(e, "smtpd_delay_reject") || strings.Contains(e, "starting") {
		t.Errorf("postfix start of a broken main.cf: exit %d, stdout %q, stderr %q", code, out, e)
	}
}

// set-permissions gives a queue restored as root back to mail_owner;
// upgrade-configuration says there is nothing to do; neither is silent.
func TestPostfixSetPermissionsAndUpgrade(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("changing owners needs root")
	}
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nmail_owner = nobody\n")
	active := filepath.Join(in.dir, "queue", "active")
	os.MkdirAll(active, 0o777)
	os.Chmod(active, 0o777)
	out, e, code := runBin(t, "postfix", "-c", in.dir, "set-permissions")
	if code != 0 || out != "" || !strings.Contains(e, "set-permissions: "+active) || !strings.Contains(e, "owned by mail_owner nobody") {
		t.Errorf("set-permissions: exit %d, stdout %q, stderr %q", code, out, e)
	}
	nobody, _ := user.Lookup("nobody")
	if st, err := os.Stat(active); err != nil || st.Mode().Perm() != 0o700 || fmt.Sprint(ownerUID(st)) != nobody.Uid {
		t.Errorf("%s after set-permissions: %v %v", active, st.Mode(), err)
	}
	out, e, code = runBin(t, "postfix", "-c", in.dir, "upgrade-configuration")
	if code != 0 || out != "" || !strings.Contains(e, "upgrade-configuration: nothing to do") {
		t.Errorf("upgrade-configuration: exit %d, stdout %q, stderr %q", code, out, e)
	}
}

func ownerUID(st os.FileInfo) uint32 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Uid
	}
	return 0
}

// An invalid mynetworks_style (wrong case, several values) or
// inet_protocols (wrong case, unknown word) stops `postfix check` (and
// so start and reload) with Postfix's fatal message, exit 1 and nothing
// on stdout; a bad mynetworks_style while mynetworks is set is not
// needed and passes, as in Postfix. postern conf stays usable (README,
// "differs"): it prints the value and warns.
func TestPostfixCheckBadStyleAndProtocols(t *testing.T) {
	for _, tc := range []struct{ main, fatal string }{
		{"mynetworks_style = Host", `unknown mynetworks mask style value "Host" in "Host"`},
		{"mynetworks_style = host, subnet", "bad mynetworks_style value: host, subnet; specify exactly one value"},
		{"mynetworks_style = host, Subnet", `unknown mynetworks mask style value "Subnet" in "host, Subnet"`},
		{"mynetworks_style = host host", ""},
		{"mynetworks = 127.0.0.0/8\nmynetworks_style = Host", ""},
		{"inet_protocols = IPv4", `unknown inet_protocols value "IPv4" in "IPv4"`},
		{"inet_protocols = ipv4, ipx", `unknown inet_protocols value "ipx" in "ipv4, ipx"`},
	} {
		etc := privatePostfix(t, tc.main+"\n")
		wantOut, want, wantCode := postfixSays(t, etc, "check")
		in := newInstance(t, "inet_interfaces = 127.0.0.1\nalias_maps =\n"+tc.main)
		gotOut, gotErr, gotCode := runBin(t, "postfix", "-c", in.dir, "check")
		if gotCode != wantCode || gotOut != wantOut {
			t.Errorf("%q: postern exit %d stdout %q, Postfix exit %d stdout %q", tc.main, gotCode, gotOut, wantCode, wantOut)
		}
		if tc.fatal != "" && (!strings.Contains(want+"\n", "postfix: fatal: "+tc.fatal+"\n") || !strings.Contains(gotErr, ": "+tc.fatal+"\n")) {
			t.Errorf("%q:\npostern: %s\nPostfix: %s", tc.main, gotErr, want)
		}
		if tc.fatal != "" && !strings.HasPrefix(tc.main, "inet_") {
			out, e, code := runBin(t, "postconf", "-c", in.dir, "-h", "mynetworks_style")
			if code != 0 || out == "" || !strings.Contains(e, tc.fatal) {
				t.Errorf("postern conf %q: exit %d %q %q", tc.main, code, out, e)
			}
		}
	}
}

// Postfix's option syntax: getopt's "c:Dv", glued or apart, "--", and
// its refusals, checked in-process on a directory with no main.cf (every
// command then stops at reading it, after the options parsed).
func TestPostfixOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"-c"}, 1, "postfix: option requires an argument -- 'c'\npostfix: fatal: " + postfixUsage + "\n"},
		{[]string{"-x", "status"}, 1, "postfix: invalid option -- 'x'\npostfix: fatal: " + postfixUsage + "\n"},
		{[]string{"-Dvx", "status"}, 1, "postfix: invalid option -- 'x'\npostfix: fatal: " + postfixUsage + "\n"},
		{[]string{"-c" + dir, "status"}, 1, "postfix: fatal: open " + dir + "/main.cf: no such file or directory\n"},
		{[]string{"-vc", dir, "--", "status"}, 1, "postfix: fatal: open " + dir + "/main.cf: no such file or directory\n"},
		{[]string{"-D", "-c", dir, "start"}, 1, "postfix: fatal: -D: postern has no debugger_command; run \"postern start-fg\" under a debugger instead\n"},
		{[]string{"-c", dir, "status", "now"}, 1, "postfix: warning: status: ignoring extra arguments: now\npostfix: fatal: open " + dir + "/main.cf: no such file or directory\n"},
		{[]string{"-c", dir, "logrotate"}, 1, "postfix/postfix-script: fatal: unknown command: 'logrotate'. Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, start-fg)\n"},
	} {
		var out, errOut strings.Builder
		code := runPostfix(tc.args, &out, &errOut)
		if code != tc.code || out.String() != "" || errOut.String() != tc.err {
			t.Errorf("postfix %q: exit %d, stdout %q, stderr\n%s\nwant exit %d, stderr\n%s", tc.args, code, out.String(), errOut.String(), tc.code, tc.err)
		}
	}
}

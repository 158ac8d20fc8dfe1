package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var binDir string

// TestMain builds the real binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "postern-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "postern"), ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "build postern:", err)
		os.Exit(1)
	}
	for _, name := range []string{"postconf", "postmap", "sendmail", "mailq", "newaliases", "postfix"} {
		os.Symlink("postern", filepath.Join(dir, name))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBin(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func examples(t *testing.T) string {
	d, err := filepath.Abs("../../examples/local")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckExampleConfig(t *testing.T) {
	out, errOut, code := runBin(t, "postern", "check", "-v", "-c", examples(t))
	if code != 0 || !strings.Contains(out, "0 errors") || !strings.Contains(out, "listens on 127.0.0.1:2525, [::1]:2525") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckBrokenConfigNamesFileLineAndParameter(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("inet_interfaces = loopback-only\nmessage_size_limit = 10M\nsmtpd_delay_reject = maybe\n"), 0o644)
	out, _, code := runBin(t, "postern", "check", "-c", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		dir + "/main.cf:2: parameter message_size_limit: ",
		dir + "/main.cf:3: parameter smtpd_delay_reject: ",
		"2 errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAnswersAsPostconf(t *testing.T) {
	out, errOut, code := runBin(t, "postconf", "-c", examples(t), "-h", "inet_interfaces")
	if code != 0 || out != "loopback-only\n" {
		t.Errorf("exit %d, out %q, err %q", code, out, errOut)
	}
}

func TestDispatch(t *testing.T) {
	if out, _, code := runBin(t, "postern", "version"); code != 0 || !strings.HasPrefix(out, "postern ") {
		t.Errorf("version: exit %d %q", code, out)
	}
	if _, e, code := runBin(t, "postern", "frobnicate"); code != 2 || !strings.Contains(e, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d %q", code, e)
	}
	if _, e, code := runBin(t, "postern"); code != 2 || !strings.Contains(e, "usage: postern COMMAND") {
		t.Errorf("no command: exit %d %q", code, e)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+dir+"/queue\n"), 0o644)
	if out, e, code := runBin(t, "mailq", "-c", dir); code != 0 || out != "Mail queue is empty\n" {
		t.Errorf("mailq: exit %d %q %q", code, out, e)
	}
}

func TestMapBuildQueryList(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "access")
	os.WriteFile(src, []byte("# senders\nspammer@bad.test REJECT go away\nfriend@good.test OK\nspammer@bad.test DUNNO\n"), 0o644)
	if _, e, code := runBin(t, "postern", "map", "hash:"+src); code != 0 || !strings.Contains(e, "duplicate") {
		t.Fatalf("build: exit %d, stderr %q", code, e)
	}
	if _, err := os.Stat(src + ".cdb"); err != nil {
		t.Fatalf("no indexed file: %v", err)
	}
	if out, _, code := runBin(t, "postmap", "-q", "SPAMMER@bad.test", "hash:"+src); code != 0 || out != "REJECT go away\n" {
		t.Errorf("query: exit %d %q", code, out)
	}
	if _, _, code := runBin(t, "postern", "map", "-q", "nobody@x.test", "hash:"+src); code != 1 {
		t.Errorf("missing key: exit %d, want 1", code)
	}
	if out, _, code := runBin(t, "postern", "map", "-s", "hash:"+src); code != 0 || !strings.Contains(out, "friend@good.test\tOK") {
		t.Errorf("list: exit %d %q", code, out)
	}
	if _, e, code := runBin(t, "postern", "map", "-q", "x", "hash:"+filepath.Join(dir, "nosuch")); code != 1 || e == "" {
		t.Errorf("missing table: exit %d %q", code, e)
	}
}

// postern install puts the binary and the sendmail, mailq, newaliases and
// postfix links in place, and leaves another MTA's sendmail and postfix
// alone unless -force.
func TestInstall(t *testing.T) {
	prefix := t.TempDir()
	os.MkdirAll(filepath.Join(prefix, "sbin"), 0o755)
	os.WriteFile(filepath.Join(prefix, "sbin", "sendmail"), []byte("#!/bin/sh\n# another MTA\n"), 0o755)
	os.WriteFile(filepath.Join(prefix, "sbin", "postfix"), []byte("#!/bin/sh\n# Postfix\n"), 0o755)
	_, e, code := runBin(t, "postern", "install", "-prefix", prefix)
	if code != 1 || !strings.Contains(e, "sendmail belongs to another program: left alone") ||
		!strings.Contains(e, "sbin/postfix belongs to another program: left alone") {
		t.Fatalf("install over another sendmail and postfix: exit %d %q", code, e)
	}
	for _, name := range []string{"sendmail", "postfix"} {
		if b, _ := os.ReadFile(filepath.Join(prefix, "sbin", name)); !strings.Contains(string(b), "# ") {
			t.Errorf("the other MTA's %s was replaced without -force", name)
		}
	}
	if _, e, code := runBin(t, "postern", "install", "-prefix", prefix, "-force"); code != 0 {
		t.Fatalf("install -force: exit %d %q", code, e)
	}
	if _, err := os.Stat(filepath.Join(prefix, "sbin", "sendmail.pre-postern")); err != nil {
		t.Errorf("the replaced sendmail was not kept: %v", err)
	}
	for _, name := range []string{"sbin/sendmail", "bin/mailq", "bin/newaliases", "sbin/postfix"} {
		if target, err := os.Readlink(filepath.Join(prefix, name)); err != nil || target != filepath.Join(prefix, "sbin", "postern") {
			t.Errorf("%s -> %q, %v", name, target, err)
		}
	}
	out, _, code := runBin(t, "postern", "install", "-prefix", prefix) // again: nothing to do
	if code != 0 || strings.Contains(out, "linked") {
		t.Errorf("second install: exit %d %q", code, out)
	}
	if out, err := exec.Command(filepath.Join(prefix, "sbin", "postern"), "version").Output(); err != nil || !strings.HasPrefix(string(out), "postern ") {
		t.Errorf("installed binary: %q %v", out, err)
	}
}

// The daemon runs twice the default Ps, unless GOMAXPROCS is set.
func TestMorePs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	t.Setenv("GOMAXPROCS", "")
	morePs()
	if got := runtime.GOMAXPROCS(0); got != 2*before {
		t.Errorf("GOMAXPROCS %d, want %d", got, 2*before)
	}
	runtime.GOMAXPROCS(before)
	t.Setenv("GOMAXPROCS", "1")
	morePs()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("with GOMAXPROCS set: %d, want %d untouched", got, before)
	}
}

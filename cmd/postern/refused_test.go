package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/testperm"
)

// A setting postern does not enforce is refused by start and by reload,
// which keeps the running configuration and says why; the same feature
// turned off is accepted. The maillog says which master.cf services run.
func TestStartAndReloadRefuseUnenforcedSettings(t *testing.T) {
	const problem = "parameter header_checks: postern does not implement content inspection and filters yet: remove the setting; mail would otherwise pass uninspected"
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nheader_checks = regexp:/etc/postfix/header_checks")
	_, e, code := in.run(t, "start")
	if code != 1 || !strings.Contains(e, problem) {
		t.Errorf("start with header_checks: exit %d %q", code, e)
	}
	if got := listening(t, in.port); len(got) != 0 {
		t.Errorf("listening after a refused start: %v", got)
	}

	in.writeMain(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nheader_checks =\nsmtpd_sasl_auth_enable = no\nbiff = no")
	in.start(t)
	log, _ := os.ReadFile(filepath.Join(in.data, "maillog"))
	if want := fmt.Sprintf("%s: services %d inet on port %d (smtpd)", filepath.Join(in.dir, "master.cf"), in.port, in.port); !strings.Contains(string(log), want) {
		t.Errorf("maillog does not say which services run (%q):\n%s", want, log)
	}

	in.writeMain(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nheader_checks = regexp:/etc/postfix/header_checks")
	_, e, code = in.run(t, "reload")
	if code != 1 || !strings.Contains(e, problem) || !strings.Contains(e, "still running the previous configuration") {
		t.Errorf("reload with header_checks: exit %d %q", code, e)
	}
	if err := greet(fmt.Sprintf("127.0.0.1:%d", in.port)); err != nil {
		t.Errorf("the previous configuration no longer serves: %v", err)
	}
	log, _ = os.ReadFile(filepath.Join(in.data, "maillog"))
	if !strings.Contains(string(log), "reload failed, keeping the running configuration") || !strings.Contains(string(log), "header_checks") {
		t.Errorf("maillog does not say why the reload failed:\n%s", log)
	}
}

// A queue directory under a root-owned mode-700 parent: root could
// create it, mail_owner could not use it after the drop. postern check
// and postern start both say so and how to fix it, before anything is
// created.
func TestStartNamesUnreachableQueueDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts as root with mail_owner = nobody")
	}
	in := newInstance(t, "")
	testperm.OpenDirs(in.dir)
	parent := filepath.Join(in.dir, "spool")
	os.Mkdir(parent, 0o700)
	main := fmt.Sprintf("queue_directory = %s/postern\ndata_directory = %s\nmail_owner = nobody\nmyhostname = mx.example.test\ninet_interfaces = loopback-only\n", parent, in.data)
	os.WriteFile(filepath.Join(in.dir, "main.cf"), []byte(main), 0o644)
	want := fmt.Sprintf("parameter queue_directory: mail_owner nobody cannot use %s/postern: %s (mode 700, owner root) cannot be searched by nobody: run \"chmod o+x %s\"", parent, parent, parent)
	if out, _, code := in.run(t, "check"); code != 1 || !strings.Contains(out, want) {
		t.Errorf("check: exit %d, want %q in\n%s", code, want, out)
	}
	if _, e, code := in.run(t, "start"); code != 1 || !strings.Contains(e, want) {
		t.Errorf("start: exit %d, want %q in\n%s", code, want, e)
	}
	if _, err := os.Stat(filepath.Join(parent, "postern")); err == nil {
		t.Error("start created the queue directory before refusing")
	}
}

// Without master.cf, postern check warns and postern start logs that the
// bundled default runs, and which services that is (port 25).
func TestMissingMasterCfIsSaid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the bundled default listens on port 25")
	}
	// A loopback address of its own, so that a second test run at the
	// same time does not meet this one's port 25.
	addr := fmt.Sprintf("127.83.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254))
	in := newInstance(t, "inet_interfaces = "+addr+"\ninet_protocols = ipv4")
	master := filepath.Join(in.dir, "master.cf")
	os.Remove(master)
	want := master + " does not exist: using the bundled default: smtp inet on port 25 (smtpd), pickup,"
	if out, _, code := in.run(t, "check"); code != 0 || !strings.Contains(out, strings.Replace(want, " does", ": warning: does", 1)) {
		t.Errorf("check: exit %d, want %q in\n%s", code, want, out)
	}
	in.start(t)
	log, _ := os.ReadFile(filepath.Join(in.data, "maillog"))
	if !strings.Contains(string(log), "warning: "+want) {
		t.Errorf("maillog does not say the bundled default runs (%q):\n%s", want, log)
	}
	if err := greet(addr + ":25"); err != nil {
		t.Errorf("the bundled default's smtp service: %v", err)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/smtp"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// rootAgentInstance is a daemon started as root with mail_owner nobody,
// so that local delivery runs in the root agent process, delivering to
// Maildirs under spool (root's, closed to nobody).
func rootAgentInstance(t *testing.T, extra string) (in *instance, spool string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the local delivery agent process exists only when the daemon starts as root (CI runs as root)")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody")
	}
	spool = t.TempDir()
	in = newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\nmail_owner = nobody\n%s", spool, extra))
	testperm.OpenDirs(in.dir) // mail_owner reaches its queue through the test's directories
	in.start(t)
	return in, spool
}

// agentStatus is the local_agent part of `postern status -j`.
type agentStatus struct {
	SupervisorPid int    `json:"supervisor_pid"`
	Pid           int    `json:"pid"`
	Restarts      int    `json:"restarts"`
	LastExit      string `json:"last_exit"`
}

func (in *instance) agentStatus(t *testing.T) agentStatus {
	t.Helper()
	out, e, code := in.run(t, "status", "-j")
	var st struct {
		Agent *agentStatus `json:"local_agent"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Agent == nil {
		t.Fatalf("status -j: exit %d %s %s", code, out, e)
	}
	return *st.Agent
}

// waitAgent waits until status shows a running agent process other than
// old, and returns its state.
func (in *instance) waitAgent(t *testing.T, old int) agentStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := in.agentStatus(t)
		if st.Pid != 0 && st.Pid != old {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent process other than %d: %+v\n%s", old, st, in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLogFor is waitLog with a deadline for a busy machine.
func waitLogFor(t *testing.T, in *instance, text string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(in.maillog(t), text) {
		if time.Now().After(deadline) {
			t.Fatalf("maillog never showed %q:\n%s", text, in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCount waits until dir holds n files.
func waitCount(t *testing.T, in *instance, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		if len(entries) == n {
			return
		}
		if len(entries) > n || time.Now().After(deadline) {
			t.Fatalf("%s holds %d files, want %d\n%s", dir, len(entries), n, in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sendTo(t *testing.T, in *instance, rcpt, subject string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{rcpt}, []byte("Subject: "+subject+"\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
}

// The root local delivery agent killed with SIGKILL is restarted by its
// supervisor: the death and the restart are logged, status shows the new
// process, and local mail goes on being delivered.
func TestLocalAgentRestartsAfterKill(t *testing.T) {
	in, spool := rootAgentInstance(t, "")
	maildir := filepath.Join(spool, "root", "new")
	sendTo(t, in, "root@mx.example.test", "before")
	waitCount(t, in, maildir, 1)

	st := in.waitAgent(t, 0)
	if st.Restarts != 0 || st.SupervisorPid == 0 {
		t.Errorf("status before the kill: %+v", st)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", st.Pid))
	if !strings.Contains(string(cmdline), "local-agent\x00-worker") {
		t.Fatalf("status names pid %d, which is %q", st.Pid, cmdline)
	}
	if out, _, _ := in.run(t, "status"); !strings.Contains(out, fmt.Sprintf("local delivery agent: pid %d, 0 restarts", st.Pid)) {
		t.Errorf("status:\n%s", out)
	}
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLogFor(t, in, fmt.Sprintf("warning: local delivery agent pid %d exited: signal: killed; restarting in 100ms", st.Pid), 60*time.Second)
	next := in.waitAgent(t, st.Pid)
	if next.Restarts != 1 || next.SupervisorPid != st.SupervisorPid {
		t.Errorf("status after the restart: %+v (before: %+v)", next, st)
	}
	waitLogFor(t, in, fmt.Sprintf("local delivery agent restarted: pid %d", next.Pid), 60*time.Second)

	sendTo(t, in, "root@mx.example.test", "after")
	waitCount(t, in, maildir, 2)
	if log := in.maillog(t); strings.Contains(log, "status=deferred") {
		t.Errorf("a delivery was deferred:\n%s", log)
	}
	// Supervisor and agent die with the daemon, however it ends.
	if err := syscall.Kill(in.daemonPid(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{next.SupervisorPid, next.Pid} {
		waitGone(t, pid)
	}
}

// waitGone waits until process pid has ended (a zombie has).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if _, state, _ := strings.Cut(string(b), ") "); err != nil || strings.HasPrefix(state, "Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d outlived the daemon: %s", pid, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// breakAgent kills the agent process while main.cf is broken, so that
// its restarts exit (the daemon keeps its loaded configuration, a new
// agent process reads the file), and waits until one has; repair puts
// main.cf back.
func breakAgent(t *testing.T, in *instance) (repair func()) {
	t.Helper()
	st := in.waitAgent(t, 0)
	mainCf := filepath.Join(in.dir, "main.cf")
	good, err := os.ReadFile(mainCf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mainCf, append(good, "mailbox_size_limit = lots\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(st.Pid, syscall.SIGKILL)
	waitLogFor(t, in, "exited: exit status 1; restarting in", 60*time.Second)
	return func() {
		t.Helper()
		if err := os.WriteFile(mainCf, good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Mail that arrives while no agent process runs (it cannot start: its
// configuration is broken) is delivered once one starts again, without a
// flush of the queue.
func TestLocalMailWaitsForTheAgent(t *testing.T) {
	in, spool := rootAgentInstance(t, "")
	maildir := filepath.Join(spool, "root", "new")
	repair := breakAgent(t, in)

	sendTo(t, in, "root@mx.example.test", "while down")
	waitLogFor(t, in, "nrcpt=1 (queue active)", 60*time.Second)
	repair()
	waitCount(t, in, maildir, 1)
	if log := in.maillog(t); strings.Contains(log, "status=deferred") {
		t.Errorf("the delivery was deferred rather than waiting for the agent:\n%s", log)
	}
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

// Mail deferred because no agent process came within the wait (30 s) is
// tried again as soon as one starts, not at its next retry (5 minutes
// later), without a flush of the queue.
func TestDeferredLocalMailGoesOutAtRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: takes the 30 s an undelivered attempt waits for the agent")
	}
	in, spool := rootAgentInstance(t, "")
	repair := breakAgent(t, in)
	sendTo(t, in, "root@mx.example.test", "deferred while down")
	waitLogFor(t, in, "status=deferred (local delivery agent unavailable: ", 120*time.Second)
	repair()
	waitCount(t, in, filepath.Join(spool, "root", "new"), 1)
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

// A message larger than the local agent keeps in memory (256 KiB),
// delivered through an alias to a file and a Maildir as the alias
// owner, is read from its root-only queue file before the agent takes
// the owner's rights.
func TestLargeMessageThroughAliasToFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only the root agent takes an alias owner's rights (CI runs as root)")
	}
	adir := t.TempDir()
	out := filepath.Join(adir, "out")
	testperm.OpenDirs(adir)
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	aliasFile := filepath.Join(adir, "aliases")
	os.WriteFile(aliasFile, []byte(fmt.Sprintf("archive: %[1]s/archive, %[1]s/md/\n", out)), 0o644)
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "main.cf"), []byte("alias_database = hash:"+aliasFile+"\n"), 0o644)
	if _, e, code := runBin(t, "newaliases", "-c", cfg); code != 0 {
		t.Fatalf("newaliases: exit %d %s", code, e)
	}
	if _, err := user.Lookup("daemon"); err != nil {
		t.Skip("no user daemon")
	}
	// The root-owned alias table delivers with default_privs, which
	// may not read mail_owner's (nobody's) queue files.
	in, _ := rootAgentInstance(t, fmt.Sprintf("alias_maps = hash:%s\ndefault_privs = daemon\n", aliasFile))
	body := "Subject: large\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 300<<10/80)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"archive@mx.example.test"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	log := in.maillog(t)
	for !strings.Contains(log, ": removed") && !strings.Contains(log, "status=deferred") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		log = in.maillog(t)
	}
	if !strings.Contains(log, "status=sent (delivered to file: "+out+"/archive; delivered to maildir)") {
		t.Fatalf("maillog:\n%s", log)
	}
	if st, err := os.Stat(filepath.Join(out, "archive")); err != nil || st.Size() < 290<<10 {
		t.Errorf("archive: %v %v", st, err)
	}
	waitCount(t, in, filepath.Join(out, "md", "new"), 1)
}

// Without its supervisor (killed) no agent process can come back: the
// daemon says so, and local mail is deferred at once, not held.
func TestLocalAgentSupervisorGone(t *testing.T) {
	in, _ := rootAgentInstance(t, "direct_local_delivery = no")
	st := in.waitAgent(t, 0)
	if err := syscall.Kill(st.SupervisorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLogFor(t, in, fmt.Sprintf("warning: the local delivery agent supervisor pid %d exited: local mail is deferred until postern is restarted", st.SupervisorPid), 60*time.Second)
	waitGone(t, st.Pid) // the agent dies with it
	sendTo(t, in, "root@mx.example.test", "no agent")
	waitLogFor(t, in, "status=deferred (local delivery agent unavailable: the agent supervisor exited: restart postern)", 60*time.Second)
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

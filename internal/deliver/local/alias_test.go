package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

func TestAliasChainsAndLoops(t *testing.T) {
	e := newEnv(t)
	e.aliases("postmaster: root\nroot: alice\nteam: alice, bob\nself: self, alice\n" +
		"loop1: loop2\nloop2: loop1\nghosts: nobody-here\n")
	expect(t, e.deliver1("postmaster@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	r := e.deliver1("team@example.test")
	expect(t, r, deliver.Sent, "2.0.0", "delivered to mailbox")
	if r.Action != "expanded" {
		t.Errorf("action %q", r.Action)
	}
	expect(t, e.deliver1("loop1@example.test"), deliver.Bounced, "5.4.6", "alias database loop for loop1")
	expect(t, e.deliver1("ghosts@example.test"), deliver.Bounced, "5.1.1", `unknown user: "nobody-here"`)
	// "self" lists itself: that is the user self, who does not exist.
	expect(t, e.deliver1("self@example.test"), deliver.Bounced, "5.1.1", `unknown user: "self"`)

	// Delivered-To shows the address mail was sent to, for aliases too.
	got := readFile(t, filepath.Join(e.spool, "alice"))
	if n := strings.Count(got, "\nSubject: test\n"); n != 3 {
		t.Errorf("alice has %d messages", n)
	}
	for _, h := range []string{"Delivered-To: postmaster@example.test\n", "Delivered-To: team@example.test\n", "X-Original-To: team@example.test\n"} {
		if !strings.Contains(got, h) {
			t.Errorf("no %q in alice's mailbox", h)
		}
	}
	if n := strings.Count(readFile(t, filepath.Join(e.spool, "bob")), "\nSubject: test\n"); n != 1 {
		t.Errorf("bob has %d messages", n)
	}
}

type brokenTable struct{}

func (brokenTable) Lookup(string) (string, bool, error) {
	return "", false, errors.New("corrupt cdb file")
}
func (brokenTable) Name() string { return "hash:/broken" }

func TestAliasDatabaseUnavailable(t *testing.T) {
	e := newEnv(t)
	e.cfg.AliasMaps = []maps.Table{brokenTable{}}
	expect(t, e.deliver1("alice@example.test"), deliver.Deferred, "4.3.0", "alias database unavailable")
	if !strings.Contains(e.logbuf.String(), "corrupt cdb file") {
		t.Errorf("log: %s", e.logbuf.String())
	}
}

func TestForwardToRemote(t *testing.T) {
	e := newEnv(t)
	e.aliases("friend: someone@elsewhere.test, bob, other@elsewhere.test\n")
	req := request(testBody, "friend@example.test")
	req.Env.Recipients[0].Notify = "SUCCESS,FAILURE"
	req.Env.Recipients[0].ORcpt = "rfc822;friend@example.test"
	req.Env.EightBit, req.Env.Ret, req.Env.EnvID = true, "HDRS", "env-1"
	res := e.agent().Deliver(context.Background(), req)
	msgs := e.queue.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued", len(msgs))
	}
	m := msgs[0]
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to mailbox; forwarded as "+m.ID)
	if m.Envelope.Sender != "sender@remote.test" || !m.Envelope.EightBit || m.Envelope.Ret != "HDRS" || m.Envelope.EnvID != "env-1" {
		t.Errorf("envelope %+v", m.Envelope)
	}
	// The copies remember the address the message came for: Postfix logs
	// their deliveries with orig_to=<friend@example.test>.
	want := []queue.Recipient{
		{Addr: "someone@elsewhere.test", Notify: "FAILURE", ORcpt: "rfc822;friend@example.test", Orig: "friend@example.test"},
		{Addr: "other@elsewhere.test", Notify: "FAILURE", ORcpt: "rfc822;friend@example.test", Orig: "friend@example.test"},
	}
	if fmt.Sprint(m.Envelope.Recipients) != fmt.Sprint(want) {
		t.Errorf("recipients %+v", m.Envelope.Recipients)
	}
	if string(m.Body) != "Delivered-To: friend@example.test\r\n"+testBody {
		t.Errorf("body %q", m.Body)
	}
	if _, err := os.Stat(filepath.Join(e.spool, "bob")); err != nil {
		t.Errorf("the local member got nothing: %v", err)
	}

	e.queue.Fail = errors.New("no space left on device")
	expect(t, e.deliver1("friend@example.test"), deliver.Deferred, "4.3.0", "mail forwarding failed: no space left on device")
	e.cfg.Queue = nil
	expect(t, e.deliver1("friend@example.test"), deliver.Deferred, "4.3.0", "mail forwarding failed: no queue to forward through")
}

func TestOwnerAliasBecomesSender(t *testing.T) {
	e := newEnv(t)
	e.aliases("list: alice, far@elsewhere.test\nowner-list: bob\n")
	req := request(testBody, "list@example.test")
	req.Env.Ret, req.Env.EnvID = "FULL", "x"
	req.Env.Recipients[0].ORcpt = "rfc822;list@example.test"
	res := e.agent().Deliver(context.Background(), req)
	msgs := e.queue.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	expect(t, res[0], deliver.Sent, "2.0.0", "forwarded as "+msgs[0].ID)
	env := msgs[0].Envelope
	// Local members of a list with an owner go through the queue too.
	if env.Sender != "owner-list@mx.example.test" || env.Ret != "" || env.EnvID != "" ||
		len(env.Recipients) != 2 || env.Recipients[0].Addr != "alice@mx.example.test" || env.Recipients[1].ORcpt != "" {
		t.Errorf("envelope %+v", env)
	}
}

func TestDeliveredToLoop(t *testing.T) {
	e := newEnv(t)
	e.aliases("list: alice, far@elsewhere.test\n")
	body := "Delivered-To: Alice@Example.Test\r\n" + testBody
	res := e.agent().Deliver(context.Background(), request(body, "alice@example.test"))
	expect(t, res[0], deliver.Bounced, "5.4.6", "mail forwarding loop for alice@example.test")
	// A list member that already had the message is a loop too.
	res = e.agent().Deliver(context.Background(), request("Delivered-To: alice@mx.example.test\r\n"+testBody, "list@example.test"))
	expect(t, res[0], deliver.Bounced, "5.4.6", "mail forwarding loop for alice@mx.example.test")
	// Only the header counts, not the body.
	res = e.agent().Deliver(context.Background(), request("Subject: x\r\n\r\nDelivered-To: alice@example.test\r\n", "alice@example.test"))
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to mailbox")
}

func TestReadDeliveredTo(t *testing.T) {
	in := "Received: from x\r\n\tby y\r\nDelivered-To: <A@B.test>\r\ndelivered-to:c@d.test \r\nX-Long: " +
		strings.Repeat("z", 70000) + "\r\nDelivered-To: e@f.test\r\n\r\nDelivered-To: body@x.test\r\n"
	got, err := readDeliveredTo(strings.NewReader(in))
	if err != nil || len(got) != 3 || !got["a@b.test"] || !got["c@d.test"] || !got["e@f.test"] {
		t.Errorf("%v %v", got, err)
	}
	got, _ = readDeliveredTo(strings.NewReader("not a header line\r\nDelivered-To: a@b\r\n"))
	if len(got) != 0 {
		t.Errorf("body read as header: %v", got)
	}
}

func TestCommands(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	e.aliases(fmt.Sprintf(`cat: "|cat > %[1]s/cat; id -u > %[1]s/uid; env > %[1]s/env"
tempfail: "|echo try later; exit 75"
fail: "|echo oops >&2; echo more; exit 1"
nouser: "|exit 67"
dsn: "|echo 5.2.1 mailbox disabled; exit 1"
slow: "|sleep 5"
signal: "|kill -9 $$"
noread: "|exit 0"
`, out))
	e.cfg.RecipientDelimiter = "+"

	res := e.agent().Deliver(context.Background(), request(testBody, "Cat+Ext@example.test"))
	expect(t, res[0], deliver.Sent, "2.0.0", fmt.Sprintf("delivered to command: cat > %[1]s/cat; id -u > %[1]s/uid; env > %[1]s/env", out))
	want := "From sender@remote.test  Sat Mar  7 09:05:03 2026\nReturn-Path: <sender@remote.test>\n" +
		"X-Original-To: Cat+Ext@example.test\nDelivered-To: Cat+Ext@example.test\n" +
		"Subject: test\nFrom: sender@remote.test\n\nFrom the start\n>From quoted already\nline\n"
	if got := readFile(t, out+"/cat"); got != want {
		t.Errorf("command input:\n%q\nwant\n%q", got, want)
	}
	if isRoot() {
		// A root-owned alias table: default_privs.
		if got := readFile(t, out+"/uid"); got != fmt.Sprintf("%d\n", nobodyUID) {
			t.Errorf("command ran as uid %s", got)
		}
	}
	env := readFile(t, out+"/env")
	for _, v := range []string{"SENDER=sender@remote.test", "RECIPIENT=Cat+Ext@example.test", "LOCAL=cat+ext",
		"USER=cat", "LOGNAME=cat", "EXTENSION=ext", "DOMAIN=example.test", "ORIGINAL_RECIPIENT=Cat+Ext@example.test",
		"CLIENT_ADDRESS=192.0.2.1", "CLIENT_HOSTNAME=client.remote.test", "CLIENT_PROTOCOL=ESMTP", "PATH=/usr/bin:/bin", "HOME=/nonexistent"} {
		if !strings.Contains(env, "\n"+v+"\n") && !strings.HasPrefix(env, v+"\n") {
			t.Errorf("no %s in the environment:\n%s", v, env)
		}
	}

	expect(t, e.deliver1("tempfail@example.test"), deliver.Deferred, "4.3.0", "temporary failure. Command output: try later")
	expect(t, e.deliver1("fail@example.test"), deliver.Bounced, "5.3.0", `Command died with status 1: "echo oops >&2; echo more; exit 1". Command output: oops_more`)
	expect(t, e.deliver1("nouser@example.test"), deliver.Bounced, "5.1.1", "user unknown")
	expect(t, e.deliver1("dsn@example.test"), deliver.Bounced, "5.2.1", "mailbox disabled")
	e.cfg.CommandTimeLimit = 300 * time.Millisecond
	start := time.Now()
	expect(t, e.deliver1("slow@example.test"), deliver.Bounced, "5.3.0", `Command time limit exceeded: "sleep 5"`)
	if time.Since(start) > 4*time.Second {
		t.Errorf("time limit not enforced: %v", time.Since(start))
	}
	e.cfg.CommandTimeLimit = Defaults().CommandTimeLimit
	expect(t, e.deliver1("signal@example.test"), deliver.Deferred, "4.3.0", `Command died with signal 9: "kill -9 $$"`)
	big := "Subject: big\r\n\r\n" + strings.Repeat("x\r\n", 1<<20)
	res = e.agent().Deliver(context.Background(), request(big, "noread@example.test"))
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to command: exit 0")

	e.cfg.AllowMailToCommands = []string{"forward"}
	expect(t, e.deliver1("cat@example.test"), deliver.Bounced, "5.7.1", "mail to command is restricted")
}

func TestCommandAsAliasTableOwner(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root to run commands as another user")
	}
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	e.aliases(fmt.Sprintf("u: \"|id -u > %s/uid; id -G > %s/groups\"\n", out, out))
	os.Chown(filepath.Join(e.dir, "aliases.cdb"), aliceUID, aliceGID)
	expect(t, e.deliver1("u@example.test"), deliver.Sent, "2.0.0", fmt.Sprintf("delivered to command: id -u > %s/uid; id -G > %s/groups", out, out))
	if got := readFile(t, out+"/uid"); got != fmt.Sprintf("%d\n", aliceUID) {
		t.Errorf("uid %q", got)
	}
	if got := readFile(t, out+"/groups"); got != fmt.Sprintf("%d\n", aliceGID) {
		t.Errorf("groups %q (root's supplementary groups must go)", got)
	}
}

func TestFiles(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	secret := filepath.Join(out, "secret")
	os.WriteFile(secret, []byte("root only\n"), 0o600)
	e.aliases(fmt.Sprintf("archive: %[1]s/archive\nsecret: %[2]s\nnull: /dev/null\nmd: %[1]s/md/\n", out, secret))

	expect(t, e.deliver1("archive@example.test"), deliver.Sent, "2.0.0", "delivered to file: "+out+"/archive")
	want := strings.ReplaceAll(wantMbox, "alice@example.test", "archive@example.test")
	if got := readFile(t, out+"/archive"); got != want {
		t.Errorf("file:\n%q\nwant\n%q", got, want)
	}
	if isRoot() {
		if uid, gid, mode := ownerOf(t, out+"/archive"); uid != nobodyUID || gid != nobodyGID || mode.Perm() != 0o600 {
			t.Errorf("file created as %d:%d %v, want default_privs", uid, gid, mode)
		}
		// nobody may not write root's file: the kernel said no.
		expect(t, e.deliver1("secret@example.test"), deliver.Bounced, "5.2.0",
			"cannot append message to file "+secret+": cannot open file: Permission denied")
		if got := readFile(t, secret); got != "root only\n" {
			t.Errorf("secret written: %q", got)
		}
	}
	expect(t, e.deliver1("null@example.test"), deliver.Sent, "2.0.0", "delivered to file: /dev/null")
	expect(t, e.deliver1("md@example.test"), deliver.Sent, "2.0.0", "delivered to maildir")
	if files, _ := os.ReadDir(out + "/md/new"); len(files) != 1 {
		t.Errorf("maildir file: %v", files)
	}
	e.cfg.PrependDeliveredHeader = []string{"command", "forward"}
	e.deliver1("archive@example.test")
	if got := readFile(t, out+"/archive"); strings.Count(got, "Delivered-To:") != 1 {
		t.Errorf("Delivered-To: without \"file\" in prepend_delivered_header:\n%s", got)
	}
	e.cfg.AllowMailToFiles = nil
	expect(t, e.deliver1("archive@example.test"), deliver.Bounced, "5.7.1", "mail to file is restricted")
}

func TestIncludeFiles(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	list := filepath.Join(e.dir, "list")
	os.WriteFile(list, []byte("# members\nalice, far@elsewhere.test\n\"|touch "+out+"/ran\"\n"), 0o644)
	writable := filepath.Join(e.dir, "writable")
	os.WriteFile(writable, []byte("alice\n"), 0o666)
	os.Chmod(writable, 0o666)
	e.aliases(fmt.Sprintf("list: :include:%s\nbad: :include:%s\nmissing: :include:%s/none\n", list, writable, e.dir))

	// Commands in include files need the "include" class; by default
	// the command bounces and the addresses are forwarded.
	res := e.agent().Deliver(context.Background(), request(testBody, "list@example.test"))
	expect(t, res[0], deliver.Bounced, "5.7.1", "mail to command is restricted")
	msgs := e.queue.Messages()
	if len(msgs) != 1 || len(msgs[0].Envelope.Recipients) != 2 || msgs[0].Envelope.Recipients[0].Addr != "alice@mx.example.test" {
		t.Fatalf("queued %+v", msgs)
	}
	e.cfg.AllowMailToCommands = []string{"alias", "include"}
	res = e.agent().Deliver(context.Background(), request(testBody, "list@example.test"))
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to command: touch "+out+"/ran; forwarded as "+e.queue.Messages()[1].ID)
	if _, err := os.Stat(out + "/ran"); err != nil {
		t.Error(err)
	}
	expect(t, e.deliver1("bad@example.test"), deliver.Bounced, "5.3.5", "mail system configuration error")
	expect(t, e.deliver1("missing@example.test"), deliver.Bounced, "5.3.5", "mail system configuration error")
	log := e.logbuf.String()
	for _, w := range []string{":include: file " + writable + " is world writable", "cannot open include file " + e.dir + "/none: No such file or directory"} {
		if !strings.Contains(log, w) {
			t.Errorf("no warning %q in\n%s", w, log)
		}
	}
}

func TestIncludeOwnerRights(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root")
	}
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	list := filepath.Join(e.dir, "list")
	os.WriteFile(list, []byte("\"|id -u > "+out+"/uid\"\n"), 0o644)
	os.Chown(list, bobUID, aliceGID)
	e.aliases("list: :include:" + list + "\n")
	e.cfg.AllowMailToCommands = []string{"alias", "include"}
	expect(t, e.deliver1("list@example.test"), deliver.Sent, "2.0.0", "delivered to command: id -u > "+out+"/uid")
	if got := readFile(t, out+"/uid"); got != fmt.Sprintf("%d\n", bobUID) {
		t.Errorf("include command ran as %q, want the include file owner", got)
	}
}

// A message too large to be kept in memory is read from its queue file,
// which only root may read, also when an alias delivers it to a file or
// Maildir with the rights of the alias owner.
func TestLargeMessageToFileAsAliasOwner(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root: only then does a file delivery take the alias owner's rights (CI runs as root)")
	}
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	e.aliases(fmt.Sprintf("archive: %[1]s/archive\nmd: %[1]s/md/\n", out))
	body := "Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", (memContent/64)+16)
	qfile := filepath.Join(e.dir, "queuefile") // as the queue's: root's, mode 0600
	if err := os.WriteFile(qfile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"archive@example.test", "md@example.test"} {
		req := queuedRequest(body, rcpt)
		req.Content = func() (io.ReadCloser, error) { return os.Open(qfile) }
		res := e.agent().Deliver(context.Background(), req)
		if len(res) != 1 || res[0].Kind != deliver.Sent {
			t.Fatalf("%s: %+v", rcpt, res)
		}
	}
	if got := readFile(t, out+"/archive"); !strings.Contains(got, strings.ReplaceAll(body[len(body)-200:], "\r\n", "\n")) || len(got) < len(body)-len(body)/60 {
		t.Errorf("file holds %d bytes of a %d-byte message", len(got), len(body))
	}
	if files, _ := os.ReadDir(out + "/md/new"); len(files) != 1 {
		t.Errorf("maildir files: %v", files)
	}
}

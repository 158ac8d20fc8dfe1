package pickup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/testperm"
)

// The permission test runs this test binary again as other users; the
// environment says which part to play.
const (
	helperRole = "POSTERN_PICKUP_HELPER"
	helperArgs = "POSTERN_PICKUP_ARGS"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		var args []string
		json.Unmarshal([]byte(os.Getenv(helperArgs)), &args)
		os.Exit(helper(role, args))
	}
	os.Exit(m.Run())
}

func helper(role string, args []string) int {
	out := json.NewEncoder(os.Stdout)
	switch role {
	case "drop": // maildrop, sender, content
		d, err := Create(args[0], &Submission{Sender: args[1], Recipients: []string{"postmaster"}})
		if err == nil {
			_, err = d.Write([]byte(args[2]))
		}
		name := ""
		if err == nil {
			name, err = d.Commit()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		out.Encode(name)
	case "attack": // maildrop, victim's file name, victim's uid; then a drop claiming the victim's address
		res := attack(args[0], args[1], args[2])
		if code := helper("drop", []string{args[0], "alice@example.test", "Subject: from B\n\nclaims to be A\n"}); code != 0 {
			return code
		}
		out.Encode(res)
	case "pickup": // queue directory
		q := &queue.Memory{}
		log, lines := newLog()
		cfg := testCfg
		cfg.QueueDir = args[0]
		if _, err := New(cfg, q, log).Scan(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var bodies []string
		for _, m := range q.Messages() {
			bodies = append(bodies, string(m.Body))
		}
		out.Encode(map[string][]string{"log": lines(), "bodies": bodies})
	default:
		return 2
	}
	return 0
}

// attack tries, as another user, everything that would read, remove,
// replace or impersonate the victim's maildrop file, and returns each
// attempt's error ("" when it worked).
func attack(maildrop, victim, victimUID string) map[string]string {
	res := map[string]string{}
	note := func(what string, err error) {
		var errno syscall.Errno
		switch {
		case errors.As(err, &errno):
			res[what] = errno.Error()
		case err != nil:
			res[what] = err.Error()
		default:
			res[what] = ""
		}
	}
	path := filepath.Join(maildrop, victim)
	_, err := os.ReadDir(maildrop)
	note("list", err)
	_, err = os.ReadFile(path)
	note("read", err)
	_, err = os.OpenFile(path, os.O_WRONLY, 0)
	note("write", err)
	note("remove", os.Remove(path))
	own := filepath.Join(maildrop, tmpPrefix+"attacker")
	os.WriteFile(own, []byte("replacement"), 0o640)
	note("rename over", os.Rename(own, path))
	var uid int
	fmt.Sscan(victimUID, &uid)
	note("chown to victim", os.Chown(own, uid, -1))
	note("hard link", os.Link(path, filepath.Join(maildrop, finalPrefix+strings.Repeat("a", 32))))
	note("symlink", os.Symlink(path, filepath.Join(maildrop, finalPrefix+strings.Repeat("b", 32))))
	os.Remove(own)
	return res
}

// Three users: A submits, B attacks A's file and submits with A's address
// as sender, the mail owner M runs pickup. No set-uid program is
// involved; the kernel's file ownership and modes do the work.
func TestPermissionModel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run parts of the test as other users (CI runs as root)")
	}
	const userA, userB, owner = 64101, 64102, 64103
	base := t.TempDir()
	testperm.OpenDirs(base) // the other users must reach the directories below
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "pickup.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	queueDir := filepath.Join(base, "queue")
	if err := Prepare(queueDir, owner, owner); err != nil {
		t.Fatal(err)
	}
	maildrop := filepath.Join(queueDir, queue.Maildrop)
	run := func(uid uint32, role string, args ...string) []byte {
		t.Helper()
		a, _ := json.Marshal(args)
		cmd := exec.Command(bin)
		cmd.Env = []string{helperRole + "=" + role, helperArgs + "=" + string(a)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s as uid %d: %v\n%s", role, uid, err, stderr.String())
		}
		return out
	}
	var nameA string
	json.Unmarshal(run(userA, "drop", maildrop, "alice@example.test", "Subject: from A\n\nA's secret\n"), &nameA)

	var res map[string]string
	dec := json.NewDecoder(bytes.NewReader(run(userB, "attack", maildrop, nameA, fmt.Sprint(userA))))
	dec.Decode(new(string)) // the name of B's own message
	dec.Decode(&res)
	for what, want := range map[string]string{
		"list": "permission denied", "read": "permission denied", "write": "permission denied",
		"remove": "operation not permitted", "rename over": "operation not permitted", "chown to victim": "operation not permitted",
	} {
		if res[what] != want {
			t.Errorf("B: %s A's file: %q, want %q", what, res[what], want)
		}
	}
	// With fs.protected_hardlinks (the default) B cannot link A's file;
	// where it can, pickup refuses the second link below.
	if res["hard link"] != "" && res["hard link"] != "operation not permitted" {
		t.Errorf("B: hard link: %q", res["hard link"])
	}
	if res["symlink"] != "" {
		t.Fatalf("B could not even plant a symbolic link (%s): the test proves less than it should", res["symlink"])
	}

	var got struct{ Log, Bodies []string }
	json.Unmarshal(run(owner, "pickup", queueDir), &got)
	log := strings.Join(got.Log, "\n")
	if len(got.Bodies) != 2 {
		t.Fatalf("pickup queued %d messages; log:\n%s", len(got.Bodies), log)
	}
	for _, want := range []string{
		fmt.Sprintf("uid=%d from=<alice@example.test>", userA), // A's message, as A
		fmt.Sprintf("uid=%d from=<alice@example.test>", userB), // B's claim, as B
		"symbolic link: removed",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("pickup log lacks %q:\n%s", want, log)
		}
	}
	if res["hard link"] == "" && !strings.Contains(log, "more than one link: removed") {
		t.Errorf("B's hard link to A's file was not refused:\n%s", log)
	}
	for _, b := range got.Bodies {
		if strings.Contains(b, "from B") && !strings.Contains(b, fmt.Sprintf("from userid %d)", userB)) ||
			strings.Contains(b, "from A") && !strings.Contains(b, fmt.Sprintf("from userid %d)", userA)) {
			t.Errorf("Received: names the wrong user:\n%s", b)
		}
	}
	if entries, _ := os.ReadDir(maildrop); len(entries) != 0 {
		t.Errorf("maildrop not empty after pickup: %v", entries)
	}
}

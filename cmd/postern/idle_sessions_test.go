package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 19: thousands of sessions held idle (greeted, EHLO answered)
// while mail still goes through. The daemon runs with ulimit -n 4096
// and 10 deliveries at once: its file descriptor budget then has room
// for about 2,600 sessions, 660 of them busy, as an idle session holds
// only its connection; when every session counted 3 descriptors it
// stopped at 1,300 and the rest waited in the listen backlog, unanswered.
func TestManyIdleSessions(t *testing.T) {
	const n = 2000
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < n+500 {
		t.Skipf("RLIMIT_NOFILE %d: the test's own %d connections need more (%v)", rl.Cur, n, err)
	}
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	mail := t.TempDir()
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nhome_mailbox =\n"+
		"mail_spool_directory = %s/\ndefault_process_limit = 10", mail))
	in.writeMaster(t, fmt.Sprint(n+10))
	cmd := exec.Command("sh", "-c", `ulimit -n 4096 && exec "$0" start -c "$1"`, filepath.Join(binDir, "postern"), in.dir)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	waitLog(t, in, "daemon started")
	t.Log(regexp.MustCompile(`RLIMIT_NOFILE 4096, .*`).FindString(in.maillog(t)))
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := w; i < n; i += 20 {
				c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
				if err != nil {
					errs <- fmt.Errorf("session %d: %v", i, err)
					return
				}
				conns[i] = c
				c.SetDeadline(time.Now().Add(60 * time.Second))
				br := bufio.NewReaderSize(c, 64)
				readers[i] = br
				if code, line, err := readReply(br); code != 220 {
					errs <- fmt.Errorf("session %d: greeting %q, %v", i, line, err)
					return
				}
				fmt.Fprintf(c, "EHLO client%d.example\r\n", i)
				if code, line, err := readReply(br); code != 250 {
					errs <- fmt.Errorf("session %d: EHLO: %q, %v", i, line, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	out := sendSMTP(addr, "app@client.example", u.Username+"@mx.example.test", numberedMessage(1, 500))
	if !out.Queued {
		t.Fatalf("a message beside %d idle sessions: %+v", n, out)
	}
	maildir := filepath.Join(mail, u.Username)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if copies, _ := maildirCopies(t, maildir); len(copies[1]) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message was not delivered:\n%s", in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The idle sessions are sessions still: each answers.
	for i, c := range conns {
		fmt.Fprintf(c, "NOOP\r\n")
		if code, line, err := readReply(readers[i]); code != 250 {
			t.Fatalf("session %d: NOOP: %q, %v", i, line, err)
		}
	}
	if log := in.maillog(t); strings.Contains(log, "budget of") || strings.Contains(log, "process limit") {
		t.Errorf("a limit was reached:\n%s", firstLines(log, 20))
	}
}

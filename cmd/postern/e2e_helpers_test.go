package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smtpOutcome is what one hand-written SMTP transaction saw: the stage
// it reached and the last reply line. Queued is true only when the end
// of DATA was answered 250, which is the one answer that makes the
// server responsible for the message.
type smtpOutcome struct {
	Stage  string // "connect", "banner", "EHLO", "MAIL", "RCPT", "DATA", "end of DATA"
	Reply  string // the last reply line ("" when the connection failed first)
	Queued bool
	Err    error // an I/O error, if the transaction broke off
}

// sendSMTP sends one message in its own session, without pipelining, so
// that every reply is tied to the command it answers. body uses CRLF
// line ends and must not contain a line with a lone ".".
func sendSMTP(addr, from, to string, body []byte) smtpOutcome {
	return sendSMTPWithin(addr, from, []string{to}, body, 20*time.Second)
}

// sendSMTPTo is sendSMTP for several recipients, with more time for
// their deliveries.
func sendSMTPTo(addr, from string, to []string, body []byte) smtpOutcome {
	return sendSMTPWithin(addr, from, to, body, 60*time.Second)
}

// sendSMTPWithin is one session sending body to every address in to,
// the whole of it within d.
func sendSMTPWithin(addr, from string, to []string, body []byte, d time.Duration) smtpOutcome {
	out := smtpOutcome{Stage: "connect"}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	br := bufio.NewReader(c)
	expect := func(stage string, want int) bool {
		out.Stage = stage
		code, line, err := readReply(br)
		out.Reply = line
		if err != nil {
			out.Err = err
			return false
		}
		return code == want
	}
	send := func(s string) bool {
		if _, err := c.Write([]byte(s)); err != nil {
			out.Err = err
			return false
		}
		return true
	}
	if !expect("banner", 220) || !send("EHLO client.example\r\n") || !expect("EHLO", 250) ||
		!send("MAIL FROM:<"+from+">\r\n") || !expect("MAIL", 250) {
		return out
	}
	for _, a := range to {
		if !send("RCPT TO:<"+a+">\r\n") || !expect("RCPT", 250) {
			return out
		}
	}
	if !send("DATA\r\n") || !expect("DATA", 354) || !send(string(body)+".\r\n") {
		return out
	}
	out.Queued = expect("end of DATA", 250)
	send("QUIT\r\n")
	return out
}

// readReply reads a (multi-line) SMTP reply and returns its code and last
// line.
func readReply(br *bufio.Reader) (int, string, error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, strings.TrimSpace(line), err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || line[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, line, fmt.Errorf("bad reply %q", line)
		}
		return code, line, nil
	}
}

// numberedMessage is a message whose Subject and Message-ID carry n, and
// whose body is padded to about size bytes.
func numberedMessage(n, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: test message %d\r\nMessage-ID: <seq-%d@client.example>\r\n\r\n", n, n)
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

var messageIDSeq = regexp.MustCompile(`(?m)^Message-ID: <seq-(\d+)@client\.example>$`)

// maildirCopies lists the files holding each numbered message in a
// Maildir's new/ directory; files without a number are returned apart.
func maildirCopies(t *testing.T, maildir string) (map[int][]string, []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(maildir, "new"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	copies := map[int][]string{}
	var strays []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(maildir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m := messageIDSeq.FindSubmatch(b)
		if m == nil {
			strays = append(strays, e.Name())
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		copies[n] = append(copies[n], e.Name())
	}
	return copies, strays
}

// daemonPid reads the running daemon's pid from $data_directory/postern.pid.
func (in *instance) daemonPid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.data, "postern.pid"))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file holds %q", b)
	}
	return pid
}

// killHard sends SIGKILL to pid and waits until the process is gone (or
// a zombie whose threads have all exited, waiting for a parent that does
// not reap it).
func killHard(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err == nil {
		return // reaped: this process is its subreaper
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// A zombie leader (the state follows the command name in
		// parentheses) may still have threads holding the sockets: wait
		// until it is alone.
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' && len(tasks) <= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive 10s after SIGKILL", pid)
		}
	}
}

// waitQueueEmpty waits until `postern queue -j` lists nothing.
func (in *instance) waitQueueEmpty(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, e, code := in.run(t, "queue", "-j")
		if code == 0 && out == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after %v (exit %d %s):\n%s", timeout, code, e, firstLines(out, 10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… %d more lines\n", len(lines)-n))
	}
	return strings.Join(lines, "")
}

// becomeSubreaper makes the test process the parent of the daemons that
// `postern start` leaves behind, so that killHard can reap them instead
// of leaving zombies to an init that may not reap (as in containers).
func becomeSubreaper(t *testing.T) {
	t.Helper()
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Logf("prctl(PR_SET_CHILD_SUBREAPER): %v; killed daemons stay zombies", errno)
		return
	}
	t.Cleanup(func() { syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0) })
}

package smtpd_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// A session that ends in the middle of a BDAT message (QUIT, or a
// hang-up for improper pipelining after NOOP) drops the message: nothing
// is queued and the goroutine that streamed it to the queue ends.
func TestSessionEndDropsOpenBDAT(t *testing.T) {
	for _, end := range []string{"QUIT\r\n", "NOOP\r\nNOOP\r\n"} {
		s := smtptest.NewServer(t, "mynetworks = 127.0.0.0/8\n", nil)
		cl := dial(t, s)
		cl.send("EHLO client.example.test\r\n")
		cl.expect("250 ")
		chunk := strings.Repeat("x", 200<<10) // beyond memLimit: streams
		cl.send(fmt.Sprintf("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nBDAT %d\r\n%s", len(chunk), chunk))
		cl.expect("250 2.1.0")
		cl.expect("250 2.1.5")
		cl.expect("250 2.0.0 Ok: ")
		cl.send(end)
		cl.c.SetDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := cl.br.ReadString('\n'); err != nil {
				break
			}
		}
		for deadline := time.Now().Add(10 * time.Second); streaming(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after %q the message's queue goroutine still runs", end)
			}
		}
		if n := len(s.Queue.Messages()); n != 0 {
			t.Errorf("after %q: %d messages queued", end, n)
		}
	}
}

// streaming reports whether some message still streams to a queue.
func streaming() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "smtpd.(*message).stream")
}

package smtpd_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -][^\r\n]*\r\n$`)

// FuzzSession feeds arbitrary client input to a real session: it must
// never panic or hang, every reply line must be well formed, and every
// queued message must have been answered with "queued as".
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@mx.example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
		"HELO x\nMAIL FROM:<>\nRCPT TO:<\"a b\"@mx.example.test> NOTIFY=NEVER\nBDAT 3 LAST\nabcQUIT\r\n",
		"MAIL FROM:<a@b> SIZE=9999999999999999999999\r\nRCPT TO:<@x,@y:u@mx.example.test> ORCPT=rfc822;u+2Bx@y\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.test> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<ü@mx.example.test>\r\nDATA\r\n\n.\n.\r\n",
		"BDAT 99999999999\r\n", "Subject: x\r\n", "\x00\xff\r\n", strings.Repeat("x", 3000) + "\r\nNOOP\r\n",
	} {
		f.Add(seed)
	}
	s := smtptest.NewServer(f, "mynetworks = 127.0.0.0/8\nsmtpd_timeout = 2s\nsmtpd_error_sleep_time = 0\n", nil)
	f.Fuzz(func(t *testing.T, input string) {
		before := len(s.Queue.Messages())
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.SMTP.ServeConn(context.Background(), server); close(done) }()
		go func() { io.WriteString(client, input); io.WriteString(client, "\r\n.\r\nQUIT\r\n") }()
		client.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(client)
		queued := 0
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				break
			}
			if !replyLine.MatchString(l) {
				t.Fatalf("malformed reply %q", l)
			}
			if strings.Contains(l, " queued as ") && strings.HasPrefix(l, "250 2.0.0 Ok: ") {
				queued++
			}
		}
		client.Close()
		<-done
		if got := len(s.Queue.Messages()) - before; got != queued {
			t.Fatalf("%d messages queued, %d acknowledged", got, queued)
		}
	})
}

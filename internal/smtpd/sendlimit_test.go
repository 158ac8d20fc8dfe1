package smtpd_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

const sendLimitCf = authCf + "smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination\n" +
	"mynetworks = 127.0.0.2/32\n" +
	"sender_rate_limit_maps = inline:{ alice=25/1h, { example.org = 2/h 3rcpt/h } }\n"

// sendLimitSession authenticates as alice and tries to send msgs
// messages, counting those accepted and those deferred at MAIL.
func sendLimitSession(addr string, msgs int) (accepted, deferred int, err error) {
	c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	read := func() (string, error) {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return "", err
			}
			if len(l) < 4 || l[3] != '-' {
				return l, nil
			}
		}
	}
	cmd := func(line, want string) (string, error) {
		if line != "" {
			if _, err := c.Write([]byte(line + "\r\n")); err != nil {
				return "", err
			}
		}
		r, err := read()
		if err == nil && !strings.HasPrefix(r, want) {
			err = fmt.Errorf("%q: got %q, want %q", line, r, want)
		}
		return r, err
	}
	for _, s := range [][2]string{{"", "220 "}, {"EHLO laptop.example", "250 "}, {"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "235 "}} {
		if _, err := cmd(s[0], s[1]); err != nil {
			return 0, 0, err
		}
	}
	for i := 0; i < msgs; i++ {
		r, err := cmd("MAIL FROM:<alice@example.com>", "")
		if err != nil {
			return accepted, deferred, err
		}
		if strings.HasPrefix(r, "450 4.7.1 <alice@example.com>: Sender address rejected: message rate limit exceeded") {
			deferred++
			continue
		}
		for _, s := range [][2]string{{"RCPT TO:<bob@far.example>", "250 "}, {"DATA", "354 "}, {"Subject: x\r\n\r\nhi\r\n.", "250 "}} {
			if _, err := cmd(s[0], s[1]); err != nil {
				return accepted, deferred, fmt.Errorf("after MAIL %q: %w", r, err)
			}
		}
		accepted++
	}
	_, err = cmd("QUIT", "221 ")
	return accepted, deferred, err
}

// sender_rate_limit_maps: 20 parallel sessions of one SASL user, 3
// messages each, against a limit of 25 per hour: exactly 25 are
// accepted and queued, the other 35 deferred at MAIL with 4.7.1.
func TestSendLimitParallelSASLUser(t *testing.T) {
	s := smtptest.NewServerWith(t, sendLimitCf, smtptest.Options{SASL: smtpd.NewFakeSASL()})
	var mu sync.Mutex
	var wg sync.WaitGroup
	accepted, deferred := 0, 0
	var errs []error
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, d, err := sendLimitSession(s.Addr, 3)
			mu.Lock()
			defer mu.Unlock()
			accepted, deferred = accepted+a, deferred+d
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if accepted != 25 || deferred != 35 {
		t.Fatalf("accepted %d, deferred %d; want 25 and 35", accepted, deferred)
	}
	if n := len(s.Queue.Messages()); n != 25 {
		t.Fatalf("%d messages queued, want 25", n)
	}
	waitLog(t, s, "message rate limit exceeded for alice: 25/1h from unknown[127.0.0.1]")
}

// A $mynetworks client is counted by sender domain: messages and
// recipients; a client neither authenticated nor in $mynetworks (mail
// to us) is not counted at all.
func TestSendLimitSenderDomain(t *testing.T) {
	s := smtptest.NewServerWith(t, sendLimitCf, smtptest.Options{SASL: smtpd.NewFakeSASL()})
	cl, _ := dialFrom(t, s, "127.0.0.2")
	cl.cmd("EHLO relay.example", "250 ")
	cl.cmd("MAIL FROM:<a@Example.ORG>", "250 ")
	cl.cmd("RCPT TO:<x@far.example>", "250 ")
	cl.cmd("RCPT TO:<y@far.example>", "250 ")
	cl.cmd("RCPT TO:<z@far.example>", "250 ")
	cl.cmd("RCPT TO:<w@far.example>", "450 4.7.1 <w@far.example>: Recipient address rejected: recipient rate limit exceeded\r")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<b@example.org>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<c@example.org>", "450 4.7.1 <c@example.org>: Sender address rejected: message rate limit exceeded\r")
	cl.cmd("MAIL FROM:<c@other.example>", "250 ") // not in the table
	waitLog(t, s, "reject: MAIL from unknown[127.0.0.2]: 450 4.7.1 <c@example.org>: Sender address rejected: message rate limit exceeded; from=<c@example.org> proto=ESMTP helo=<relay.example>")
	in, _ := dialFrom(t, s, "127.0.0.3")
	in.cmd("EHLO outside.example", "250 ")
	for i := 0; i < 4; i++ {
		in.cmd("MAIL FROM:<d@example.org>", "250 ")
		in.cmd("RCPT TO:<postmaster@mx.example.test>", "250 ")
		in.cmd("RSET", "250 ")
	}
}

// A value that is no rule list defers the mail (and says why in the
// log) rather than letting it through unlimited.
func TestSendLimitBadValue(t *testing.T) {
	s := smtptest.NewServerWith(t, authCf+"sender_rate_limit_maps = inline:{ alice=lots }\n", smtptest.Options{SASL: smtpd.NewFakeSASL()})
	cl := dial(t, s)
	cl.cmd("EHLO laptop.example", "250 ")
	cl.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "235 ")
	cl.cmd("MAIL FROM:<alice@example.com>", "451 4.3.0 <alice@example.com>: Temporary lookup failure\r")
	waitLog(t, s, `sender_rate_limit_maps: inline:{ alice=lots }: key "alice": sendlimit: rule "lots"`)
}

// A $mynetworks client cannot escape its limits by choosing the sender
// (review 16, 2): the null sender is counted under <>, a domain the
// table does not name under the catch-all *, one budget shared by all
// such senders; a client:ADDR entry counts that client whatever the
// sender.
func TestSendLimitChosenSender(t *testing.T) {
	cf := authCf + "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n" +
		"mynetworks = 127.0.0.2/32, 127.0.0.4/32\n" +
		"sender_rate_limit_maps = inline:{ { example.org = 2/h 3rcpt/h }, { <> = 2/h }, { * = 3/h 4rcpt/h }, { client:127.0.0.4 = 1/h } }\n"
	s := smtptest.NewServerWith(t, cf, smtptest.Options{SASL: smtpd.NewFakeSASL()})
	cl, _ := dialFrom(t, s, "127.0.0.2")
	cl.cmd("EHLO relay.example", "250 ")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<a@example.org>", "450 4.7.1 <a@example.org>: Sender address rejected: message rate limit exceeded\r")
	for i := 0; i < 2; i++ {
		cl.cmd("MAIL FROM:<>", "250 ")
		cl.cmd("RSET", "250 ")
	}
	cl.cmd("MAIL FROM:<>", "450 4.7.1 <>: Sender address rejected: message rate limit exceeded\r")
	waitLog(t, s, "message rate limit exceeded for <>: 2/1h from unknown[127.0.0.2]")
	cl.cmd("MAIL FROM:<x@one.example>", "250 ")
	for _, r := range []string{"a", "b", "c", "d"} {
		cl.cmd("RCPT TO:<"+r+"@far.example>", "250 ")
	}
	cl.cmd("RCPT TO:<e@far.example>", "450 4.7.1 <e@far.example>: Recipient address rejected: recipient rate limit exceeded\r")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<x@two.example>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<x@three.example>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<x@four.example>", "450 4.7.1 <x@four.example>: Sender address rejected: message rate limit exceeded\r")
	waitLog(t, s, "message rate limit exceeded for *: 3/1h from unknown[127.0.0.2]")

	other, _ := dialFrom(t, s, "127.0.0.4")
	other.cmd("EHLO web.example", "250 ")
	other.cmd("MAIL FROM:<>", "250 ")
	other.cmd("RSET", "250 ")
	other.cmd("MAIL FROM:<b@elsewhere.example>", "450 4.7.1 <b@elsewhere.example>: Sender address rejected: message rate limit exceeded\r")
	waitLog(t, s, "message rate limit exceeded for client:127.0.0.4: 1/1h from unknown[127.0.0.4]")
}

// Package smtpd is postern's SMTP server. Until the ESMTP session of the
// next milestone lands, it answers every connection with the greeting and
// a 421, so that listeners can be tested end to end.
package smtpd

import (
	"bufio"
	"io"
	"net"
	"strings"
	"time"
)

// Placeholder greets the client, reads one command and answers QUIT with
// 221 and anything else with 421: the server never pretends to accept mail.
func Placeholder(c net.Conn, banner string, timeout time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "220 "+banner+"\r\n"); err != nil {
		return
	}
	line, err := bufio.NewReader(io.LimitReader(c, 2048)).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	if strings.EqualFold(strings.TrimSpace(line), "QUIT") {
		io.WriteString(c, "221 2.0.0 Bye\r\n")
		return
	}
	io.WriteString(c, "421 4.3.2 Service not yet available: this postern has no SMTP server yet\r\n")
}

package postscreen

import (
	"bufio"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// enforce talks SMTP with a client that failed an enforced test: it
// greets, accepts HELO/EHLO and MAIL, and answers every RCPT with
// reply, logging the helo/sender/recipient as Postfix's NOQUEUE lines,
// so the sender learns why (Postfix's postscreen_smtpd.c engine, without
// its deep protocol tests).
func (s *session) enforce(c *replayConn, client netip.AddrPort, reply string) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 2048)
	write := func(line string) bool {
		c.SetWriteDeadline(time.Now().Add(s.Config.Timeout))
		_, err := c.Write([]byte(line + "\r\n"))
		return err == nil
	}
	// Postfix sends no 220 to a client that pregreeted: it answers
	// what the client said.
	if len(c.pending) == 0 && !write("220 "+s.Config.SMTPBanner) {
		return
	}
	var helo, from, proto = "", "", "SMTP"
	mail := false // MAIL given
	for {
		c.SetReadDeadline(time.Now().Add(s.Config.Timeout))
		line, err := r.ReadString('\n')
		if err != nil {
			s.Log.Info(fmt.Sprintf("DISCONNECT %s", bracket(client)))
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		var answer string
		switch strings.ToUpper(verb) {
		case "EHLO":
			helo, proto, from, mail = strings.TrimSpace(arg), "ESMTP", "", false
			answer = s.Config.EHLOReply
		case "HELO":
			helo, from, mail = strings.TrimSpace(arg), "", false
			answer = "250 " + s.Config.Hostname
		case "MAIL":
			if mail {
				answer = "503 5.5.1 Error: nested MAIL command"
				break
			}
			from, mail = addrArg(arg), true
			answer = "250 2.1.0 Ok"
		case "RCPT":
			if !mail {
				answer = "503 5.5.1 Error: need MAIL command"
				break
			}
			to := addrArg(arg)
			s.Log.Info(fmt.Sprintf("NOQUEUE: reject: RCPT from %s: %s; from=<%s>, to=<%s>, proto=%s, helo=<%s>",
				bracket(client), reply, from, to, proto, helo))
			answer = reply
		case "DATA":
			// Postfix's engine hangs up after this answer.
			s.Log.Info(fmt.Sprintf("DATA without valid RCPT from %s", bracket(client)))
			write("554 5.5.1 Error: no valid recipients")
			s.Log.Info(fmt.Sprintf("DISCONNECT %s", bracket(client)))
			return
		case "RSET":
			from, mail = "", false
			answer = "250 2.0.0 Ok"
		case "NOOP":
			answer = "250 2.0.0 Ok"
		case "QUIT":
			write("221 2.0.0 Bye")
			s.Log.Info(fmt.Sprintf("DISCONNECT %s", bracket(client)))
			return
		default:
			answer = "502 5.5.2 Error: command not recognized"
		}
		if !write(answer) {
			return
		}
	}
}

// addrArg is the address of "FROM:<a> ..." or "TO:<a>".
func addrArg(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	return strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
}

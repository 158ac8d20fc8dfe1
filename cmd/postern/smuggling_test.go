package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// sinkSMTP is the next hop for a relay test: a plain SMTP server (no
// extensions) that records, for each transaction, the MAIL command and
// the DATA stream exactly as it came over the wire.
type sinkSMTP struct {
	port int
	got  chan sinkMessage
}

type sinkMessage struct {
	mail string // the MAIL command line
	data []byte // everything after the 354, up to and including <CR><LF>.<CR><LF>
}

func startSink(t *testing.T) *sinkSMTP {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sinkSMTP{port: ln.Addr().(*net.TCPAddr).Port, got: make(chan sinkMessage, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *sinkSMTP) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprint(c, "220 sink.example ESMTP\r\n")
	var mail string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO", "HELO":
			fmt.Fprint(c, "250 sink.example\r\n")
		case "MAIL":
			mail = strings.TrimRight(line, "\r\n")
			fmt.Fprint(c, "250 2.1.0 Ok\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go ahead\r\n")
			var data []byte
			for !bytes.HasSuffix(data, []byte("\r\n.\r\n")) {
				b, err := br.ReadByte()
				if err != nil {
					return
				}
				data = append(data, b)
			}
			s.got <- sinkMessage{mail, data}
			fmt.Fprint(c, "250 2.0.0 Ok: queued\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 2.0.0 Bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 2.0.0 Ok\r\n")
		}
	}
}

// Outbound SMTP smuggling: a client (outside
// smtpd_forbid_bare_newline_exclusions) hides second messages behind
// non-standard ends of DATA. postern takes one message, and what it
// relays to the next hop holds no <CR> or <LF> outside a <CR><LF> pair
// and no "." line before the real end: the next hop, however it reads
// line ends, sees one message whose text merely mentions the MAIL
// commands.
func TestSmugglingIsNotRelayed(t *testing.T) {
	sink := startSink(t)
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"+
		"smtpd_forbid_bare_newline_exclusions =\nrelayhost = [127.0.0.1]:%d\n", sink.port))
	in.start(t)
	body := "Subject: smuggle\r\n\r\n" +
		"x\n.\r\nMAIL FROM:<evil1@example.test>\r\n" +
		"w\r\n.\rMAIL FROM:<evil2@example.test>\r\n" +
		"v\r.\r\nMAIL FROM:<evil3@example.test>\r\n" +
		"z\r.\rMAIL FROM:<evil4@example.test>\r\n" +
		"y\n.\nMAIL FROM:<evil5@example.test>\r\n"
	if out := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "app@example.test", "rcpt@remote.example", []byte(body)); !out.Queued {
		t.Fatalf("not queued: %+v", out)
	}
	var m sinkMessage
	select {
	case m = <-sink.got:
	case <-time.After(30 * time.Second):
		t.Fatalf("nothing relayed:\n%s", in.maillog(t))
	}
	if m.mail != "MAIL FROM:<app@example.test>" && !strings.HasPrefix(m.mail, "MAIL FROM:<app@example.test> ") {
		t.Errorf("relayed with %q", m.mail)
	}
	data := m.data[:len(m.data)-len(".\r\n")]
	for i, b := range data {
		if b == '\r' && (i+1 == len(data) || data[i+1] != '\n') || b == '\n' && (i == 0 || data[i-1] != '\r') {
			t.Errorf("stray %q at %d of the relayed data: %q", b, i, data)
			break
		}
	}
	for _, l := range strings.Split(string(data), "\r\n") {
		if l == "." {
			t.Errorf("a lone \".\" line before the end of the relayed data: %q", data)
		}
	}
	for i := 1; i <= 5; i++ {
		if !bytes.Contains(data, []byte(fmt.Sprintf("MAIL FROM:<evil%d@example.test>", i))) {
			t.Errorf("evil%d is not in the relayed content: %q", i, data)
		}
	}
	select {
	case extra := <-sink.got:
		t.Errorf("a second message was relayed: %+v", extra)
	default:
	}
	if n := strings.Count(in.maillog(t), ": client=127.0.0.1") + strings.Count(in.maillog(t), ": client=localhost"); n != 1 {
		t.Errorf("%d transactions logged, want 1:\n%s", n, in.maillog(t))
	}
}

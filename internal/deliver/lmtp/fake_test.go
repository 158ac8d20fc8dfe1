package lmtp

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
)

// fakeServer is a scripted LMTP server: per-recipient replies to RCPT
// and to the end of data, optional PIPELINING, a stall after the data.
type fakeServer struct {
	t          *testing.T
	ln         net.Listener
	pipelining bool
	rcptReply  map[string]string // by address; default 250 2.1.5 Ok
	dataReply  map[string]string // by address; default 250 2.0.0 <addr> Saved
	stallData  bool              // never answer the end of data
	dataAlways bool              // 354 to DATA even with no recipient
	extraReply string            // one reply too many after the data
	dataCmd    string            // the reply to DATA instead of 354
	tls        *tls.Config       // offer STARTTLS
	authPlain  string            // offer AUTH PLAIN, accepting "user\x00pass"

	mu        sync.Mutex
	conns     int
	commands  []string
	pipelined bool // RCPT TO arrived before MAIL FROM was answered
	messages  []string
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newFake(t *testing.T, network, addr string) *fakeServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln, pipelining: true, rcptReply: map[string]string{},
		dataReply: map[string]string{}, stop: make(chan struct{})}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		close(f.stop)
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns++
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			go func() { <-f.stop; c.Close() }()
			f.session(c)
		}()
	}
}

func (f *fakeServer) log(cmd string) {
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	f.mu.Unlock()
}

func (f *fakeServer) session(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	inTLS := false
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	reply("220 lmtp.test LMTP ready")
	var rcpts []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inTLS {
			f.log("TLS " + line)
		} else {
			f.log(line)
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case verb == "LHLO":
			ext := []string{"250-lmtp.test", "250-8BITMIME", "250-ENHANCEDSTATUSCODES"}
			if f.tls != nil && !inTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if f.authPlain != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			if f.pipelining {
				ext = append(ext, "250-PIPELINING")
			}
			ext[len(ext)-1] = "250 " + ext[len(ext)-1][4:]
			reply(ext...)
		case verb == "STARTTLS" && f.tls != nil && !inTLS:
			reply("220 2.0.0 Begin TLS negotiation now.")
			tc := tls.Server(c, f.tls)
			if tc.Handshake() != nil {
				return
			}
			inTLS = true
			br, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case verb == "AUTH" && f.authPlain != "":
			b64, _ := strings.CutPrefix(line, "AUTH PLAIN ")
			if dec, err := base64.StdEncoding.DecodeString(b64); err == nil && string(dec) == "\x00"+f.authPlain {
				reply("235 2.7.0 Authentication successful")
			} else {
				reply("535 5.7.8 Authentication failed")
			}
		case verb == "MAIL":
			rcpts = nil
			if br.Buffered() > 0 {
				f.mu.Lock()
				f.pipelined = true
				f.mu.Unlock()
			}
			reply("250 2.1.0 OK")
		case verb == "RCPT":
			addr := strings.TrimSuffix(strings.TrimPrefix(line[len("RCPT TO:"):], "<"), ">")
			r, ok := f.rcptReply[addr]
			if !ok {
				r = "250 2.1.5 OK"
			}
			if r[0] == '2' {
				rcpts = append(rcpts, addr)
			}
			reply(r)
		case verb == "DATA":
			if len(rcpts) == 0 && !f.dataAlways {
				reply("503 5.5.1 No valid recipients")
				continue
			}
			if f.dataCmd != "" {
				reply(f.dataCmd)
				continue
			}
			reply("354 OK")
			var msg strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			f.mu.Lock()
			f.messages = append(f.messages, msg.String())
			f.mu.Unlock()
			if f.stallData {
				<-f.stop
				return
			}
			var out []string
			for _, a := range rcpts {
				r, ok := f.dataReply[a]
				if !ok {
					r = "250 2.0.0 <" + a + "> abc123 Saved"
				}
				out = append(out, r)
			}
			if f.extraReply != "" {
				out = append(out, f.extraReply)
			}
			reply(out...)
		case verb == "RSET":
			rcpts = nil
			reply("250 2.0.0 OK")
		case verb == "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("500 5.5.2 Unknown command")
		}
	}
}

func (f *fakeServer) snapshot() (conns int, commands []string, pipelined bool, messages []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns, append([]string(nil), f.commands...), f.pipelined, append([]string(nil), f.messages...)
}

// Package miltertest is a scripted milter on loopback for tests of the
// MTA side (internal/milter, smtpd_milters, non_smtpd_milters): it
// negotiates version 6, records every event with its macros, and
// answers each as the test's Respond function says.
package miltertest

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/milter"
)

// Event is one command the MTA sent, with the macros sent before it.
type Event struct {
	Cmd    byte
	Data   []byte
	Macros map[string]string
}

// Args splits the event's NUL-terminated strings.
func (e Event) Args() []string {
	var out []string
	for _, s := range bytes.Split(bytes.TrimSuffix(e.Data, []byte{0}), []byte{0}) {
		out = append(out, string(s))
	}
	return out
}

// Hang, as a reply, makes the milter never answer (a timeout).
var Hang = milter.Reply{Cmd: 0}

// Server is the fake milter.
type Server struct {
	// Name is the smtpd_milters entry: "inet:127.0.0.1:PORT".
	Name string
	// Actions and Protocol are the masks of the OPTNEG reply.
	Actions, Protocol uint32
	// Refuse: answer OPTNEG with garbage (a protocol error).
	Refuse bool

	// respond returns the replies to an event (modifications then the
	// verdict, at end of body); nil means continue.
	respond func(e Event) []milter.Reply
	t       testing.TB
	ln      net.Listener
	mu      sync.Mutex
	events  []Event
	conns   []net.Conn
	wg      sync.WaitGroup
	signal  chan struct{}
}

// Start starts a milter on 127.0.0.1; it stops at the test's end.
func Start(t testing.TB, respond func(e Event) []milter.Reply) *Server {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, ln: ln, respond: respond, Actions: milter.ActAll &^ milter.ActSetSymList,
		Name: "inet:127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), signal: make(chan struct{}, 1)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Close stops the milter and its connections.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.serve(c) }()
	}
}

func (s *Server) record(e Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// SetRespond changes how the milter answers (nil: continue).
func (s *Server) SetRespond(f func(e Event) []milter.Reply) {
	s.mu.Lock()
	s.respond = f
	s.mu.Unlock()
}

// Events returns the events so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Cmds returns the commands so far as a string ("OCHM…").
func (s *Server) Cmds() string {
	var b []byte
	for _, e := range s.Events() {
		b = append(b, e.Cmd)
	}
	return string(b)
}

// WaitCmd waits until the command cmd was received and returns it.
func (s *Server) WaitCmd(cmd byte) Event {
	s.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, e := range s.Events() {
			if e.Cmd == cmd {
				return e
			}
		}
		select {
		case <-s.signal:
		case <-deadline:
			s.t.Fatalf("milter: no %q event; got %q", cmd, s.Cmds())
		}
	}
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	macros := map[string]string{}
	for {
		p, err := milter.ReadPacket(c, 0)
		if err != nil {
			return
		}
		switch p.Cmd {
		case milter.CmdMacro:
			if len(p.Data) > 0 {
				f := bytes.Split(bytes.TrimSuffix(p.Data[1:], []byte{0}), []byte{0})
				for i := 0; i+1 < len(f); i += 2 {
					macros[string(f[i])] = string(f[i+1])
				}
			}
			continue
		case milter.CmdOptNeg:
			s.record(Event{Cmd: p.Cmd, Data: p.Data})
			if s.Refuse {
				c.Write(milter.Packet{Cmd: 'X'}.Bytes())
				return
			}
			c.Write(milter.EncodeOptNeg(milter.OptNeg{Version: 6, Actions: s.Actions, Protocol: s.Protocol}).Bytes())
			continue
		}
		e := Event{Cmd: p.Cmd, Data: p.Data, Macros: macros}
		macros = map[string]string{}
		s.record(e)
		switch p.Cmd {
		case milter.CmdAbort:
			continue
		case milter.CmdQuit:
			return
		}
		var rs []milter.Reply
		s.mu.Lock()
		respond := s.respond
		s.mu.Unlock()
		if respond != nil {
			rs = respond(e)
		}
		if len(rs) == 0 {
			rs = []milter.Reply{{Cmd: milter.RepContinue}}
		}
		var out []byte
		for _, r := range rs {
			if r.Cmd == 0 {
				c.Write(out)
				// never answer: wait for the MTA to give up and close
				for {
					if _, err := milter.ReadPacket(c, 0); err != nil {
						return
					}
				}
			}
			out = append(out, milter.EncodeReply(r).Bytes()...)
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

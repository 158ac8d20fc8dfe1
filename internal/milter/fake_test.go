package milter

import (
	"net"
	"sync"
	"testing"
	"time"
)

// fake is the milter end of a test conversation, run by a goroutine.
type fake struct {
	t *testing.T
	c net.Conn
}

// recv reads one packet from the MTA; ok is false at EOF or error.
func (f *fake) recv() (Packet, bool) {
	p, err := ReadPacket(f.c, 0)
	return p, err == nil
}

// expect reads one packet and reports a test error unless its command
// is cmd.
func (f *fake) expect(cmd byte) Packet {
	p, ok := f.recv()
	if !ok {
		f.t.Errorf("fake milter: EOF, want command %q", cmd)
	} else if p.Cmd != cmd {
		f.t.Errorf("fake milter: got command %q (%q), want %q", p.Cmd, p.Data, cmd)
	}
	return p
}

func (f *fake) send(rs ...Reply) {
	for _, r := range rs {
		if _, err := f.c.Write(encodeReply(r).Bytes()); err != nil {
			f.t.Errorf("fake milter: write: %v", err)
		}
	}
}

// raw writes bytes as they are; an MTA that gives up early (a bad
// length) closes before reading them all, so errors are ignored.
func (f *fake) raw(b []byte) { f.c.Write(b) }

// negotiate answers the MTA's OPTNEG with the given masks.
func (f *fake) negotiate(version, actions, protocol uint32) {
	f.expect(CmdOptNeg)
	f.raw(optnegReply(version, actions, protocol).Bytes())
}

// countConn counts SetDeadline calls, to see progress re-arm them.
type countConn struct {
	net.Conn
	mu        sync.Mutex
	deadlines int
}

func (c *countConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines++
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *countConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadlines
}

// startFake starts script as the milter on one end of a pipe and
// returns a Session on the other. The test waits for the script.
func startFake(t *testing.T, script func(f *fake)) *Session {
	t.Helper()
	mta, milter := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer milter.Close()
		script(&fake{t: t, c: milter})
	}()
	t.Cleanup(func() {
		mta.Close()
		<-done
	})
	s := NewSession(mta)
	// a script that waits for a packet never sent fails in seconds
	s.CommandTimeout, s.ContentTimeout = 10*time.Second, 10*time.Second
	return s
}

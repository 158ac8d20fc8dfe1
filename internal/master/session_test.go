package master

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// A connection accepted for a service that a reload removed before its
// session began (the accept loop read the old generation) is closed,
// never served by another service's smtpd: a postscreen service's
// client would otherwise reach main.cf's smtpd unscreened (review16
// finding 10).
func TestSessionOfRemovedServiceIsClosed(t *testing.T) {
	g := &generation{service: map[string]string{}, limits: map[string]serviceLimit{}}
	d := &Daemon{gates: map[string]*gate{}, fdGate: newGate(0), workers: newWorkers(),
		conns: map[net.Conn]struct{}{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d.gen.Store(g)
	server, client := net.Pipe()
	sg := newGate(0)
	d.session(server, "inet:127.0.0.1:25", sg, func() bool { return false })
	client.SetDeadline(time.Now().Add(20 * time.Second)) // a failure guard only
	if n, err := client.Read(make([]byte, 64)); err != io.EOF {
		t.Fatalf("read %d bytes, %v: want the connection closed unserved", n, err)
	}
	d.sessions.Wait()
	if sg.active != 0 || d.fdGate.active != 0 {
		t.Fatalf("slots left taken: service %d, fd %d", sg.active, d.fdGate.active)
	}
}

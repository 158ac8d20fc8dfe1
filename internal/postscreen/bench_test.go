package postscreen

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
)

// addrConn is a connection with addresses and nothing else.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return c.local }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// BenchmarkCheckPassOld: what postscreen costs a cached client (the
// steady state of bench/run -P): the count, the cache lookup and the
// CONNECT and PASS OLD lines in the maillog format.
func BenchmarkCheckPassOld(b *testing.B) {
	scr := &Screen{Config: testConfig()}
	if err := scr.Open(); err != nil {
		b.Fatal(err)
	}
	cache := NewCache()
	cache.Put(netip.MustParseAddr("192.0.2.1"), Record{Pregreet: time.Now().Add(time.Hour)}, time.Now(), time.Hour)
	log := slog.New(maillog.New(io.Discard, "mx", "postern/master", nil))
	c := addrConn{local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}, remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}}
	b.ReportAllocs()
	for b.Loop() {
		if scr.Check(c, cache, log.With("program", "postern/postscreen"), false) == nil {
			b.Fatal("refused")
		}
	}
}

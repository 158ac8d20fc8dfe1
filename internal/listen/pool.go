package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// Options affect how new sockets are opened.
type Options struct {
	// Freebind sets IP_FREEBIND/IPV6_FREEBIND, so an address that is not
	// (yet) configured can be bound (inet_interfaces_freebind).
	Freebind bool
}

// Pool holds the open listening sockets by Key. A reload asks for the new
// plan's sockets: those already open are handed back as they are, only
// new ones are bound, and the ones no longer wanted are closed by Retain.
type Pool struct {
	mu  sync.Mutex
	lns map[string]*net.TCPListener
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{lns: map[string]*net.TCPListener{}} }

// Open makes sure every socket of plan is open and returns the listeners
// it opened now (the others were already open). It is all or nothing: if
// one bind fails, the sockets opened by this call are closed again.
func (p *Pool) Open(plan []Socket, opt Options) (opened map[string]*net.TCPListener, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	opened = map[string]*net.TCPListener{}
	for _, s := range plan {
		if _, ok := p.lns[s.Key()]; ok {
			continue
		}
		ln, err := listen(s, opt)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return nil, err
		}
		opened[s.Key()] = ln
	}
	for k, l := range opened {
		p.lns[k] = l
	}
	return opened, nil
}

// Retain closes every socket whose key is not in plan.
func (p *Pool) Retain(plan []Socket) {
	keep := map[string]bool{}
	for _, s := range plan {
		keep[s.Key()] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.lns {
		if !keep[k] {
			l.Close()
			delete(p.lns, k)
		}
	}
}

// Listener returns the open listener for a key.
func (p *Pool) Listener(key string) (*net.TCPListener, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lns[key]
	return l, ok
}

// Close closes every socket.
func (p *Pool) Close() { p.Retain(nil) }

func listen(s Socket, opt Options) (*net.TCPListener, error) {
	// No TCP keep-alive probes on accepted connections, as Postfix's
	// smtpd: smtpd_timeout ends a session whose client went away, and
	// enabling them costs four system calls per connection.
	lc := net.ListenConfig{KeepAlive: -1}
	if opt.Freebind {
		lc.Control = func(network, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				if network == "tcp6" {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, ipv6Freebind, 1)
				} else {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipFreebind, 1)
				}
			})
			return errors.Join(err, serr)
		}
	}
	// Go sets IPV6_V6ONLY on "tcp6" sockets, so [::]:25 and 0.0.0.0:25
	// are two sockets, as in Postfix; SO_REUSEADDR is set too.
	ln, err := lc.Listen(context.Background(), s.Network(), s.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("service %s: cannot listen on %s: %w", s.Service, s.Addr, unwrapOp(err))
	}
	return ln.(*net.TCPListener), nil
}

// Linux socket options not in package syscall.
const (
	ipFreebind   = 15 // IP_FREEBIND
	ipv6Freebind = 78 // IPV6_FREEBIND
)

// unwrapOp drops net.OpError's repetition of the address.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

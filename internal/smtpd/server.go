package smtpd

import (
	"context"
	"log/slog"
	"net"
	"net/netip"

	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
)

// Server is the SMTP server of one configuration generation.
type Server struct {
	Config *Config
	Policy *policy.Policy
	Queue  queue.Queue
	Log    *slog.Logger
	// LookupClient returns the verified and the reverse (PTR) name of a
	// client (DNSLookupClient, or ClientLookup.Lookup with a resolver of
	// choice); nil means "unknown" for every client (no DNS).
	LookupClient func(ctx context.Context, addr netip.Addr) ClientNames
	// BareNewlineExempt reports clients excluded from
	// smtpd_forbid_bare_newline (default: $mynetworks).
	BareNewlineExempt func(addr netip.Addr) bool
	// StandAlone: sendmail -bs, whose input is a local pipe that may well
	// hold a whole session at once, not a network client. It skips the
	// pipelining checks, as Postfix's stand-alone smtpd does (Postfix
	// applies them when mail_owner itself runs sendmail -bs; we do not).
	StandAlone bool
	// NewID returns the queue ID for a new transaction (default
	// queue.NewID); tests make it predictable.
	NewID func() string
}

func (s *Server) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return queue.NewID()
}

// ServeConn runs one SMTP session on c and closes it.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	ss := newSession(s, c)
	ss.run(ctx)
}

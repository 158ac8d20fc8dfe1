package smtpd

import (
	"context"
	"log/slog"
	"net"
	"net/netip"

	"github.com/postern-mta/postern/internal/anvil"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sendlimit"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// Server is the SMTP server of one configuration generation.
type Server struct {
	Config *Config
	// Stress is Config read with stress = yes (StressConfigFrom): the
	// settings of sessions that begin while the service is at its
	// process limit. Nil means Config for those too.
	Stress *Config
	Policy *policy.Policy
	// StressPolicy is Policy read with stress = yes, for the same
	// sessions as Stress (a ${stress?…} restriction); nil means Policy.
	StressPolicy *policy.Policy
	Queue        queue.Queue
	Log          *slog.Logger
	// LookupClient returns the verified and the reverse (PTR) name of a
	// client (DNSLookupClient, or ClientLookup.Lookup with a resolver of
	// choice); nil means "unknown" for every client (no DNS).
	LookupClient func(ctx context.Context, addr netip.Addr) ClientNames
	// BareNewlineExempt reports clients excluded from
	// smtpd_forbid_bare_newline (default: $mynetworks).
	BareNewlineExempt func(addr netip.Addr) bool
	// Anvil counts each client's sessions and event rates for the
	// per-client limits (anvil.go); nil counts nothing.
	Anvil *anvil.Counter
	// EventLimitExempt reports clients excluded from the per-client
	// limits (smtpd_client_event_limit_exceptions); nil exempts nobody.
	EventLimitExempt func(addr netip.Addr, name string) bool
	// StandAlone: sendmail -bs, whose input is a local pipe that may well
	// hold a whole session at once, not a network client. It skips the
	// pipelining checks, as Postfix's stand-alone smtpd does (Postfix
	// applies them when mail_owner itself runs sendmail -bs; we do not).
	StandAlone bool
	// TLS is the service's TLS configuration (internal/tlsconf): used
	// for STARTTLS, or from the first byte with smtpd_tls_wrappermode;
	// nil offers no TLS.
	TLS *tlsconf.Server
	// SASL checks SMTP AUTH credentials; nil offers no AUTH.
	SASL sasl.Authenticator
	// SendLimit applies sender_rate_limit_maps to the mail of
	// authenticated and $mynetworks clients (sendlimit.go); nil is none.
	SendLimit *sendlimit.Limiter
	// Checks and Sign are content stages (internal/cleanup) run at the
	// end of each message before it is queued, in this order with the
	// session's milters between them: Checks adds Authentication-Results
	// (SPF, DKIM, DMARC: internal/mailauth) and may refuse the message,
	// Sign adds DKIM-Signature (internal/dkim). Nil: none. With no
	// stage at all, content streams to the queue and nothing is held.
	Checks, Sign cleanup.Stage
	// HeaderRewrite is cleanup's rewriting of header addresses
	// (internal/rewrite), first of the stages, for the clients it
	// names; nil: none.
	HeaderRewrite interface {
		For(o cleanup.Origin) cleanup.Stage
	}
	// Milters are the service's smtpd_milters (milter.go); nil: none.
	Milters *Milters
	// SpoolDir is where a message held for the stages overflows to an
	// unlinked temporary file past cleanup.MemLimit (the daemon:
	// queue_directory/tmp, on the queue's file system); "" means
	// os.TempDir.
	SpoolDir string
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

// Conn is what the master knows about a connection it hands over.
type Conn struct {
	// Service is the master.cf service name ("smtp" if empty), which
	// per-client counts and their log lines are kept under.
	Service string
	// Stress: the service is at its process limit; the session uses
	// Server.Stress.
	Stress bool
	// Busy, if set, counts the session while it is not waiting for a
	// command (busy.go).
	Busy Busy
}

// ServeConn runs one SMTP session of service "smtp" on c and closes it.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) { s.Serve(ctx, c, Conn{}) }

// Serve runs one SMTP session on c and closes it.
func (s *Server) Serve(ctx context.Context, c net.Conn, info Conn) {
	defer c.Close()
	if info.Service == "" {
		info.Service = "smtp"
	}
	if info.Stress && s.StressPolicy != nil {
		stressed := *s
		stressed.Policy = s.StressPolicy
		s = &stressed
	}
	ss := newSession(s, c, info)
	ss.run(ctx)
}

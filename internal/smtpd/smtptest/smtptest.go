// Package smtptest runs an SMTP server on loopback for tests, as
// net/http/httptest does for HTTP: the real session code, a configuration
// written as main.cf text, and an in-memory queue to inspect.
package smtptest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postern-mta/postern/internal/anvil"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sendlimit"
	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// Server is a running test server.
type Server struct {
	Addr  string // host:port to dial
	Queue *queue.Memory
	SMTP  *smtpd.Server
	// Anvil counts the sessions of each client, as the daemon's does.
	Anvil  *anvil.Counter
	ln     net.Listener
	wg     sync.WaitGroup
	cancel context.CancelFunc
	log    logBuffer
}

// Base is the configuration every test server starts from: a host name
// of the documentation domain, no DNS, and every local part accepted
// (the default local_recipient_maps would consult this host's users).
const Base = "myhostname = mx.example.test\nmydomain = example.test\nlocal_recipient_maps =\n"

// NewServer starts a server with Base plus mainCf, listening on
// 127.0.0.1 (so clients may dial from any 127.x address). Lookup tables
// open through internal/maps unless open says otherwise.
func NewServer(t testing.TB, mainCf string, open policy.TableOpener) *Server {
	t.Helper()
	return NewServerWith(t, mainCf, Options{Open: open})
}

// Options are NewServerWith's settings beyond main.cf.
type Options struct {
	// Open opens lookup tables; nil means internal/maps.
	Open policy.TableOpener
	// Resolver, if set, answers every DNS lookup of the server: the
	// restrictions' and the client's names (see internal/dnstest).
	// Without it client names are not looked up ("unknown").
	Resolver *net.Resolver
	// Stress serves every session with stress = yes, as the daemon
	// does while the service is at its process limit.
	Stress bool
	// SASL is the AUTH backend (smtpd.Server.SASL); nil offers no AUTH.
	SASL sasl.Authenticator
	// Checks and Sign are content stages (smtpd.Server.Checks, Sign).
	Checks, Sign cleanup.Stage
	// SpoolDir is smtpd.Server.SpoolDir.
	SpoolDir string
	// Busy counts busy sessions (smtpd.Conn.Busy), as the daemon's file
	// descriptor budget does.
	Busy smtpd.Busy
}

// NewServerWith is NewServer with more settings.
func NewServerWith(t testing.TB, mainCf string, opt Options) *Server {
	t.Helper()
	open := opt.Open
	dir := t.TempDir()
	cfg := config.New(dir, config.ParseMain(filepath.Join(dir, "main.cf"), Base+mainCf))
	for _, d := range cfg.Main.Diags {
		if d.Severity == config.Error {
			t.Fatalf("main.cf: %s", d)
		}
	}
	sc, err := smtpd.ConfigFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stress, err := smtpd.StressConfigFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if open == nil {
		open = func(spec string) (policy.Table, error) { return maps.Open(spec) }
	}
	pol, err := policy.New(ctx, cfg, open)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	pol.Resolver = opt.Resolver
	tl, err := tlsconf.New(cfg) // as the daemon: a certificate in main.cf offers TLS
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &Server{Queue: &queue.Memory{}, ln: ln, cancel: cancel, Anvil: anvil.New(),
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))}
	var ids atomic.Int64 // predictable queue IDs: 0000000001, …
	s.SMTP = &smtpd.Server{Config: sc, Stress: stress, Policy: pol, Queue: s.Queue, BareNewlineExempt: pol.BareNewlineExempt,
		Anvil: s.Anvil, EventLimitExempt: pol.EventLimitExempt, TLS: tl,
		NewID: func() string { return fmt.Sprintf("%010X", ids.Add(1)) },
		Log:   slog.New(&s.log), SASL: opt.SASL, Checks: opt.Checks, Sign: opt.Sign, SpoolDir: opt.SpoolDir}
	pol.Warn = func(m string) { s.SMTP.Log.Warn(m) } // as the daemon wires it
	if s.SMTP.SendLimit, err = sendlimit.New(cfg, func(spec string) (sendlimit.Table, error) { return open(spec) }, &sendlimit.Counter{}); err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	if s.SMTP.Milters, err = smtpd.MiltersFrom(cfg); err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	if opt.Resolver != nil {
		s.SMTP.LookupClient = smtpd.ClientLookup{Resolver: opt.Resolver}.Lookup
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.SMTP.Serve(ctx, c, smtpd.Conn{Stress: opt.Stress, Busy: opt.Busy}) }()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Logged returns the server's log so far, one message per line.
func (s *Server) Logged() string { return s.log.String() }

// logBuffer keeps log messages for Logged.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (l *logBuffer) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logBuffer) WithGroup(string) slog.Handler            { return l }
func (l *logBuffer) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(r.Message + "\n")
	return nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Close stops the server and waits for its sessions.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

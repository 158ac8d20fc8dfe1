// Package smtptest runs an SMTP server on loopback for tests, as
// net/http/httptest does for HTTP: the real session code, a configuration
// written as main.cf text, and an in-memory queue to inspect.
package smtptest

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd"
)

// Server is a running test server.
type Server struct {
	Addr   string // host:port to dial
	Queue  *queue.Memory
	SMTP   *smtpd.Server
	ln     net.Listener
	wg     sync.WaitGroup
	cancel context.CancelFunc
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
	ctx, cancel := context.WithCancel(context.Background())
	if open == nil {
		open = func(spec string) (policy.Table, error) { return maps.Open(spec) }
	}
	pol, err := policy.New(ctx, cfg, open)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &Server{Queue: &queue.Memory{}, ln: ln, cancel: cancel,
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))}
	s.SMTP = &smtpd.Server{Config: sc, Policy: pol, Queue: s.Queue, BareNewlineExempt: pol.BareNewlineExempt}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.SMTP.ServeConn(ctx, c) }()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its sessions.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

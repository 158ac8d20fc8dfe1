package master

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mailauth"
	"github.com/postern-mta/postern/internal/queue"
)

// The checks are on by default (the header only); an empty
// smtpd_authentication_checks turns them off.
func TestNewChecks(t *testing.T) {
	for _, tc := range []struct {
		main string
		on   bool
	}{
		{"", true},
		{"smtpd_authentication_checks = spf\n", true},
		{"smtpd_authentication_checks =\n", false},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.test\n"+tc.main), 0o644)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		st, err := newChecks(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%q: %v", tc.main, err)
		}
		if _, ok := st.(*mailauth.Checker); ok != tc.on || (st != nil) != tc.on {
			t.Errorf("%q: stage %T, want checks %v", tc.main, st, tc.on)
		}
	}
}

// Local submissions lose forged Authentication-Results with our
// authserv-id in their first stage when the checks are on.
func TestPickupForgeryFilter(t *testing.T) {
	const forged = "Authentication-Results: MX.example.test; dkim=pass header.d=bank.test\r\n"
	for _, tc := range []struct {
		main string
		on   bool
	}{
		{"", true},
		{"smtpd_authentication_checks =\n", false},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.test\n"+tc.main), 0o644)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		stages, err := pickupStages(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (len(stages) > 0) != tc.on {
			t.Fatalf("%q: %d stages, want the filter %v", tc.main, len(stages), tc.on)
		}
		if !tc.on {
			continue
		}
		sp := cleanup.NewSpool(dir)
		sp.Write([]byte(forged + "From: a@example.test\r\n\r\nbody\r\n"))
		m, err := cleanup.NewMessage(&queue.Envelope{}, cleanup.Origin{Local: true}, sp)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if v := stages[0].Apply(context.Background(), m); v.Action != cleanup.Continue {
			t.Fatalf("verdict %+v", v)
		}
		if _, ok := m.Header.Get("Authentication-Results"); ok {
			t.Errorf("%q: forged Authentication-Results kept", tc.main)
		}
	}
}

package master

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mailauth"
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

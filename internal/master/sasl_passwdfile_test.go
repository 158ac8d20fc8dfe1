package master

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
)

// smtpd_sasl_type = passwd-file opens the file smtpd_sasl_path names,
// relative to config_directory or absolute; a missing or bad file is an
// error naming it (start and reload refuse the configuration).
func TestPasswdFileAuthenticator(t *testing.T) {
	const hash = "{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16" // "secret"
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs-users")
	os.WriteFile(filepath.Join(dir, "users"), []byte("alice:"+hash+"\n"), 0o640)
	os.WriteFile(abs, []byte("bob:"+hash+"\n"), 0o640)
	os.WriteFile(filepath.Join(dir, "bad"), []byte("bob:{PLAIN}x\n"), 0o640)
	tests := []struct {
		main, user, err string
	}{
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = users\n", "alice", ""},
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = " + abs + "\n", "bob", ""},
		{"smtpd_sasl_auth_enable = no\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = missing\n", "", ""},
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = missing\n", "", dir + "/missing: no such file"},
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = bad\n", "", dir + "/bad, line 1: user bob: unsupported password scheme {PLAIN}"},
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path =\n", "", "needs smtpd_sasl_path"},
		{"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = smtpd\n", "", "needs smtpd_sasl_path"},
	}
	for _, tt := range tests {
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte(tt.main), 0o644)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newAuthenticator(cfg)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.main, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.main, err)
		}
		if tt.user == "" {
			if a != nil {
				t.Errorf("%q: a backend while AUTH is off", tt.main)
			}
			continue
		}
		x, err := a.Start(context.Background(), "PLAIN", sasl.Client{}, []byte("\x00"+tt.user+"\x00secret"))
		if err != nil {
			t.Fatal(err)
		}
		if st, err := x.Next(context.Background(), nil); err != nil || st.User != tt.user {
			t.Errorf("%q: %+v %v", tt.main, st, err)
		}
	}
}

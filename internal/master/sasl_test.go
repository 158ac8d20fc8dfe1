package master

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl/dovecot"
)

func TestNewAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
		backend  string // the Dovecot client's socket; "" for none
		err      string
	}{
		{"AUTH off by default", nil, "", ""},
		{"AUTH off, dovecot chosen", map[string]string{"smtpd_sasl_type": "dovecot", "smtpd_sasl_auth_enable": "no"}, "", ""},
		{"cyrus refused", map[string]string{"smtpd_sasl_auth_enable": "yes"}, "", "no Cyrus SASL"},
		{"dovecot relative to the queue", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": "private/auth"}, "/q/private/auth", ""},
		{"dovecot unix:", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": "unix:/run/dovecot/auth-client"}, "/run/dovecot/auth-client", ""},
		{"dovecot inet:", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": "inet:127.0.0.1:12345"}, "inet:127.0.0.1:12345", ""},
		{"dovecot bad inet:", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": "inet:127.0.0.1"}, "", "smtpd_sasl_path"},
		{"passwd-file without a file", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "passwd-file"}, "", "needs smtpd_sasl_path"},
		{"unknown type", map[string]string{"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "sql"}, "", "unknown SASL type"},
		{"bad boolean", map[string]string{"smtpd_sasl_auth_enable": "maybe"}, "", "smtpd_sasl_auth_enable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.New(t.TempDir(), nil).With("queue_directory", "/q")
			for k, v := range tc.settings {
				cfg = cfg.With(k, v)
			}
			a, err := newAuthenticator(cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", a, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.backend == "" {
				if a != nil {
					t.Fatalf("got %v, want no backend", a)
				}
				return
			}
			c, ok := a.(*dovecot.Client)
			if !ok || c.String() != tc.backend || c.Service != "smtp" {
				t.Fatalf("got %#v, want the Dovecot client of %s", a, tc.backend)
			}
			c.Close()
		})
	}
}

func TestNewAuthenticatorService(t *testing.T) {
	cfg := config.New(t.TempDir(), nil).With("smtpd_sasl_auth_enable", "yes").
		With("smtpd_sasl_type", "dovecot").With("smtpd_sasl_service", "submission")
	a, err := newAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if c := a.(*dovecot.Client); c.Service != "submission" || !strings.HasSuffix(c.String(), "/smtpd") {
		t.Errorf("service %q, socket %s", c.Service, c)
	}
}

// Package passwdfile is postern's built-in SMTP AUTH backend
// (smtpd_sasl_type = passwd-file): PLAIN and LOGIN checked against a
// Dovecot-compatible passwd-file (internal/passwd), for sites without
// Dovecot. The file reloads itself when it changes.
package passwdfile

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/passwd"
	"github.com/postern-mta/postern/internal/sasl"
)

// Type is the smtpd_sasl_type value that selects this backend.
const Type = "passwd-file"

// mechanisms are PLAIN and LOGIN with Dovecot's flags for them: both
// send the password in the clear (MECH_SEC_PLAINTEXT), nothing else.
var mechanisms = []sasl.Mechanism{
	{Name: "PLAIN", Plaintext: true},
	{Name: "LOGIN", Plaintext: true},
}

// Path is the passwd-file: smtpd_sasl_path, absolute or relative to
// config_directory.
func Path(cfg *config.Config) (string, error) {
	path, err := cfg.Get("smtpd_sasl_path")
	if err != nil {
		return "", err
	}
	// "smtpd" is Postfix's default, Cyrus' application name: unset.
	if path == "" || path == "smtpd" {
		return "", fmt.Errorf("smtpd_sasl_type = %s needs smtpd_sasl_path, the passwd-file (e.g. /etc/postern/users)", Type)
	}
	if !filepath.IsAbs(path) {
		dir, err := cfg.Get("config_directory")
		if err != nil {
			return "", err
		}
		path = filepath.Join(dir, path)
	}
	return path, nil
}

// Authenticator is the backend.
type Authenticator struct {
	db *passwd.DB
}

// New opens the passwd-file at path (an absolute path): an unreadable
// or bad file is an error. Reload failures go to log (nil:
// slog.Default()).
func New(path string, log *slog.Logger) (*Authenticator, error) {
	db, err := passwd.Open(path, log)
	if err != nil {
		return nil, fmt.Errorf("smtpd_sasl_path: %w", err)
	}
	return &Authenticator{db: db}, nil
}

// SetLog sends reload failures to log.
func (a *Authenticator) SetLog(log *slog.Logger) { a.db.SetLog(log) }

// Mechanisms lists PLAIN and LOGIN.
func (a *Authenticator) Mechanisms(context.Context) ([]sasl.Mechanism, error) {
	return append([]sasl.Mechanism(nil), mechanisms...), nil
}

// Start begins a PLAIN or LOGIN exchange.
func (a *Authenticator) Start(_ context.Context, mech string, c sasl.Client, initial []byte) (sasl.Exchange, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlain(a, c, initial), nil
	case "LOGIN":
		return sasl.NewLogin(a, c, initial), nil
	}
	return nil, fmt.Errorf("passwd-file: unsupported mechanism %q", mech)
}

// CheckPassword verifies user's password against the file
// (sasl.PasswordChecker).
func (a *Authenticator) CheckPassword(ctx context.Context, c sasl.Client, user, password string) (sasl.Step, error) {
	r, err := a.db.Verify(ctx, user, password, c.RemoteAddr.Addr())
	if err != nil {
		return sasl.Step{}, err
	}
	if !r.OK {
		return sasl.Step{Done: true, Reason: r.Reason}, nil
	}
	return sasl.Step{Done: true, User: r.User}, nil
}

// Close does nothing: the file is read on use.
func (a *Authenticator) Close() error { return nil }

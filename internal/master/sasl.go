package master

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

// newAuthenticator opens the SMTP AUTH backend smtpd_sasl_type names
// (dovecot, or postern's built-in passwd-file); nil when AUTH is off.
func newAuthenticator(cfg *config.Config) (sasl.Authenticator, error) {
	if on, _ := cfg.Bool("smtpd_sasl_auth_enable"); !on {
		return nil, nil
	}
	typ, err := cfg.Get("smtpd_sasl_type")
	if err != nil {
		return nil, err
	}
	switch typ {
	case passwdfile.Type:
		return newPasswdFile(cfg)
	}
	return nil, nil
}

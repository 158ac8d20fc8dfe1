package master

import (
	"fmt"

	"github.com/postern-mta/postern/internal/check"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sasl/dovecot"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

// newAuthenticator opens the SMTP AUTH backend smtpd_sasl_type names
// (dovecot, or postern's built-in passwd-file); nil when AUTH is off.
// Nothing connects here: the Dovecot client dials on first use, so
// Dovecot may start after postern.
func newAuthenticator(cfg *config.Config) (sasl.Authenticator, error) {
	on, err := check.SASLAuthEnabled(cfg)
	if err != nil || !on {
		return nil, err
	}
	typ, err := cfg.Get("smtpd_sasl_type")
	if err != nil {
		return nil, err
	}
	switch typ {
	case "dovecot":
		path, err := cfg.Get("smtpd_sasl_path")
		if err != nil {
			return nil, err
		}
		queue, err := cfg.Get("queue_directory")
		if err != nil {
			return nil, err
		}
		service, err := cfg.Get("smtpd_sasl_service")
		if err != nil {
			return nil, err
		}
		network, address, err := dovecot.ParsePath(path, queue)
		if err != nil {
			return nil, fmt.Errorf("parameter smtpd_sasl_path: %w", err)
		}
		return dovecot.New(network, address, service), nil
	case passwdfile.Type:
		return newPasswdFile(cfg)
	case "cyrus":
		return nil, fmt.Errorf("parameter smtpd_sasl_type: %s", check.NoCyrus)
	}
	return nil, fmt.Errorf("parameter smtpd_sasl_type: unknown SASL type %q", typ)
}

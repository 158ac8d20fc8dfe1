package master

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

// newPasswdFile opens the built-in backend, smtpd_sasl_type =
// passwd-file: smtpd_sasl_path names the file, absolute or relative to
// config_directory. Each generation and each -o smtpd_sasl_path opens
// its own; the hashing they may run at once is bounded for the process
// (internal/passwd).
func newPasswdFile(cfg *config.Config) (sasl.Authenticator, error) {
	path, err := passwdfile.Path(cfg)
	if err != nil {
		return nil, err
	}
	return passwdfile.New(path, nil)
}

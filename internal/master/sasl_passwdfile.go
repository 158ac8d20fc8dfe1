package master

import (
	"fmt"
	"path/filepath"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

// newPasswdFile opens the built-in backend, smtpd_sasl_type =
// passwd-file: smtpd_sasl_path names the file, absolute or relative to
// config_directory.
func newPasswdFile(cfg *config.Config) (sasl.Authenticator, error) {
	path, err := PasswdFilePath(cfg)
	if err != nil {
		return nil, err
	}
	return passwdfile.New(path, nil)
}

// PasswdFilePath is the passwd-file of smtpd_sasl_type = passwd-file.
func PasswdFilePath(cfg *config.Config) (string, error) {
	path, err := cfg.Get("smtpd_sasl_path")
	if err != nil {
		return "", err
	}
	if path == "" {
		return "", fmt.Errorf("smtpd_sasl_type = %s needs smtpd_sasl_path, the passwd-file", passwdfile.Type)
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

package master

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/dkimsign"
	"github.com/postern-mta/postern/internal/maps"
)

// newSigner returns the DKIM signing stage of cfg (dkim_signing_maps,
// dkim_key_directory), nil when no signing is configured. Its keys are
// loaded now, once per configuration generation; a bad entry or key
// refuses the configuration (start, reload), as `postern check` does.
func newSigner(cfg *config.Config) (cleanup.Stage, error) {
	specs, err := cfg.List("dkim_signing_maps")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	keyDir, err := DKIMKeyDirectory(cfg)
	if err != nil {
		return nil, err
	}
	tables, err := DKIMSigningTables(cfg)
	if err != nil {
		return nil, err
	}
	s, err := dkimsign.New(tables, keyDir)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DKIMKeyDirectory is dkim_key_directory, which must be absolute.
func DKIMKeyDirectory(cfg *config.Config) (string, error) {
	dir, err := cfg.Get("dkim_key_directory")
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("dkim_key_directory = %s: must be an absolute path", dir)
	}
	return dir, nil
}

// setStageLogs gives the generation's content stages that log (the
// signer: "DKIM-Signature field added") the postern/cleanup logger, as
// Postfix's cleanup logs what its milters did.
func setStageLogs(g *generation, log *slog.Logger) {
	stages := append([]cleanup.Stage(nil), g.pickupStages...)
	for _, srv := range g.distinctServers() {
		stages = append(stages, srv.Checks, srv.Sign)
	}
	for _, s := range stages {
		if l, ok := s.(interface{ SetLog(*slog.Logger) }); ok {
			l.SetLog(log)
		}
	}
}

// DKIMSigningTables opens the tables of dkim_signing_maps (also for
// postern dkim).
func DKIMSigningTables(cfg *config.Config) ([]maps.Table, error) {
	specs, err := cfg.List("dkim_signing_maps")
	if err != nil {
		return nil, err
	}
	var tables []maps.Table
	for _, spec := range specs {
		t, err := maps.Open(spec)
		if err != nil {
			return nil, fmt.Errorf("dkim_signing_maps: %w", err)
		}
		tables = append(tables, t)
	}
	return tables, nil
}

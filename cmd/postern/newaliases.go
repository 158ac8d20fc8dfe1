package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/config"
)

// runNewaliases is newaliases(1) (postalias $alias_database): it builds
// the indexed file of every alias database, atomically.
func runNewaliases(args []string, _, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("newaliases", stderr)
	if fs.Parse(args) != nil {
		return 64
	}
	cfg, err := config.Load(configDir(*dirFlag))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	specs, err := cfg.List("alias_database")
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	for _, spec := range specs {
		typ, path, _ := strings.Cut(spec, ":")
		switch typ {
		case "hash", "btree", "lmdb", "cdb":
		default:
			return fatalf(stderr, "alias_database %s: unsupported table type %q (use hash: or cdb:)", spec, typ)
		}
		warnings, err := aliases.Build(path)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "newaliases: warning: %s\n", w)
		}
		if err != nil {
			return fatalf(stderr, "%s: %v", spec, err)
		}
	}
	return 0
}

package main

import (
	"flag"
	"io"

	"github.com/postern-mta/postern/internal/check"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/master"
)

// runCheck validates the configuration: exit 1 if it has errors.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("postern check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("c", "", "configuration `directory` (default $POSTERN_CONFIG_DIR or /etc/postern)")
	verbose := fs.Bool("v", false, "also show how inet_interfaces and mynetworks resolve")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rep := check.Run(config.Dir(*dir), check.Options{SessionBudget: master.SessionBudget})
	rep.Write(stdout, *verbose)
	if rep.Errors() > 0 {
		return 1
	}
	return 0
}

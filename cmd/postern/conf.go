package main

import (
	"fmt"
	"io"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/postconf"
)

func runConf(args []string, stdout, stderr io.Writer) int {
	return postconf.Run(args, postconf.Env{Stdout: stdout, Stderr: stderr, Prog: "postern"})
}

func runVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "postern %s\n", config.Version)
	return 0
}

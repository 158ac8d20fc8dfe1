package main

import (
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/postern-mta/postern/internal/master"
)

// runAgent is the hidden "local-agent" command: the root process the
// daemon starts for local delivery, talking to it on fd 3.
func runAgent(args []string, _, stderr io.Writer) int {
	fs, dirFlag := daemonFlags(master.AgentCommand, stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	morePs()
	log := slog.New(newLogHandler(stderr, configDir(*dirFlag), "postern/local"))
	f := os.NewFile(3, "daemon")
	if f == nil {
		return fatalf(stderr, "%s: no connection to the daemon on fd 3", master.AgentCommand)
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fatalf(stderr, "%s: %v", master.AgentCommand, err)
	}
	if err := master.RunAgent(configDir(*dirFlag), conn, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

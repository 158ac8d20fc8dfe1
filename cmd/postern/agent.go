package main

import (
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/supervise"
)

// runAgent is the hidden "local-agent" command, started by a daemon
// started as root: without -worker the supervisor, which starts the
// agent process (-worker) and restarts it when it exits; both talk to
// the daemon on fd 3 (internal/supervise).
func runAgent(args []string, _, stderr io.Writer) int {
	fs, dirFlag := daemonFlags(master.AgentCommand, stderr)
	worker := fs.Bool("worker", false, "be the agent process, not its supervisor")
	if fs.Parse(args) != nil {
		return 2
	}
	program := "postern/local"
	if !*worker {
		program = "postern/master"
	}
	log := slog.New(newLogHandler(stderr, configDir(*dirFlag), program))
	f := os.NewFile(3, "daemon")
	if f == nil {
		return fatalf(stderr, "%s: no connection to the daemon on fd 3", master.AgentCommand)
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fatalf(stderr, "%s: %v", master.AgentCommand, err)
	}
	supervise.HoldSignals() // the daemon decides when they end
	if !*worker {
		ctl, ok := conn.(*net.UnixConn)
		if !ok {
			return fatalf(stderr, "%s: fd 3 is not a unix socket", master.AgentCommand)
		}
		if err := master.RunSupervisor(configDir(*dirFlag), ctl); err != nil {
			log.Error(err.Error())
			return 1
		}
		return 0
	}
	morePs()
	if err := master.RunAgent(configDir(*dirFlag), conn, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

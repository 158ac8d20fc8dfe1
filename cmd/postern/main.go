// Command postern is the postern mail server: one binary that is the
// daemon, its administration commands, and — by the name it is called
// under — the sendmail, mailq and newaliases commands.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/postern-mta/postern/internal/master"
	_ "github.com/postern-mta/postern/internal/sqlmap" // pgsql:, mysql:, sqlite: tables for every command
)

// command is one subcommand of postern.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"start", "start the mail system in the background (-f: foreground)", runStart},
		{"start-fg", "run the mail system in the foreground (systemd, containers)", runStartFG},
		{"stop", "stop accepting mail, let sessions finish (-t SECONDS), exit", runStop},
		{"abort", "stop at once", runAbort},
		{"reload", "re-read the configuration; listeners follow inet_interfaces live", runReload},
		{"status", "show whether postern runs and where it listens (-j: JSON)", runStatus},
		{"check", "validate main.cf, master.cf and the files they name", runCheck},
		{"queue", "list the mail queue (-p, as mailq; -j JSON), deliver now (-f, -i ID)", runQueue},
		{"super", "delete (-d), hold (-h), release (-H), requeue (-r) messages; check the queue (-s)", runSuper},
		{"newaliases", "build the alias database (alias_database) from its text file", runNewaliases},
		{"sendmail", "submit a message from standard input, as Postfix's sendmail (-t -i, -f, -bs, …)", func(args []string, stdout, stderr io.Writer) int {
			return runSendmail(args, os.Stdin, stdout, stderr)
		}},
		{"install", "install the binary as PREFIX/sbin/postern with sendmail, mailq, newaliases, postfix links (-prefix, -force)", runInstall},
		{"passwd", "add or change (-s SCHEME) or delete (-d) a user of the SMTP AUTH passwd-file", func(args []string, stdout, stderr io.Writer) int {
			return runPasswd(args, os.Stdin, stdout, stderr)
		}},
		{"map", "build (postmap FILE), query (-q KEY) or list (-s) lookup tables", runMap},
		{"dkim", "make a DKIM signing key (keygen DOMAIN SELECTOR), compare the DNS with the keys (check DOMAIN)", runDKIM},
		{"conf", "show or edit main.cf and master.cf (like postconf)", runConf},
		{"version", "print the version", runVersion},
		{"help", "list the commands", runHelp},
	}
}

// personalities are the commands postern answers as by argv[0].
var personalities = map[string]string{
	"postconf":  "conf",
	"postmap":   "map",
	"postqueue": "queue",
	"postsuper": "super",
}

func main() {
	os.Exit(dispatch(os.Args, os.Stdout, os.Stderr))
}

func dispatch(argv []string, stdout, stderr io.Writer) int {
	base := filepath.Base(argv[0])
	switch base {
	case "mailq":
		return runQueue(append([]string{"-p"}, argv[1:]...), stdout, stderr)
	case "newaliases":
		return runNewaliases(argv[1:], stdout, stderr)
	case "sendmail":
		return runSendmail(argv[1:], os.Stdin, stdout, stderr)
	case "postfix":
		return runPostfix(argv[1:], stdout, stderr)
	}
	if sub, ok := personalities[base]; ok {
		return find(sub).run(argv[1:], stdout, stderr)
	}
	// postern -c DIR COMMAND: the configuration directory for any
	// command, as `postfix -c DIR check`. A -c after the command wins.
	if len(argv) >= 3 && argv[1] == "-c" {
		os.Setenv("POSTERN_CONFIG_DIR", argv[2])
		argv = append(argv[:1:1], argv[3:]...)
	}
	if len(argv) < 2 {
		runHelp(nil, stderr, stderr)
		return 2
	}
	if argv[1] == master.AgentCommand { // started by the daemon, not listed
		return runAgent(argv[2:], stdout, stderr)
	}
	c := find(argv[1])
	if c == nil {
		fmt.Fprintf(stderr, "postern: fatal: unknown command %q (run \"postern help\")\n", argv[1])
		return 2
	}
	return c.run(argv[2:], stdout, stderr)
}

func find(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func runHelp(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "usage: postern COMMAND [options]")
	fmt.Fprintln(stdout, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(stdout, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(stdout, "\nThe configuration directory is -c DIR (before or after COMMAND), else $POSTERN_CONFIG_DIR, else /etc/postern.")
	fmt.Fprintln(stdout, "Called as postfix: postfix [-c config_dir] [-Dv] check|start|start-fg|stop|abort|reload|flush|status|set-permissions|upgrade-configuration.")
	return 0
}

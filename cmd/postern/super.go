package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/queue"
)

// runSuper is postsuper(1): -d delete, -h hold, -H release from hold,
// -r requeue, each with a queue ID, ALL, or "-" (IDs on standard input),
// optionally limited to the queues named after it; -s checks the queue
// (recovery) while the daemon is stopped.
func runSuper(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("super", stderr)
	del := fs.String("d", "", "delete message `ID` (ALL: every message; -: IDs on stdin)")
	hold := fs.String("h", "", "put message `ID` on hold")
	release := fs.String("H", "", "release message `ID` from hold")
	requeue := fs.String("r", "", "requeue message `ID`")
	repair := fs.Bool("s", false, "check the queue and repair it (daemon stopped)")
	if fs.Parse(args) != nil {
		return 64
	}
	dir := configDir(*dirFlag)
	cfg, err := config.Load(dir)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if *repair {
		return superRepair(cfg, stderr)
	}
	st, err := openStoreOffline(cfg)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	type action struct {
		arg    *string
		from   []string
		apply  func(id, q string) error
		report string
	}
	now := time.Now()
	actions := []action{
		{del, listedQueues, func(id, q string) error { return st.Remove(q, id) }, "Deleted"},
		{hold, []string{queue.Incoming, queue.Deferred}, func(id, q string) error { return st.Move(id, q, queue.Hold) }, "Placed on hold"},
		{release, []string{queue.Hold}, func(id, q string) error { return st.Defer(id, q, now) }, "Released from hold"},
		{requeue, []string{queue.Incoming, queue.Deferred, queue.Hold}, func(id, q string) error {
			if q == queue.Incoming {
				return nil
			}
			return st.Move(id, q, queue.Incoming)
		}, "Requeued"},
	}
	exit, did := 0, false
	for _, a := range actions {
		if *a.arg == "" {
			continue
		}
		did = true
		queues := a.from
		if fs.NArg() > 0 { // trailing queue names restrict the action
			queues = nil
			for _, q := range fs.Args() {
				if !slices.Contains(a.from, q) {
					return fatalf(stderr, "invalid queue name: %s", q)
				}
				queues = append(queues, q)
			}
		}
		ids, err := superIDs(*a.arg, st, queues)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		n := 0
		for _, id := range ids {
			for _, q := range queues {
				err := a.apply(id, q)
				if errors.Is(err, queue.ErrNotFound) {
					continue
				}
				if err != nil {
					fmt.Fprintf(stderr, "postern super: warning: %s: %v\n", id, err)
					exit = 1
					break
				}
				n++
				break
			}
		}
		fmt.Fprintf(stderr, "postern super: %s: %d message%s\n", a.report, n, plural(n))
	}
	if !did {
		fmt.Fprintln(stderr, "usage: postern super -d ID|ALL|- | -h ID | -H ID | -r ID [queue...] | -s [-c dir]")
		return 64
	}
	if data, err := cfg.Get("data_directory"); err == nil {
		master.Call(data, master.Request{Cmd: "flush"}, 5*time.Second) // let a running daemon see the change
	}
	return exit
}

// superIDs expands ALL (every message in the queues) and "-" (IDs on
// standard input, one per line).
func superIDs(arg string, st *queue.Store, queues []string) ([]string, error) {
	switch arg {
	case "ALL":
		var ids []string
		for _, q := range queues {
			l, err := st.List(q)
			if err != nil {
				return nil, err
			}
			ids = append(ids, l...)
		}
		return ids, nil
	case "-":
		var ids []string
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 {
				ids = append(ids, strings.TrimRight(f[0], "*!"))
			}
		}
		return ids, sc.Err()
	}
	if !queue.ValidID(arg) {
		return nil, fmt.Errorf("invalid queue ID: %q", arg)
	}
	return []string{arg}, nil
}

// superRepair runs the start-up recovery: only while the daemon is
// stopped, since it moves active messages back to incoming.
func superRepair(cfg *config.Config, stderr io.Writer) int {
	if data, err := cfg.Get("data_directory"); err == nil {
		if pid, running := master.Running(data); running {
			return fatalf(stderr, "postern is running (pid %d): it checked the queue when it started; stop it first", pid)
		}
	}
	dir, err := cfg.Get("queue_directory")
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	if _, err := queue.Open(dir, queue.Options{}); err != nil {
		return fatalf(stderr, "%v", err)
	}
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

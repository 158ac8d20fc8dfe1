package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/master"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/showq"
)

// listedQueues are the queues a listing shows, in showq's order.
var listedQueues = []string{queue.Maildrop, queue.Active, queue.Incoming, queue.Deferred, queue.Hold}

// runQueue is postqueue(1): -p lists (mailq), -j lists as JSON lines,
// -f flushes, -i ID delivers one message now.
func runQueue(args []string, stdout, stderr io.Writer) int {
	fs, dirFlag := daemonFlags("queue", stderr)
	list := fs.Bool("p", false, "list the queue (mailq)")
	asJSON := fs.Bool("j", false, "list the queue as JSON lines")
	flush := fs.Bool("f", false, "deliver deferred mail now")
	one := fs.String("i", "", "deliver message `ID` now")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: postern queue -p | -j | -f | -i ID [-c dir]")
		return 64 // EX_USAGE, as postqueue
	}
	dir := configDir(*dirFlag)
	cfg, err := config.Load(dir)
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	switch {
	case *flush || *one != "":
		data, err := cfg.Get("data_directory")
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		req := master.Request{Cmd: "flush", ID: *one}
		resp, err := master.Call(data, req, 10*time.Second)
		if err != nil {
			fmt.Fprintf(stderr, "postern queue: fatal: Cannot flush mail queue - mail system is down\n")
			return 69 // EX_UNAVAILABLE
		}
		if !resp.OK {
			return fatalf(stderr, "%s", resp.Error)
		}
		return 0
	case *list || *asJSON:
		msgs, err := readQueue(cfg)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		if *asJSON {
			err = showq.WriteJSON(stdout, msgs)
		} else {
			err = showq.WriteText(stdout, msgs, true)
		}
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		return 0
	}
	fmt.Fprintln(stderr, "usage: postern queue -p | -j | -f | -i ID [-c dir]")
	return 64
}

// openStoreOffline opens the queue for the tools: no recovery, which is
// the daemon's job at start.
func openStoreOffline(cfg *config.Config) (*queue.Store, error) {
	dir, err := cfg.Get("queue_directory")
	if err != nil {
		return nil, err
	}
	return queue.Open(dir, queue.Options{NoRecover: true})
}

// readQueue reads every listed message, skipping those that vanish
// while the queue is read (delivered meanwhile).
func readQueue(cfg *config.Config) ([]*queue.Message, error) {
	st, err := openStoreOffline(cfg)
	if err != nil {
		return nil, err
	}
	msgs := maildropMessages(st.Dir())
	for _, q := range listedQueues {
		if q == queue.Maildrop {
			continue // not queue files: read above
		}
		ids, err := st.List(q)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			m, err := st.Read(q, id)
			if errors.Is(err, queue.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", q, id, err)
			}
			m.Queue = q
			msgs = append(msgs, m)
		}
	}
	showq.Sort(msgs)
	return msgs, nil
}

// maildropMessages lists what sendmail dropped and pickup has not taken
// yet: as Postfix's showq does, by file, with the file's size and time
// (the maildrop holds no arrival record); the ID shown is the file
// name's first 12 characters. Files this user may not read are skipped.
func maildropMessages(queueDir string) []*queue.Message {
	dir := filepath.Join(queueDir, queue.Maildrop)
	entries, _ := os.ReadDir(dir)
	var msgs []*queue.Message
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "m.") || !e.Type().IsRegular() {
			continue // t.NAME: still being written
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		sub, _, err := pickup.ReadSubmission(f, fi.Size())
		f.Close()
		if err != nil {
			continue
		}
		id := strings.TrimPrefix(name, "m.")
		if len(id) > 12 {
			id = id[:12]
		}
		m := &queue.Message{ID: strings.ToUpper(id), Queue: queue.Maildrop, Size: fi.Size(),
			Envelope: queue.Envelope{Sender: sub.Sender, Arrival: fi.ModTime()}}
		for _, r := range sub.Recipients {
			m.Envelope.Recipients = append(m.Envelope.Recipients, queue.Recipient{Addr: r})
		}
		m.Status = make([]queue.RcptStatus, len(m.Envelope.Recipients))
		msgs = append(msgs, m)
	}
	return msgs
}

// Package virtual is postern's virtual(8): the delivery agent for
// virtual mailbox domains, whose users are no system users. For each
// recipient it looks the address up in virtual_mailbox_maps; the result
// is a path below virtual_mailbox_base, a Maildir when it ends in "/"
// and an mbox file otherwise (locked as virtual_mailbox_lock says). The
// mailbox belongs to the uid and gid that virtual_uid_maps and
// virtual_gid_maps give for the address (typically "static:5000");
// uids below virtual_minimum_uid are refused. No aliases, .forward
// files, commands or files: those are local(8)'s.
//
// Lookups, as Postfix's mail_addr_find() for a domain that is not local:
// the whole address ("user+ext@example.com"), then, when
// recipient_delimiter splits an extension off, the address without it
// ("user@example.com"), then "@example.com" (a catch-all). Pattern
// tables (regexp, pcre, cidr) get only the whole address. Each key is
// tried in every table before the next. The address is folded to lower
// case first. No result bounces the recipient (5.1.1 unknown user); a
// table that cannot answer defers it.
//
// Privileges. Postfix's virtual(8) runs as root and takes the mailbox
// owner's effective uid and gid for each delivery, so that the kernel
// checks every path and creates every file and directory as that user
// (quotas apply). postern does the same per delivery on a thread of its
// own (mailstore.WithFSCreds): no file operation on the mailbox runs as
// root. The queue file is opened before. When the daemon starts as root
// and runs as mail_owner, the agent runs in the root agent process
// (internal/master/agent.go), as local delivery does. Without root
// privileges everything is done as the agent's own user.
//
// Copies are written as local(8) writes them (package mailstore): the
// same crash-safe Maildir delivery, whose copy of a queued message gets
// the same name on every attempt so that a retry after a crash finds it
// instead of making a second, and the same mbox format and locking.
// virtual_mailbox_limit bounds every file a copy goes into, as Postfix's
// file size limit does.
package virtual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/maps"
)

// Config is what the virtual agent reads from main.cf. Start from
// Defaults.
type Config struct {
	MailboxBase        string       // virtual_mailbox_base: an absolute path
	MailboxMaps        []maps.Table // virtual_mailbox_maps
	UIDMaps            []maps.Table // virtual_uid_maps
	GIDMaps            []maps.Table // virtual_gid_maps
	MinimumUID         int64        // virtual_minimum_uid
	MailboxLimit       int64        // virtual_mailbox_limit in bytes; 0: none
	MessageSizeLimit   int64        // message_size_limit, which MailboxLimit must not be below
	Locks              mailstore.Locks
	RecipientDelimiter string           // recipient_delimiter
	MyHostname         string           // myhostname, for Maildir file names
	Logger             *slog.Logger     // warnings as Postfix logs them; nil: none
	Now                func() time.Time // nil: time.Now
}

// Defaults returns Postfix's defaults (postconf -d) for what Config holds.
func Defaults() Config {
	return Config{
		MinimumUID:       100,
		MailboxLimit:     51200000,
		MessageSizeLimit: 10240000,
		Locks:            mailstore.DefaultLocks(),
	}
}

// FDsPerDelivery is the most file descriptors one delivery holds at
// once, besides the queue file: virtual_mailbox_base and the Maildir
// (os.Root each), new/ and tmp/, and the copy (an mbox: the base, the
// lock file and the mailbox); /proc/thread-self/status while the
// credentials change, before any of them. The master's file descriptor
// budget reserves this many per delivery when virtual delivery runs in
// its process.
const FDsPerDelivery = 5

// Table names, as Postfix's warnings name the tables.
const (
	mailboxMaps = "virtual_mailbox_maps"
	uidMaps     = "virtual_uid_maps"
	gidMaps     = "virtual_gid_maps"
)

// Agent delivers to virtual mailboxes. It is safe for concurrent use.
type Agent struct {
	cfg   Config
	store *mailstore.Store
}

var _ deliver.Agent = (*Agent)(nil)

// New checks cfg as Postfix's virtual(8) does when it starts.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.MailboxBase == "":
		return nil, errors.New("virtual_mailbox_base is empty: set it to the directory the virtual mailboxes are in")
	case !strings.HasPrefix(cfg.MailboxBase, "/"):
		return nil, fmt.Errorf("do not specify relative pathname: virtual_mailbox_base = %s", cfg.MailboxBase)
	case cfg.MyHostname == "":
		return nil, errors.New("virtual delivery: myhostname is empty")
	case cfg.MinimumUID < 1:
		return nil, fmt.Errorf("virtual_minimum_uid = %d: it must be 1 or more", cfg.MinimumUID)
	case cfg.MailboxLimit > 0 && cfg.MessageSizeLimit <= 0:
		return nil, errors.New("configuration error: virtual_mailbox_limit is limited but message_size_limit is unlimited")
	case cfg.MailboxLimit > 0 && cfg.MailboxLimit < cfg.MessageSizeLimit:
		return nil, errors.New("configuration error: virtual_mailbox_limit is smaller than message_size_limit")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := mailstore.DefaultLocks()
	if cfg.Locks.Attempts <= 0 {
		cfg.Locks.Attempts = d.Attempts
	}
	if cfg.Locks.Delay <= 0 {
		cfg.Locks.Delay = d.Delay
	}
	if cfg.Locks.StaleTime <= 0 {
		cfg.Locks.StaleTime = d.StaleTime
	}
	cfg.MailboxBase = path.Clean(cfg.MailboxBase)
	return &Agent{cfg: cfg, store: &mailstore.Store{Hostname: cfg.MyHostname, Locks: cfg.Locks, Logger: cfg.Logger, Now: cfg.Now}}, nil
}

// Deliver delivers req to each of its recipients in turn.
func (a *Agent) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	var batch mailstore.Batch
	results := make([]deliver.Result, 0, len(req.Rcpts))
	for _, i := range req.Rcpts {
		start := time.Now()
		var r deliver.Result
		switch {
		case req.DirectOnly: // only local(8) delivers before the SMTP reply
			r = deliver.Result{Kind: deliver.Declined}
		case i < 0 || i >= len(req.Env.Recipients):
			r = deferred("4.3.0", "mail system error: no such recipient")
		case ctx.Err() != nil:
			r = deferred("4.3.0", "delivery interrupted: "+ctx.Err().Error())
		default:
			r = a.recipient(ctx, req, i, &batch)
		}
		r.Rcpt, r.Relay, r.Transfer = i, "virtual", time.Since(start)
		results = append(results, r)
	}
	if batch.Pending() {
		if req.Release != nil {
			req.Release()
		}
		for _, f := range batch.Finish() {
			for k := range results {
				if results[k].Rcpt == f.Rcpt && results[k].Kind == deliver.Sent {
					results[k].Kind, results[k].DSN = deliver.Deferred, "4.3.0"
					results[k].Reason = "maildir delivery failed: " + f.Err.Error()
				}
			}
		}
	}
	return results
}

func sent(reason string) deliver.Result {
	return deliver.Result{Kind: deliver.Sent, DSN: "2.0.0", Reason: reason}
}

func deferred(dsn, reason string) deliver.Result {
	return deliver.Result{Kind: deliver.Deferred, DSN: dsn, Reason: reason}
}

// failed is a bounce or, for a 4.x.x status, a deferral.
func failed(dsn, reason string) deliver.Result {
	if strings.HasPrefix(dsn, "4") {
		return deferred(dsn, reason)
	}
	return deliver.Result{Kind: deliver.Bounced, DSN: dsn, Reason: reason}
}

// configError is Postfix's answer to a lookup that went wrong: the
// warning in the log, a deferral for the sender.
func (a *Agent) configError(warning string) deliver.Result {
	a.cfg.Logger.Warn(warning)
	return deferred("4.3.5", "mail system configuration error")
}

// opener opens the content of req: the body that came with it, else
// the queue file.
func opener(req *deliver.Request) func() (io.ReadCloser, error) {
	if req.Body != nil {
		body := req.Body
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return req.Content
}

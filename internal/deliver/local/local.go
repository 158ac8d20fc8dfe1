// Package local is postern's local(8): the delivery agent for the
// domains of mydestination. For each recipient it looks the local part up
// in alias_maps (aliases of aliases, :include: files, |commands, /files,
// forwarding to other addresses through the queue), then delivers to the
// user's mailbox: a Maildir ("home_mailbox = Maildir/"), an mbox file in
// the home directory ("home_mailbox = Mailbox") or the mbox file
// mail_spool_directory/user.
//
// Formats, as Postfix writes them (src/global/mail_copy.c,
// src/local/*.c): every copy gets "Return-Path: <sender>", "X-Original-To:
// recipient" and "Delivered-To: recipient" headers in front; CRLF line
// ends become LF. An mbox message starts with "From sender  Mon Jan  2
// 15:04:05 2006" (sender MAILER-DAEMON for <>), body lines that begin
// with "From " get a ">" (mboxo quoting: ">From " lines are left alone,
// unlike mboxrd, so reading back cannot tell them apart; that is what
// Postfix does and what mbox readers expect of it), and an empty line
// ends it. mbox files are locked with a dotlock file (name.lock, created
// exclusively, removed when older than StaleLockTime) and an fcntl lock,
// both retried LockAttempts times, LockDelay apart; a write that fails
// is cut off again (ftruncate to the old size) so that the mailbox never
// holds half a message. Maildir files go to tmp/, are fsynced, then
// linked into new/ under a name unique per the Maildir spec
// ("seconds.MmicrosecondsPpidQcount.host"; a queued message's copy is
// "seconds.QidRn.host", the same on every attempt, so that a retry after
// a crash finds it instead of making a second). The fsync of new/ that
// makes the link durable comes after Request.Release: the user's
// delivery slot is free again while it runs, and deliveries into one
// new/ meanwhile share it (package fsyncgroup); the results wait for it.
//
// The mailbox writing (formats, locks, Maildir naming, the checks below)
// is package mailstore's, which the virtual agent shares.
//
// Privilege model. Postfix's local(8) runs as root and switches its
// effective uid to the recipient for each delivery. A Go program cannot
// do that per goroutine, so postern keeps root and confines what root
// does instead:
//
//   - Mailboxes are opened through an os.Root at the directory that is
//     trusted (the user's home directory, mail_spool_directory): nothing
//     below it can lead outside, whatever symbolic links the user plants.
//     On top of that a mailbox, a Maildir and its tmp/new/cur must not be
//     symbolic links at all, an existing mailbox must be a regular file
//     with one hard link, owned by the recipient (strict_mailbox_ownership)
//     and the same file that was checked (Postfix's safe_open). Whatever
//     is created is chowned (on the open descriptor) to the recipient;
//     files in a group-writable spool directory get its group, as Postfix
//     creates them.
//   - /file destinations and :include: files of user-owned alias tables,
//     which may name any path, are opened on a dedicated OS thread whose
//     filesystem uid and gid (setfsuid, setfsgid, no supplementary groups)
//     are those of the user whose rights apply, so the kernel checks every
//     path component as for that user; the thread is discarded afterwards
//     (Linux only: elsewhere such deliveries are deferred).
//   - |commands run in a child process started with that user's uid and
//     gid and no supplementary groups.
//
// Whose rights apply to |command and /file is Postfix's rule: the owner of
// the alias table (of its .cdb file), or, for a root-owned table, the
// owner of the :include: file that lists the destination, and
// default_privs (nobody) when that is root too. Run without root
// privileges, the agent does everything as its own user and chowns
// nothing.
//
// mailbox_transport: with Config.MailboxTransport, the mailbox
// deliveries left after alias expansion are listed in Result.Pass
// instead (mailbox.go, pass), and deliver.Pass, in the daemon, hands
// them to the transport: the agent, root in its own process, never
// talks to a mail store over the network.
//
// Not implemented: .forward files, mailbox_command,
// mailbox_transport_maps, fallback_transport, luser_relay, biff.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

// Config is the part of main.cf local delivery uses. Start from Defaults.
type Config struct {
	AliasMaps          []maps.Table // alias_maps
	RecipientDelimiter string       // recipient_delimiter
	// HomeMailbox is home_mailbox: "" delivers to MailSpoolDirectory, a
	// name ending in "/" is a Maildir below the home directory, any other
	// name an mbox file there.
	HomeMailbox string
	// MailSpoolDirectory is mail_spool_directory: mbox files named after
	// the users, or Maildirs when it ends in "/".
	MailSpoolDirectory string
	// AllowMailToCommands and AllowMailToFiles are
	// allow_mail_to_commands and allow_mail_to_files: the classes
	// "alias", "forward", "include" whose destinations may be |commands
	// and /files. Empty allows none.
	AllowMailToCommands, AllowMailToFiles []string
	// PrependDeliveredHeader is prepend_delivered_header: the classes
	// "command", "file", "forward" of deliveries that get a
	// Delivered-To: header (mailboxes always do). The header on forwarded
	// copies is what breaks forwarding loops.
	PrependDeliveredHeader []string
	// MailboxTransport is mailbox_transport being set: mailbox
	// deliveries are not made here but listed in Result.Pass, for
	// deliver.Pass to hand to that transport.
	MailboxTransport bool
	MailboxSizeLimit int64         // mailbox_size_limit in bytes; 0: none
	CommandTimeLimit time.Duration // command_time_limit
	MyHostname       string        // myhostname, for Maildir file names
	MyOrigin         string        // myorigin, qualifies bare addresses; "" means MyHostname
	DefaultPrivs     string        // default_privs
	// IsLocalDomain says whether a domain is delivered by this agent
	// (mydestination); addresses in aliases with other domains are
	// forwarded through Queue.
	IsLocalDomain func(domain string) bool
	Queue         queue.Queue // where forwarded copies are enqueued
	Users         Users       // nil: the system's user database, users found kept for 1 s (usercache.go)
	Shell         string      // runs |commands with -c
	// Mailbox locking: deliver_lock_attempts, deliver_lock_delay,
	// stale_lock_time.
	LockAttempts  int
	LockDelay     time.Duration
	StaleLockTime time.Duration
	Logger        *slog.Logger     // warnings as Postfix logs them; nil: none
	Now           func() time.Time // nil: time.Now
}

// Defaults returns Postfix's defaults (postconf -d) for what Config holds.
func Defaults() Config {
	return Config{
		MailSpoolDirectory:     "/var/mail",
		AllowMailToCommands:    []string{"alias", "forward"},
		AllowMailToFiles:       []string{"alias", "forward"},
		PrependDeliveredHeader: []string{"command", "file", "forward"},
		MailboxSizeLimit:       51200000,
		CommandTimeLimit:       1000 * time.Second,
		DefaultPrivs:           "nobody",
		Shell:                  "/bin/sh",
		LockAttempts:           20,
		LockDelay:              time.Second,
		StaleLockTime:          500 * time.Second,
	}
}

// Agent delivers to local recipients. It is safe for concurrent use.
type Agent struct {
	cfg      Config
	expander aliases.Expander
	store    *mailstore.Store
}

var _ deliver.Agent = (*Agent)(nil)

// New checks cfg and fills in what may be left zero: MyOrigin, Users,
// Shell, Now, and the lock and command timings (with Defaults' values).
func New(cfg Config) (*Agent, error) {
	if cfg.IsLocalDomain == nil {
		return nil, errors.New("local delivery: IsLocalDomain is required")
	}
	if cfg.MailSpoolDirectory == "" && cfg.HomeMailbox == "" {
		return nil, errors.New("local delivery: mail_spool_directory and home_mailbox are both empty")
	}
	if cfg.MyHostname == "" {
		return nil, errors.New("local delivery: myhostname is empty")
	}
	d := Defaults()
	if cfg.MyOrigin == "" {
		cfg.MyOrigin = cfg.MyHostname
	}
	if cfg.Users == nil {
		cfg.Users = newUserCache(SystemUsers{})
	}
	if cfg.Shell == "" {
		cfg.Shell = d.Shell
	}
	if cfg.DefaultPrivs == "" {
		cfg.DefaultPrivs = d.DefaultPrivs
	}
	if cfg.CommandTimeLimit <= 0 {
		cfg.CommandTimeLimit = d.CommandTimeLimit
	}
	if cfg.LockAttempts <= 0 {
		cfg.LockAttempts = d.LockAttempts
	}
	if cfg.LockDelay <= 0 {
		cfg.LockDelay = d.LockDelay
	}
	if cfg.StaleLockTime <= 0 {
		cfg.StaleLockTime = d.StaleLockTime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	locks := mailstore.DefaultLocks()
	locks.Attempts, locks.Delay, locks.StaleTime = cfg.LockAttempts, cfg.LockDelay, cfg.StaleLockTime
	a := &Agent{cfg: cfg, store: &mailstore.Store{Hostname: cfg.MyHostname, Locks: locks, Logger: cfg.Logger, Now: cfg.Now}}
	a.expander = aliases.Expander{
		Tables:      cfg.AliasMaps,
		Delimiter:   cfg.RecipientDelimiter,
		IsLocal:     a.isLocal,
		TableOwner:  tableOwner,
		ReadInclude: a.readInclude,
		Warn:        func(msg string) { cfg.Logger.Warn(msg) },
	}
	return a, nil
}

// isLocal is aliases.Expander.IsLocal.
func (a *Agent) isLocal(addr string) (string, bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, true
	}
	return addr[:i], a.cfg.IsLocalDomain(addr[i+1:])
}

// qualify appends @myorigin to a bare local part.
func (a *Agent) qualify(addr string) string {
	if strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + a.cfg.MyOrigin
}

// Deliver delivers req to each of its recipients in turn.
func (a *Agent) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	m := &message{req: req}
	results := make([]deliver.Result, 0, len(req.Rcpts))
	for _, i := range req.Rcpts {
		start := time.Now()
		var r deliver.Result
		if i < 0 || i >= len(req.Env.Recipients) {
			r = deliver.Result{Kind: deliver.Deferred, DSN: "4.3.0", Reason: "mail system error: no such recipient"}
		} else if err := ctx.Err(); err != nil {
			r = deliver.Result{Kind: deliver.Deferred, DSN: "4.3.0", Reason: "delivery interrupted: " + err.Error()}
		} else {
			r = a.recipient(ctx, m, i)
		}
		r.Rcpt, r.Relay, r.Transfer = i, "local", time.Since(start)
		results = append(results, r)
	}
	if m.batch.Pending() {
		if req.Release != nil {
			req.Release()
		}
		finishSyncs(&m.batch, results)
	}
	return results
}

// finishSyncs runs the directory fsyncs the deliveries left (see
// mailstore.Batch) and defers a recipient whose copy is not durable: the
// next attempt finds the copy if it survives and makes no second.
func finishSyncs(b *mailstore.Batch, results []deliver.Result) {
	for _, f := range b.Finish() {
		for k := range results {
			if results[k].Rcpt == f.Rcpt && results[k].Kind != deliver.Bounced {
				results[k].Kind, results[k].DSN = deliver.Deferred, "4.3.0"
				results[k].Reason = "maildir delivery failed: " + f.Err.Error()
			}
		}
	}
}

// message is the request and what was read from its content once.
type message struct {
	req  *deliver.Request
	once sync.Once
	// delivered holds the Delivered-To: addresses of the message,
	// folded; err is set when the content could not be read.
	delivered map[string]bool
	err       error

	// data is the whole content of a message up to memContent bytes,
	// read from the queue once for the loop check and every copy.
	loadOnce sync.Once
	data     []byte
	loadErr  error
	large    bool // more content than Request.Size said: not kept

	batch mailstore.Batch // directory fsyncs to run before the results
}

// FDsPerDelivery is the most file descriptors one delivery holds at
// once, besides the queue file: the destination directory (os.Root),
// the lock file, the mailbox or Maildir file, a directory opened to
// fsync it and /proc/thread-self/status while credentials change; a
// command holds fewer (its input and output pipes, and the child's ends
// while it starts). The master's file descriptor budget reserves this
// many per delivery when local delivery runs in its process.
const FDsPerDelivery = 5

// memContent is the largest content kept in memory for a delivery.
const memContent = 256 << 10

// content opens the message content: the copy in memory for a small
// message, else a new reader of the queue file.
func (m *message) content() (io.ReadCloser, error) {
	if m.req.Size <= memContent {
		m.loadOnce.Do(m.load)
	}
	if m.req.Size > memContent || m.large {
		return m.req.Content()
	}
	if m.loadErr != nil {
		return nil, m.loadErr
	}
	return io.NopCloser(bytes.NewReader(m.data)), nil
}

func (m *message) load() {
	if b := m.req.Body; b != nil && len(b) <= memContent {
		m.data = b
		return
	}
	rc, err := m.req.Content()
	if err != nil {
		m.loadErr = err
		return
	}
	defer rc.Close()
	b := bytes.NewBuffer(make([]byte, 0, max(m.req.Size, 0)+bytes.MinRead))
	_, m.loadErr = b.ReadFrom(io.LimitReader(rc, memContent+1))
	m.data = b.Bytes()
	if len(m.data) > memContent {
		m.data, m.large = nil, true
	}
}

// deliveredTo reports whether the message has a Delivered-To: header
// for addr, which means it came back along a forwarding loop.
func (m *message) deliveredTo(addr string) (bool, error) {
	m.once.Do(func() {
		var rc io.ReadCloser
		if rc, m.err = m.content(); m.err != nil {
			return
		}
		defer rc.Close()
		m.delivered, m.err = readDeliveredTo(rc)
	})
	if m.err != nil {
		return false, fmt.Errorf("error reading message: %w", m.err)
	}
	return m.delivered[aliases.Fold(addr)], nil
}

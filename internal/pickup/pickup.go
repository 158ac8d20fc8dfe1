package pickup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/straycrlf"
)

// Config is what pickup needs from main.cf.
type Config struct {
	QueueDir   string
	MyHostname string // Received:, Message-Id:
	MyOrigin   string // appended to unqualified addresses
	MailName   string // Received: "(postern, from userid N)"
	// Rewrite is trivial-rewrite's configuration (append_at_myorigin,
	// append_dot_mydomain, ...), applied as cleanup applies it to local
	// submissions; nil means Postfix's defaults with MyOrigin.
	Rewrite          *address.ResolveOptions
	MessageSizeLimit int64 // message_size_limit; 0 = none
	HeaderSizeLimit  int64 // header_size_limit: how much header pickup examines
	ReplaceStrayCRLF bool  // cleanup_replace_stray_cr_lf (internal/straycrlf)
	PollInterval     time.Duration
	// Stages are the content stages of local submissions
	// (internal/cleanup): non_smtpd_milters, then DKIM signing. Nil:
	// content streams to the queue.
	Stages []cleanup.Stage
}

// DefaultHeaderSizeLimit is Postfix's header_size_limit.
const DefaultHeaderSizeLimit = 102400

// DefaultPollInterval is how often Run scans without a wake-up, as
// Postfix's master wakes pickup every 60 seconds.
const DefaultPollInterval = 60 * time.Second

// staleTemp is how old an unfinished "t." file must be before pickup
// takes it for the remains of a killed sendmail.
const staleTemp = 24 * time.Hour

// ConfigFrom reads pickup's settings.
func ConfigFrom(cfg *config.Config) (Config, error) {
	c := Config{PollInterval: DefaultPollInterval}
	var err error
	for _, p := range []struct {
		name string
		dst  *string
	}{{"queue_directory", &c.QueueDir}, {"myhostname", &c.MyHostname}, {"myorigin", &c.MyOrigin}, {"mail_name", &c.MailName}} {
		if *p.dst, err = cfg.Get(p.name); err != nil {
			return c, err
		}
	}
	if c.MessageSizeLimit, err = cfg.Int("message_size_limit"); err != nil {
		return c, err
	}
	rw, err := address.RewriteOptions(cfg.Get, cfg.Bool)
	if err != nil {
		return c, err
	}
	c.Rewrite = &rw
	if c.ReplaceStrayCRLF, err = cfg.Bool("cleanup_replace_stray_cr_lf"); err != nil {
		return c, err
	}
	c.HeaderSizeLimit, err = HeaderSizeLimit(cfg)
	return c, err
}

// HeaderSizeLimit returns header_size_limit, which the parameter registry
// does not know yet: the main.cf value or Postfix's default.
func HeaderSizeLimit(cfg *config.Config) (int64, error) {
	if v, err := cfg.Get("header_size_limit"); err != nil || v == "" {
		return DefaultHeaderSizeLimit, err
	}
	n, err := cfg.Int("header_size_limit")
	if err == nil && n < 1 {
		err = fmt.Errorf("parameter header_size_limit: %d is too small", n)
	}
	return n, err
}

// Pickup moves locally submitted mail from the maildrop into the queue.
type Pickup struct {
	mu    sync.Mutex // one scan at a time
	cfgMu sync.Mutex
	cfg   Config
	q     queue.Queue
	log   *slog.Logger
	now   func() time.Time
	newID func() string
}

// New returns a Pickup that enqueues into q (the queue manager's queue,
// so that it learns of new mail at once) and logs to log.
func New(cfg Config, q queue.Queue, log *slog.Logger) *Pickup {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pickup{cfg: cfg, q: q, log: log, now: time.Now, newID: queue.NewID}
}

// SetConfig replaces the configuration (reload); the next file uses it.
func (p *Pickup) SetConfig(cfg Config) {
	p.cfgMu.Lock()
	p.cfg = cfg
	p.cfgMu.Unlock()
}

func (p *Pickup) config() Config {
	p.cfgMu.Lock()
	defer p.cfgMu.Unlock()
	return p.cfg
}

func (p *Pickup) logger(program string) *slog.Logger {
	return p.log.With("program", "postern/"+program)
}

// errQueue is a failure of the queue as a whole, not of the file: the
// file stays for the next scan, and the scan ends, as every later file
// would fail the same way.
type errQueue struct{ err error }

func (e errQueue) Error() string { return e.err.Error() }
func (e errQueue) Unwrap() error { return e.err }

// queueError sorts an error of the queue. A shortage of space, a file
// system error, a queue that takes no mail, or the end of the scan's
// context is the queue's: errQueue. Anything else is the queue refusing
// this one message (an envelope it cannot store, a queue ID in use) and
// is returned as it is: the file stays and the scan goes on, so that one
// message never holds up the ones after it. Content errors
// (ErrMalformed, errTooBig) keep their identity either way.
func queueError(err error) error {
	var (
		pathErr *fs.PathError
		linkErr *os.LinkError
		sysErr  *os.SyscallError
		errno   syscall.Errno
	)
	switch {
	case errors.Is(err, queue.ErrNoSpace), errors.Is(err, queue.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &pathErr), errors.As(err, &linkErr), errors.As(err, &sysErr), errors.As(err, &errno):
		return errQueue{err}
	}
	return err
}

// Scan enqueues every complete file in the maildrop, oldest first, and
// returns how many it queued. Malformed files are logged and removed; a
// queue failure (full disk) ends the scan and leaves the rest for later;
// a file the queue refuses (queueError) stays and the scan goes on.
func (p *Pickup) Scan(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.config()
	dir := filepath.Join(cfg.QueueDir, queue.Maildrop)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("pickup: %w", err)
	}
	type file struct {
		name  string
		mtime time.Time
	}
	var files []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if p.now().Sub(info.ModTime()) > staleTemp {
				p.remove(dir, name, fmt.Sprintf("unfinished since %s", info.ModTime().Format(time.DateTime)))
			}
			continue
		}
		files = append(files, file{name, info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int { return a.mtime.Compare(b.mtime) })
	n := 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		queued, err := p.pickup(ctx, &cfg, dir, f.name)
		var qe errQueue
		switch {
		case err == nil:
			if queued {
				n++
			}
		case errors.As(err, &qe):
			// A shortage of space is warned about once, not per scan.
			if !errors.Is(err, queue.ErrNoSpace) || queue.FirstShortage(err) {
				p.logger("pickup").Warn(fmt.Sprintf("%s/%s: %v; will try again", queue.Maildrop, f.name, err))
			}
			return n, err
		default:
			p.logger("pickup").Warn(fmt.Sprintf("%s/%s: %v", queue.Maildrop, f.name, err))
		}
	}
	return n, nil
}

// remove deletes a maildrop file that will never be queued.
func (p *Pickup) remove(dir, name, why string) {
	p.logger("pickup").Warn(fmt.Sprintf("%s/%s: %s: removed", queue.Maildrop, name, why))
	os.Remove(filepath.Join(dir, name))
}

// pickup queues one file and reports whether it did. It opens the file
// without following links or blocking on FIFOs, and takes the submitter
// from the owner of what it opened: a user can create files only as
// themselves, and the sticky maildrop lets nobody replace another
// user's file.
func (p *Pickup) pickup(ctx context.Context, cfg *Config, dir, name string) (bool, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil // taken back by its owner
	case errors.Is(err, syscall.ELOOP):
		p.remove(dir, name, "symbolic link")
		return false, nil
	case errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		// A socket, or a file its owner made unreadable: never mail.
		p.remove(dir, name, fmt.Sprintf("cannot open: %v", errors.Unwrap(err)))
		return false, nil
	case err != nil:
		return false, err // EMFILE and the like: try again later
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	uid := st.Uid
	reject := func(why string) (bool, error) {
		p.remove(dir, name, fmt.Sprintf("uid=%d: %s", uid, why))
		return false, nil
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return reject("not a regular file")
	case st.Nlink != 1:
		return reject("more than one link") // a hard link planted by someone else
	case st.Mode&0o002 != 0:
		return reject("writable by other users")
	case !strings.HasPrefix(name, finalPrefix) || len(name) != nameLen:
		return reject("not a sendmail file name")
	}
	sub, content, err := ReadSubmission(f, st.Size)
	if errors.Is(err, ErrMalformed) {
		return reject(err.Error())
	} else if err != nil {
		return false, err
	}
	env, err := envelope(cfg, sub, p.arrival(st))
	if err != nil {
		return reject(err.Error())
	}
	env.ID = p.newID()
	if cfg.MessageSizeLimit > 0 {
		content = &limitReader{r: content, left: cfg.MessageSizeLimit}
	}
	body, msgID, err := rewrite(cfg, env, sub, uid, content)
	if errors.Is(err, ErrMalformed) || errors.Is(err, errTooBig) {
		return reject(err.Error())
	} else if err != nil {
		return false, err
	}
	if cfg.ReplaceStrayCRLF {
		body = straycrlf.NewReader(body) // after the line ends are CRLF
	}
	p.logger("pickup").Info(fmt.Sprintf("%s: uid=%d from=<%s>", env.ID, uid, sub.Sender))
	p.logger("cleanup").Info(fmt.Sprintf("%s: message-id=%s", env.ID, msgID))
	if len(cfg.Stages) > 0 {
		err := p.runStages(ctx, cfg, env, uid, body) // stages.go
		switch {
		case errors.Is(err, ErrMalformed) || errors.Is(err, errTooBig):
			return reject(err.Error())
		case err != nil:
			return false, err
		}
		p.removeQueued(path, &st)
		return true, nil
	}
	if _, err := p.q.Enqueue(ctx, env, body); err != nil {
		if errors.Is(err, ErrMalformed) || errors.Is(err, errTooBig) {
			return reject(err.Error())
		}
		return false, queueError(err)
	}
	p.removeQueued(path, &st)
	return true, nil
}

// removeQueued removes a maildrop name only if it still is the file
// that was queued.
func (p *Pickup) removeQueued(path string, st *syscall.Stat_t) {
	if cur, err := os.Lstat(path); err == nil {
		if cs, ok := cur.Sys().(*syscall.Stat_t); ok && cs.Dev == st.Dev && cs.Ino == st.Ino {
			os.Remove(path)
		}
	}
}

// arrival is when sendmail finished the file, but never in the future.
func (p *Pickup) arrival(st syscall.Stat_t) time.Time {
	now := p.now()
	t := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	if t.After(now) {
		return now
	}
	return t
}

// envelope checks and qualifies the submitted addresses, as cleanup does
// for local submissions (append_at_myorigin), and drops duplicates.
func envelope(cfg *Config, sub *Submission, arrival time.Time) (*queue.Envelope, error) {
	env := &queue.Envelope{Ret: sub.Ret, EnvID: sub.EnvID, EightBit: sub.EightBit, Arrival: arrival}
	var err error
	if sub.Sender != "" {
		if env.Sender, _, err = qualify(cfg, sub.Sender, false); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, r := range sub.Recipients {
		a, orig, err := qualify(cfg, r, true)
		if err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			rc := queue.Recipient{Addr: a, Notify: sub.Notify}
			if a != orig {
				rc.Orig = orig // logged orig_to=<root> as Postfix logs cron's mail
			}
			env.Recipients = append(env.Recipients, rc)
		}
	}
	env.SMTPUTF8 = !isASCII(env.Sender) || slices.ContainsFunc(env.Recipients, func(r queue.Recipient) bool { return !isASCII(r.Addr) })
	return env, nil
}

// ValidAddress reports whether pickup takes addr (SMTP form, maybe
// unqualified) as a sender or a recipient. sendmail checks with it, so
// that nothing it accepts is thrown away by pickup.
func ValidAddress(addr string, rcpt bool) bool {
	_, ok := parseAddress(addr, rcpt)
	return ok
}

// parseAddress also refuses an address whose rewritten form would have
// no valid domain (<"a@b c">: Postfix's internal form is a@b c), so that
// nothing unsendable is queued.
func parseAddress(addr string, rcpt bool) (address.Address, bool) {
	path, rest, err := address.Options{Rcpt: rcpt}.ParsePath("<"+addr+">", true)
	if err != nil || rest != "" || path.Null {
		return address.Address{}, false
	}
	c := address.Canonical(path.Addr, address.DefaultResolveOptions("localhost", nil))
	return path.Addr, address.ValidDomain(c.Domain, true)
}

// qualify is cleanup's rewrite of a local submission's address: the one
// form routing, delivery and the log use (bob is bob@$myorigin), and the
// address as given in the form orig_to= shows it.
func qualify(cfg *Config, addr string, rcpt bool) (queued, orig string, err error) {
	a, ok := parseAddress(addr, rcpt)
	if !ok {
		return "", "", malformed("bad address syntax: %q", addr)
	}
	o := address.DefaultResolveOptions(cfg.MyHostname, nil)
	o.MyOrigin = cfg.MyOrigin
	if cfg.Rewrite != nil {
		o = *cfg.Rewrite
	}
	c := address.Canonical(a, o)
	if !address.ValidDomain(c.Domain, true) {
		return "", "", malformed("bad address syntax: %q", addr)
	}
	return c.String(), a.Resplit().String(), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var errTooBig = errors.New("message file too big")

// limitReader fails once more than left bytes come through.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return 0, errTooBig
	}
	return n, err
}

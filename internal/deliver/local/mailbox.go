package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/queue"
)

// mailbox delivers to the mailbox of the local user t.Value.
func (d *delivery) mailbox(t aliases.Target) outcome {
	u, err := d.a.cfg.Users.Lookup(t.Value)
	if err == nil && !validUserName(u.Name) {
		err = ErrUnknownUser
	}
	if errors.Is(err, ErrUnknownUser) {
		if t.Local == "postmaster" || t.Local == "mailer-daemon" {
			d.a.cfg.Logger.Warn("required alias not found: " + t.Local)
			return sent("discarded")
		}
		return failed("5.1.1", fmt.Sprintf("unknown user: \"%s\"", t.Local))
	}
	if err != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("error looking up passwd info for %s: %v", t.Value, err))
		return failed("4.0.0", "user lookup error")
	}
	if t.Source != aliases.FromRecipient {
		// An alias member gets the loop check a recipient gets.
		if o, loop := d.loopCheck(d.a.qualify(t.Addr)); loop {
			return o
		}
	}
	cfg := &d.a.cfg
	uo := owner{u.UID, u.GID}
	switch {
	case strings.HasSuffix(cfg.HomeMailbox, "/"):
		return d.inHome(u, func(r *os.Root) outcome { return d.maildir(r, cfg.HomeMailbox, uo) })
	case cfg.HomeMailbox != "":
		return d.inHome(u, func(r *os.Root) outcome { return d.mbox(r, cfg.HomeMailbox, u, uo) })
	}
	r, err := os.OpenRoot(cfg.MailSpoolDirectory)
	if err != nil {
		return failed(errnoDSN(err, "4.3.0"), fmt.Sprintf("cannot access mail spool directory %s: %s", cfg.MailSpoolDirectory, strerror(err)))
	}
	defer r.Close()
	if strings.HasSuffix(cfg.MailSpoolDirectory, "/") {
		return d.maildir(r, u.Name+"/", uo)
	}
	// In a group-writable spool directory (Debian's /var/mail is
	// root:mail 2775) Postfix creates mailboxes as user:spool group.
	if st, err := r.Stat("."); err == nil && st.Mode().Perm()&0o020 != 0 {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uo.gid = int(sys.Gid)
		}
	}
	return d.mbox(r, u.Name, u, uo)
}

// validUserName refuses names that cannot be a mailbox file name.
func validUserName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// inHome runs deliver with the user's home directory as root. A missing
// home directory defers, as in Postfix: it may be on a file system that
// is not mounted yet.
func (d *delivery) inHome(u *User, deliver func(*os.Root) outcome) outcome {
	r, err := os.OpenRoot(u.Home)
	if err != nil {
		return failed("4.3.0", fmt.Sprintf("cannot access home directory %s: %s", u.Home, strerror(err)))
	}
	defer r.Close()
	return deliver(r)
}

// chownTo is o when running as root; otherwise files stay ours.
func chownTo(o owner) owner {
	if os.Geteuid() != 0 {
		return noChown
	}
	return o
}

// mbox appends the message to the mbox file name below r for user u.
func (d *delivery) mbox(r *os.Root, name string, u *User, o owner) outcome {
	mailbox := path.Join(r.Name(), name)
	err := d.appendLocked(r, name, chownTo(o), mboxCopy, false, func(st os.FileInfo) error {
		if !st.Mode().IsRegular() {
			return &stepError{"5.2.0", fmt.Sprintf("destination %s is not a regular file", mailbox)}
		}
		// strict_mailbox_ownership: root does not write into a file the
		// recipient could not have written.
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && int(sys.Uid) != u.UID {
			d.a.cfg.Logger.Warn("specify \"strict_mailbox_ownership = no\" to ignore mailbox ownership mismatch")
			return &stepError{"4.2.0", fmt.Sprintf("destination %s is not owned by recipient", mailbox)}
		}
		return nil
	})
	if err != nil {
		return stepFailed(err, fmt.Sprintf("cannot update mailbox %s for user %s. ", mailbox, u.Name))
	}
	return sent("delivered to mailbox")
}

// stepFailed turns an error of a delivery step into an outcome whose
// reason starts with prefix.
func stepFailed(err error, prefix string) outcome {
	var se *stepError
	if errors.As(err, &se) {
		return failed(se.dsn, prefix+se.text)
	}
	return failed(errnoDSN(err, "5.2.0"), prefix+strerror(err))
}

// appendLocked locks the file name below r with a dotlock (a dotlock
// that cannot be created for another reason than "taken" only matters
// when !dotlockMayFail), opens or creates it (safeOpen), lets check veto
// it, takes an fcntl lock and appends the message with opts. On a write
// error the file is cut back to its old size. Devices (/dev/null) are
// neither locked nor synced.
//
// Postfix opens before it dotlocks; taking the dotlock first makes
// creating and chowning a new mailbox one step for every writer that
// honours the dotlock, so that no goroutine finds a mailbox that root
// has created but not yet given to its user.
func (d *delivery) appendLocked(r *os.Root, name string, o owner, opts copyOptions, dotlockMayFail bool, check func(os.FileInfo) error) error {
	if st, err := r.Lstat(name); err != nil || st.Mode().IsRegular() {
		lock := name + ".lock"
		switch err := d.a.dotlock(d.ctx, r, lock); {
		case err == nil:
			defer r.Remove(lock)
		case errors.Is(err, fs.ErrExist) || !dotlockMayFail:
			dsn := errnoDSN(err, "5.2.0")
			if errors.Is(err, fs.ErrExist) {
				dsn = "4.2.0"
			}
			return &stepError{dsn, fmt.Sprintf("unable to create lock file %s: %s", path.Join(r.Name(), lock), strerror(err))}
		default:
			d.a.cfg.Logger.Warn(fmt.Sprintf("unable to create lock file %s: %s", path.Join(r.Name(), lock), strerror(err)))
		}
	}
	f, st, err := safeOpen(r, name, o)
	if err != nil {
		return &stepError{errnoDSN(err, "5.2.0"), err.Error()}
	}
	defer f.Close()
	if err := check(st); err != nil {
		return err
	}
	if st.Mode().IsRegular() {
		if err := d.a.lockFile(d.ctx, f); err != nil {
			return &stepError{errnoDSN(err, "5.2.0"), "unable to lock for exclusive access: " + strerror(err)}
		}
		// The file may have been replaced while we waited for the lock.
		if st, err := f.Stat(); err != nil || checkOpened(r, name, st) != nil {
			return &stepError{"4.2.0", "target file status changed unexpectedly"}
		}
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return &stepError{errnoDSN(err, "5.2.0"), "cannot seek: " + strerror(err)}
	}
	err = d.writeCopy(&limitWriter{w: f, n: d.a.sizeLimit(size)}, opts)
	if err == nil && st.Mode().IsRegular() {
		err = f.Sync()
	}
	if err != nil {
		if st.Mode().IsRegular() {
			f.Truncate(size)
		}
		return copyError(err)
	}
	return nil
}

// copyError words a failed writeCopy as Postfix's mail_copy() does.
func copyError(err error) error {
	var re *readError
	if errors.As(err, &re) {
		return &stepError{"4.3.0", re.Error()}
	}
	return &stepError{errnoDSN(err, "5.3.0"), "error writing message: " + strerror(err)}
}

// maildir delivers into the Maildir dir ("Maildir/") below r: tmp/,
// fsync, link into new/.
func (d *delivery) maildir(r *os.Root, dir string, o owner) outcome {
	o = chownTo(o)
	dir = strings.TrimSuffix(path.Clean(dir), "/")
	fail := func(err error) outcome {
		return stepFailed(err, "maildir delivery failed: ")
	}
	md, err := openMaildir(r, dir, o)
	if err != nil {
		return fail(err)
	}
	defer md.Close()
	name := d.maildirName()
	tmp, dst := "tmp/"+name, "new/"+name
	f, err := md.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // left by an attempt that crashed: the name is ours
		md.Remove(tmp)
		f, err = md.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return fail(&stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("create maildir file %s: %s", path.Join(md.Name(), tmp), strerror(err))})
	}
	err = func() error {
		defer f.Close()
		if o.uid >= 0 {
			if err := f.Chown(o.uid, o.gid); err != nil {
				return err
			}
		}
		if err := d.writeCopy(&limitWriter{w: f, n: d.a.sizeLimit(0)}, maildirCopy); err != nil {
			return copyError(err)
		}
		if err := f.Sync(); err != nil {
			return copyError(err)
		}
		return f.Close()
	}()
	if err == nil {
		if err = md.Link(tmp, dst); errors.Is(err, fs.ErrExist) {
			// An earlier attempt delivered this very copy but died before
			// the queue recorded it: delivering again would duplicate it.
			d.a.cfg.Logger.Info(fmt.Sprintf("%s: %s already holds this message (an earlier attempt was interrupted)", d.m.req.ID, path.Join(md.Name(), dst)))
			err = nil
		} else if err != nil {
			err = &stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("link to %s: %s", path.Join(md.Name(), dst), strerror(err))}
		}
	}
	if rerr := md.Remove(tmp); rerr != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("remove %s: %s", path.Join(md.Name(), tmp), strerror(rerr)))
	}
	if err == nil {
		err = d.syncLater(md, "new")
	}
	if err != nil {
		return fail(err)
	}
	return sent("delivered to maildir")
}

// syncLater opens the directory name below r for an fsync that Deliver
// runs once every copy of the request is in place: the fsync makes the
// copy's link durable, and Deliver runs it after releasing the user's
// delivery slot, shared with the other deliveries into that directory
// meanwhile (Agent.dirSyncs).
func (d *delivery) syncLater(r *os.Root, name string) error {
	dir, err := r.Open(name)
	if err != nil {
		return err
	}
	var key dirKey
	if st, err := dir.Stat(); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			key = dirKey{uint64(sys.Dev), uint64(sys.Ino)}
		}
	}
	if key == (dirKey{}) { // no identity: a group of its own
		key.ino = d.a.syncSeq.Add(1)
	}
	path := path.Join(r.Name(), name)
	d.m.syncs = append(d.m.syncs, pendingSync{rcpt: d.idx, sync: func() error {
		defer dir.Close()
		if err := d.a.dirSyncs.Do(key, func() error { return syncDirFile(dir) }); err != nil {
			return fmt.Errorf("fsync directory %s: %s", path, strerror(err))
		}
		return nil
	}})
	return nil
}

// syncDirFile is the fsync of syncLater: a seam for tests.
var syncDirFile = (*os.File).Sync

// dirKey names a directory by device and inode, for dirSyncs.
type dirKey struct{ dev, ino uint64 }

// pendingSync is a directory fsync a recipient's delivery waits for.
type pendingSync struct {
	rcpt int
	sync func() error
}

// openMaildir makes sure that every directory on the way to the Maildir
// dir below r, and its tmp, new and cur, is a real directory (a symbolic
// link could point the delivery at another user's files), creating what
// is missing for o, and opens the Maildir as a root of its own: the
// steps of the delivery then start from there instead of walking the
// path again each (an open and a close per directory per step).
func openMaildir(r *os.Root, dir string, o owner) (*os.Root, error) {
	fail := func(r *os.Root, name string, err error) error {
		return &stepError{errnoDSN(err, "5.2.0"),
			fmt.Sprintf("create maildir directory %s: %s", path.Join(r.Name(), name), strerror(err))}
	}
	var dirs []string
	for i, c := range dir {
		if c == '/' {
			dirs = append(dirs, dir[:i])
		}
	}
	for _, name := range append(dirs, dir) {
		if err := ensureDir(r, name, o); err != nil {
			return nil, fail(r, name, err)
		}
	}
	md, err := r.OpenRoot(dir)
	if err != nil {
		return nil, &stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("open maildir %s: %s", path.Join(r.Name(), dir), strerror(err))}
	}
	for _, name := range []string{"tmp", "new", "cur"} {
		if err := ensureDir(md, name, o); err != nil {
			md.Close()
			return nil, fail(md, name, err)
		}
	}
	return md, nil
}

// maildirName names a queued message's copy for one recipient after its
// queue ID and recipient index, "arrival.QidRn.host": unique like the
// spec's delivery identifiers, and the same on every attempt, so that a
// retry after a crash finds the copy it already made (in new/; a copy a
// mail reader has moved to cur/ meanwhile is not looked for).
func (d *delivery) maildirName() string {
	id := d.m.req.ID
	t, ok := queue.IDTime(id)
	if !ok {
		return d.a.uniqueName()
	}
	return fmt.Sprintf("%d.Q%sR%d.%s", t.Unix(), id, d.idx, maildirHost(d.a.cfg.MyHostname))
}

func maildirHost(h string) string { return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h) }

var maildirCount atomic.Uint64

// uniqueName is a Maildir file name: "seconds.MmicrosecondsPpidQn.host",
// the delivery identifier of the Maildir spec (cr.yp.to/proto/maildir.html):
// unique on this host as long as the clock does not go back by more than
// the time this process has been running.
func (a *Agent) uniqueName() string {
	now := a.cfg.Now()
	return fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), maildirCount.Add(1), maildirHost(a.cfg.MyHostname))
}

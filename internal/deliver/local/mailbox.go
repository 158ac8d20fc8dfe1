package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver"
)

// mailbox delivers to the mailbox of the local user t.Value.
func (d *delivery) mailbox(t aliases.Target) outcome {
	if d.a.cfg.MailboxTransport {
		return d.pass(t)
	}
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
	if d.m.req.DirectOnly && !cfg.maildir() {
		// An mbox is locked against mail readers, who may hold it for
		// long: the client does not wait for that; the queue does.
		return outcome{kind: deliver.Declined}
	}
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

// maildir reports whether mailboxes are Maildirs (home_mailbox, or else
// mail_spool_directory, ends in "/"), not mbox files.
func (c *Config) maildir() bool {
	if c.HomeMailbox != "" {
		return strings.HasSuffix(c.HomeMailbox, "/")
	}
	return strings.HasSuffix(c.MailSpoolDirectory, "/")
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

// pass leaves a mailbox delivery to mailbox_transport, as Postfix's
// deliver_mailbox does before it looks the user up: the recipient
// itself, or the local address an alias expanded to (qualified with
// myorigin), after the loop check an alias member gets. A direct delivery
// declines it: it is not a store of this agent's.
func (d *delivery) pass(t aliases.Target) outcome {
	addr := d.rcpt.Addr
	if t.Source != aliases.FromRecipient {
		addr = d.a.qualify(t.Addr)
		if o, loop := d.loopCheck(addr); loop {
			return o
		}
	}
	if d.m.req.DirectOnly {
		return outcome{kind: deliver.Declined}
	}
	return outcome{kind: deliver.Sent, dsn: "2.0.0", pass: addr}
}

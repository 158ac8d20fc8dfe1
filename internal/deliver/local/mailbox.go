package local

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

// maildir delivers into the Maildir dir below the directory base for o.
// open opens base as a root and runs what it is given there, or says
// why it cannot: it is needed only when the Maildir is not there as
// plain directories, to create it or to say what is wrong.
func (d *delivery) maildir(base, dir string, o mailstore.Owner, open func(func(*os.Root) outcome) outcome) outcome {
	c := d.copyTo(maildirCopy)
	done, err := d.a.store.MaildirAt(base, dir, o, c)
	if !done {
		return open(func(r *os.Root) outcome {
			return maildirOutcome(d.a.store.Maildir(r, dir, o, c))
		})
	}
	return maildirOutcome(err)
}

func maildirOutcome(err error) outcome {
	if err != nil {
		return stepFailed(err, "maildir delivery failed: ")
	}
	return sent("delivered to maildir")
}

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
	uo := mailstore.Owner{UID: u.UID, GID: u.GID}
	if d.m.req.DirectOnly && !cfg.maildir() {
		// An mbox is locked against mail readers, who may hold it for
		// long: the client does not wait for that; the queue does.
		return outcome{kind: deliver.Declined}
	}
	inHome := func(deliver func(*os.Root) outcome) outcome { return d.inHome(u, deliver) }
	switch {
	case strings.HasSuffix(cfg.HomeMailbox, "/"):
		return d.maildir(u.Home, cfg.HomeMailbox, uo, inHome)
	case cfg.HomeMailbox != "":
		return inHome(func(r *os.Root) outcome { return d.mbox(r, cfg.HomeMailbox, u, uo) })
	}
	if strings.HasSuffix(cfg.MailSpoolDirectory, "/") {
		return d.maildir(cfg.MailSpoolDirectory, u.Name+"/", uo, d.inSpool)
	}
	return d.inSpool(func(r *os.Root) outcome { return d.spoolMbox(r, u, uo) })
}

// inSpool runs deliver with mail_spool_directory as root.
func (d *delivery) inSpool(deliver func(*os.Root) outcome) outcome {
	spool := d.a.cfg.MailSpoolDirectory
	r, err := os.OpenRoot(spool)
	if err != nil {
		return failed(mailstore.ErrnoDSN(err, "4.3.0"), fmt.Sprintf("cannot access mail spool directory %s: %s", spool, mailstore.Strerror(err)))
	}
	defer r.Close()
	return deliver(r)
}

// spoolMbox delivers to u's mbox file in mail_spool_directory r.
func (d *delivery) spoolMbox(r *os.Root, u *User, uo mailstore.Owner) outcome {
	// In a group-writable spool directory (Debian's /var/mail is
	// root:mail 2775) Postfix creates mailboxes as user:spool group.
	if st, err := r.Stat("."); err == nil && st.Mode().Perm()&0o020 != 0 {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uo.GID = int(sys.Gid)
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
		return failed("4.3.0", fmt.Sprintf("cannot access home directory %s: %s", u.Home, mailstore.Strerror(err)))
	}
	defer r.Close()
	return deliver(r)
}

// mbox appends the message to the mbox file name below r for user u.
func (d *delivery) mbox(r *os.Root, name string, u *User, o mailstore.Owner) outcome {
	mailbox := path.Join(r.Name(), name)
	err := d.a.store.Append(r, name, o, d.copyTo(mboxCopy), false, func(st os.FileInfo) error {
		if !st.Mode().IsRegular() {
			return mailstore.Fail("5.2.0", fmt.Sprintf("destination %s is not a regular file", mailbox))
		}
		// strict_mailbox_ownership (postern refuses "no"): root does not
		// write into a file the recipient could not have written.
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && int(sys.Uid) != u.UID {
			d.a.cfg.Logger.Warn(fmt.Sprintf("mailbox %s is owned by uid %d, not by user %s (uid %d)", mailbox, sys.Uid, u.Name, u.UID))
			return mailstore.Fail("4.2.0", fmt.Sprintf("destination %s is not owned by recipient", mailbox))
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
	var se *mailstore.StepError
	if errors.As(err, &se) {
		return failed(se.DSN, prefix+se.Text)
	}
	return failed(mailstore.ErrnoDSN(err, "5.2.0"), prefix+mailstore.Strerror(err))
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

package virtual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/maps"
)

// mailbox is where and as whom a recipient's copy is stored.
type mailbox struct {
	rel      string // below virtual_mailbox_base, cleaned
	maildir  bool   // the map's result ends in "/"
	uid, gid int
}

// recipient delivers to recipient i of req.
func (a *Agent) recipient(ctx context.Context, req *deliver.Request, i int, batch *mailstore.Batch) deliver.Result {
	rcpt := req.Env.Recipients[i]
	user := maps.FoldKey(rcpt.Addr)
	mb, res, ok := a.resolve(user)
	if !ok {
		return res
	}
	// The queue file is not the mailbox owner's to read: the content is
	// opened before the delivery takes the owner's rights.
	rc, err := opener(req)()
	if err != nil {
		return deferred("4.3.0", (&mailstore.ReadError{Err: err}).Error())
	}
	defer rc.Close()
	env := mailstore.Envelope{Sender: req.Env.Sender, Original: rcpt.Original(), Rcpt: rcpt.Addr, Time: a.cfg.Now()}
	opts := mailstore.MboxCopy
	if mb.maildir {
		opts = mailstore.MaildirCopy
	}
	c := &mailstore.Copy{Ctx: ctx, QueueID: req.ID, Rcpt: i, Limit: a.cfg.MailboxLimit, DSN: "4.2.0", Batch: batch,
		Write: func(w io.Writer) error { return mailstore.WriteCopy(w, rc, env, opts) }}
	var result deliver.Result
	err = mailstore.WithFSCreds(mb.uid, mb.gid, func() error {
		if mb.maildir {
			result = a.maildir(mb, c)
		} else {
			result = a.mbox(rcpt.Addr, mb, c)
		}
		return nil
	})
	if err != nil {
		a.cfg.Logger.Warn(fmt.Sprintf("delivery to %s as uid %d: %v", path.Join(a.cfg.MailboxBase, mb.rel), mb.uid, err))
		return deferred("4.3.0", "mail system error")
	}
	return result
}

// resolve finds the recipient's mailbox and its owner, or the result
// that ends the delivery (ok false).
func (a *Agent) resolve(user string) (mb mailbox, res deliver.Result, ok bool) {
	delim := a.cfg.RecipientDelimiter
	v, found, err := find(a.cfg.MailboxMaps, user, delim)
	if err != nil {
		return mb, a.configError(fmt.Sprintf("table %s: lookup %s: %v", mailboxMaps, user, err)), false
	}
	if !found {
		return mb, failed("5.1.1", fmt.Sprintf("unknown user: \"%s\"", user)), false
	}
	mb.maildir = strings.HasSuffix(v, "/")
	mb.rel = path.Clean(strings.TrimLeft(v, "/"))
	if mb.rel == "." || mb.rel == ".." || strings.HasPrefix(mb.rel, "../") {
		return mb, a.configError(fmt.Sprintf("recipient %s: mailbox %s in %s is not below virtual_mailbox_base", user, v, mailboxMaps)), false
	}
	// A ".." that stays below the base still leads out of the path the
	// table meant: a pattern result built from the local part
	// ("a.example/$1/" with "../b.example/victim") would reach another
	// domain's mailbox (postern's hardening; Postfix does not check).
	if slices.Contains(strings.Split(v, "/"), "..") {
		return mb, a.configError(fmt.Sprintf("recipient %s: mailbox %s in %s names a parent directory (..)", user, v, mailboxMaps)), false
	}
	uid, found, err := find(a.cfg.UIDMaps, user, delim)
	if err != nil || !found {
		return mb, a.configError(fmt.Sprintf("recipient %s: not found in %s%s", user, uidMaps, lookupError(err))), false
	}
	n := atol(uid)
	if n < a.cfg.MinimumUID || n > 1<<31-1 {
		return mb, a.configError(fmt.Sprintf("recipient %s: bad uid %s in %s", user, uid, uidMaps)), false
	}
	mb.uid = int(n)
	gid, found, err := find(a.cfg.GIDMaps, user, delim)
	if err != nil || !found {
		return mb, a.configError(fmt.Sprintf("recipient %s: not found in %s%s", user, gidMaps, lookupError(err))), false
	}
	if n = atol(gid); n <= 0 || n > 1<<31-1 {
		return mb, a.configError(fmt.Sprintf("recipient %s: bad gid %s in %s", user, gid, gidMaps)), false
	}
	mb.gid = int(n)
	return mb, deliver.Result{}, true
}

// lookupError words a failed lookup for a warning: "" when the table
// answered.
func lookupError(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// base opens virtual_mailbox_base as a root no path below leads out of.
func (a *Agent) base() (*os.Root, error) { return os.OpenRoot(a.cfg.MailboxBase) }

// maildir delivers c into the Maildir mb, with the owner's rights.
func (a *Agent) maildir(mb mailbox, c *mailstore.Copy) deliver.Result {
	done, err := a.store.MaildirAt(a.cfg.MailboxBase, mb.rel, mailstore.NoChown, c)
	if !done { // to be made, or not plain: the checking way
		var r *os.Root
		if r, err = a.base(); err == nil {
			defer r.Close()
			err = a.store.Maildir(r, mb.rel, mailstore.NoChown, c)
		} else {
			err = &mailstore.StepError{DSN: mailstore.ErrnoDSN(err, c.DSN), Text: fmt.Sprintf("open %s: %s", a.cfg.MailboxBase, mailstore.Strerror(err)), Err: err}
		}
	}
	if err == nil {
		return sent("delivered to maildir")
	}
	if errors.Is(err, syscall.EACCES) {
		a.cfg.Logger.Warn(fmt.Sprintf("maildir access problem for UID/GID=%d/%d: %s", mb.uid, mb.gid, err))
		a.cfg.Logger.Warn("perhaps you need to create the maildirs in advance")
	}
	return stepFailed(err, "maildir delivery failed: ")
}

// mbox appends c to the mbox file mb, with the owner's rights.
func (a *Agent) mbox(addr string, mb mailbox, c *mailstore.Copy) deliver.Result {
	file := path.Join(a.cfg.MailboxBase, mb.rel)
	r, err := a.base()
	if err == nil {
		defer r.Close()
		err = a.store.Append(r, mb.rel, mailstore.NoChown, c, false, func(st os.FileInfo) error {
			if !st.Mode().IsRegular() {
				a.cfg.Logger.Warn(fmt.Sprintf("recipient %s: destination %s is not a regular file", addr, file))
				return mailstore.Fail("5.3.5", "mail system configuration error")
			}
			// strict_mailbox_ownership (postern refuses "no"): not a file
			// the owner did not make.
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && int(sys.Uid) != mb.uid {
				a.cfg.Logger.Warn(fmt.Sprintf("recipient %s: mailbox %s is owned by uid %d, not by the recipient's uid %d", addr, file, sys.Uid, mb.uid))
				return mailstore.Fail("4.2.0", fmt.Sprintf("destination %s is not owned by recipient", file))
			}
			return nil
		})
	} else {
		err = &mailstore.StepError{DSN: mailstore.ErrnoDSN(err, c.DSN), Text: fmt.Sprintf("open %s: %s", a.cfg.MailboxBase, mailstore.Strerror(err)), Err: err}
	}
	if err != nil {
		return stepFailed(err, fmt.Sprintf("delivery failed to mailbox %s: ", file))
	}
	return sent("delivered to mailbox")
}

// stepFailed turns an error of a mailstore step into a result whose
// reason starts with prefix.
func stepFailed(err error, prefix string) deliver.Result {
	var se *mailstore.StepError
	if errors.As(err, &se) {
		return failed(se.DSN, prefix+se.Text)
	}
	return failed(mailstore.ErrnoDSN(err, "4.2.0"), prefix+mailstore.Strerror(err))
}

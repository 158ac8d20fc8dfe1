package local

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

// file delivers to a /file destination of an alias or :include: file:
// appended in mbox format, or into a Maildir when the name ends in "/",
// with the rights of the alias owner (see mailstore.WithFSCreds).
func (d *delivery) file(t aliases.Target) outcome {
	if !allowed(d.a.cfg.AllowMailToFiles, t.Source) {
		return failed("5.7.1", "mail to file is restricted")
	}
	u, o := d.rights(t.UID)
	if o != nil {
		return *o
	}
	p := t.Value
	if strings.HasPrefix(p, "~/") {
		if u.Home == "" {
			return failed("5.3.0", "unknown home directory for: "+p)
		}
		p = u.Home + p[1:]
	}
	maildir := strings.HasSuffix(p, "/")
	dir, base := path.Split(path.Clean(p))
	// The queue file is root's: a message too large to be kept in memory
	// is read from it, so it is opened before taking the owner's rights.
	rc, err := d.m.content()
	if err != nil {
		return failed("4.3.0", (&mailstore.ReadError{Err: err}).Error())
	}
	d.opened = rc
	defer func() {
		if d.opened != nil { // not used: the delivery failed before the copy
			d.opened.Close()
			d.opened = nil
		}
	}()
	var res outcome
	err = mailstore.WithFSCreds(u.UID, u.GID, func() error {
		r, err := os.OpenRoot(dir)
		if err != nil {
			res = failed(mailstore.ErrnoDSN(err, "5.2.0"), fmt.Sprintf("cannot append message to file %s: cannot open directory: %s", p, mailstore.Strerror(err)))
			return nil
		}
		defer r.Close()
		if maildir {
			res = maildirOutcome(d.a.store.Maildir(r, base, mailstore.NoChown, d.copyTo(maildirCopy)))
			return nil
		}
		opts := mboxCopy
		opts.DeliveredTo = d.a.prepend("file")
		if err := d.a.store.Append(r, base, mailstore.NoChown, d.copyTo(opts), true, d.checkFile(p)); err != nil {
			res = stepFailed(err, fmt.Sprintf("cannot append message to file %s: ", p))
		} else {
			res = sent("delivered to file: " + p)
		}
		return nil
	})
	if err != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("file delivery to %s as uid %d: %v", p, u.UID, err))
		return failed("4.3.0", "mail system error")
	}
	return res
}

// checkFile accepts regular files and character devices (/dev/null).
func (d *delivery) checkFile(p string) func(os.FileInfo) error {
	return func(st os.FileInfo) error {
		if st.Mode().IsRegular() || st.Mode()&os.ModeCharDevice != 0 {
			return nil
		}
		return mailstore.Fail("5.2.0", fmt.Sprintf("destination %s is not a regular file", p))
	}
}

// maxInclude bounds what an :include: file may hold.
const maxInclude = 16 << 20

// readInclude is aliases.Expander.ReadInclude: it opens path with the
// rights of uid (0: as root, as Postfix does for root-owned aliases) and
// refuses what Postfix refuses: files that are not regular and files
// anyone may write.
func (a *Agent) readInclude(p string, uid int) (data []byte, fileOwner int, err error) {
	read := func() error {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("cannot open include file %s: %s", p, mailstore.Strerror(err))
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("unable to lookup :include: file %s: %s", p, mailstore.Strerror(err))
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf(":include: file %s is not a regular file", p)
		}
		if st.Mode().Perm()&0o002 != 0 {
			return fmt.Errorf(":include: file %s is world writable", p)
		}
		fileOwner = fileUID(st)
		data, err = io.ReadAll(io.LimitReader(f, maxInclude+1))
		if err == nil && len(data) > maxInclude {
			err = fmt.Errorf(":include: file %s is larger than %d bytes", p, maxInclude)
		}
		return err
	}
	if uid == 0 {
		return data, fileOwner, read()
	}
	u, err := a.cfg.Users.LookupID(uid)
	if err != nil {
		return nil, 0, &aliases.Failure{DSN: "4.3.5", Err: fmt.Errorf("%s: cannot find username for uid %d: %w", p, uid, err)}
	}
	if err := mailstore.WithFSCreds(u.UID, u.GID, read); err != nil {
		return nil, 0, err
	}
	return data, fileOwner, nil
}

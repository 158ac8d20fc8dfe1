package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/internal/queue"
)

// Maildir delivers c into the Maildir dir ("Maildir/", "example.com/u/")
// below r, creating what is missing of it for o: the copy is written as
// tmp/NAME, fsynced, and linked as new/NAME; the fsync of new/ that
// makes the link durable is left to c.Batch. The error is a StepError
// but for the reason's prefix ("maildir delivery failed: ").
//
// Not O_TMPFILE (an unnamed file in new/, linked once written), which
// saves creating and removing the tmp/ name: the file is fsynced while
// it has no name, so on a file system without a journal (ext2, ext4
// without one) its inode reaches the disk with a link count of 0, the
// link raises it only in memory, and after a crash fsck clears the new
// name: a delivered copy lost (TestMaildirCopiesSurvivePowerCut). With
// a second fsync after the link it is safe, and bench/fsyncrate -m
// unnamed shows the file system 18 % faster with it, but end to end
// with 50 recipients it measured even with tmp/ (bench/README, "Unnamed
// copies"): not worth a second way.
func (s *Store) Maildir(r *os.Root, dir string, o Owner, c *Copy) error {
	o = ChownTo(o)
	dir = strings.TrimSuffix(path.Clean(dir), "/")
	top, err := openDir(r, ".")
	if err != nil {
		return failErr(err, c.DSN, fmt.Sprintf("open %s: %s", r.Name(), Strerror(err)))
	}
	defer top.Close()
	var openErr error
	in := func() {
		if ferr := withFD(top, func(base int) error {
			openErr, err = s.maildirFrom(base, r.Name(), dir, o, c)
			return nil
		}); ferr != nil {
			openErr = ferr // nothing was done
		}
	}
	if in(); openErr == nil {
		return err
	}
	md, err := openMaildir(r, dir, o, c.DSN)
	if err != nil {
		return err
	}
	md.Close()
	if in(); openErr == nil {
		return err
	}
	// Checked and made a moment ago, gone or changed since.
	return failErr(openErr, c.DSN, fmt.Sprintf("open maildir %s: %s", path.Join(r.Name(), dir), Strerror(openErr)))
}

// MaildirAt is Maildir below the directory base, given by its path, for
// a Maildir that is there as plain directories: without an os.Root, one
// open for base and one per directory below it. done is false when the
// way in is not plain (base inaccessible, a directory missing, a link):
// nothing was done, and Maildir's way, which creates the Maildir or says
// what is wrong, is the caller's.
func (s *Store) MaildirAt(base, dir string, o Owner, c *Copy) (done bool, err error) {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(base, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return false, nil
	}
	defer syscall.Close(fd)
	openErr, err := s.maildirFrom(fd, base, strings.TrimSuffix(path.Clean(dir), "/"), ChownTo(o), c)
	return openErr == nil, err
}

// maildirFrom delivers c into the Maildir dir below the open directory
// base if its way in is plain (openMaildirAt); openErr says why not, and
// then nothing was done.
func (s *Store) maildirFrom(base int, baseName, dir string, o Owner, c *Copy) (openErr, err error) {
	tmpDir, newDir, openErr := openMaildirAt(base, baseName, dir)
	if openErr != nil {
		return openErr, nil
	}
	err = s.storeViaTmp(tmpDir, newDir, s.maildirName(c), o, c)
	tmpDir.close()
	if err != nil {
		newDir.close()
		return nil, err
	}
	return nil, s.syncLater(c, newDir)
}

// storeViaTmp writes the copy as tmp/name, fsyncs it and links it as
// new/name: Maildir's classic way.
func (s *Store) storeViaTmp(tmpDir, newDir dirFD, name string, o Owner, c *Copy) error {
	tmpName := name
	f, err := tmpDir.create(tmpName, 0o600)
	if errors.Is(err, fs.ErrExist) { // left by an attempt that crashed: the name is ours
		tmpDir.remove(tmpName)
		f, err = tmpDir.create(tmpName, 0o600)
	}
	if err != nil {
		return failErr(err, c.DSN, fmt.Sprintf("create maildir file %s: %s", tmpDir.path(tmpName), Strerror(err)))
	}
	size, err := fillCopy(f, o, c)
	if cerr := f.close(); err == nil && cerr != nil {
		err = CopyError(cerr)
	}
	if err == nil {
		err = tmpDir.link(tmpName, newDir, name)
		if errors.Is(err, fs.ErrExist) && !sameSize(newDir, name, size) {
			// Not this copy, though named after its queue ID (a clock
			// set back, an ID reused): it gets a name of its own.
			name = s.UniqueName()
			if err = tmpDir.link(tmpName, newDir, name); errors.Is(err, fs.ErrExist) {
				// Taken too: no copy was made (review 19b L7), and
				// another attempt gets another unique name.
				err = Fail("4.3.0", fmt.Sprintf("link to %s: a file of that unique name exists", newDir.path(name)))
			}
		}
		err = s.linked(newDir, err, name, c)
	}
	if rerr := tmpDir.remove(tmpName); rerr != nil {
		s.warn(fmt.Sprintf("remove %s: %s", tmpDir.path(tmpName), Strerror(rerr)))
	}
	return err
}

// fillCopy writes the copy into f, for o, and fsyncs it; size is what
// was written.
func fillCopy(f fileFD, o Owner, c *Copy) (size int64, err error) {
	if o.UID >= 0 {
		if _, err := retryEINTR(func() (int, error) { return 0, syscall.Fchown(int(f), o.UID, o.GID) }); err != nil {
			return 0, err // the agent words it as a failed step
		}
	}
	w := &limitWriter{w: f, n: c.sizeLimit(0)}
	if err := c.Write(w); err != nil {
		return w.written, CopyError(err)
	}
	if err := f.sync(); err != nil {
		return w.written, CopyError(err)
	}
	return w.written, nil
}

// sameSize reports whether name in dir is a regular file of size bytes:
// the copy an earlier attempt made is exactly as long as this one.
func sameSize(dir dirFD, name string, size int64) bool {
	st, err := dir.stat(name)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == size
}

// linked words the outcome of linking the copy as new/name. A name that
// exists already (with this copy's size) is this very copy: an earlier
// attempt delivered it but died before the queue recorded it, and
// delivering again would duplicate it.
func (s *Store) linked(newDir dirFD, err error, name string, c *Copy) error {
	dst := newDir.path(name)
	switch {
	case errors.As(err, new(*StepError)):
		return err
	case errors.Is(err, fs.ErrExist):
		s.info(fmt.Sprintf("%s: %s already holds this message (an earlier attempt was interrupted)", c.QueueID, dst))
		return nil
	case err != nil:
		return failErr(err, c.DSN, fmt.Sprintf("link to %s: %s", dst, Strerror(err)))
	}
	return nil
}

// openMaildir makes sure that every directory on the way to the Maildir
// dir below r, and its tmp, new and cur, is a real directory (a symbolic
// link could point the delivery at another user's files), creating what
// is missing for o, and opens the Maildir as a root of its own: the
// steps of the delivery then start from there instead of walking the
// path again each (an open and a close per directory per step).
func openMaildir(r *os.Root, dir string, o Owner, dsn string) (*os.Root, error) {
	fail := func(r *os.Root, name string, err error) error {
		return failErr(err, dsn, fmt.Sprintf("create maildir directory %s: %s", path.Join(r.Name(), name), Strerror(err)))
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
		return nil, failErr(err, dsn, fmt.Sprintf("open maildir %s: %s", path.Join(r.Name(), dir), Strerror(err)))
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
func (s *Store) maildirName(c *Copy) string {
	if name := MaildirName(c.QueueID, c.Rcpt, s.Hostname); name != "" {
		return name
	}
	return s.UniqueName()
}

// MaildirName is the name of the copy of a queued message for recipient
// index rcpt in new/, on hostname ("" when the queue ID carries no time:
// such a copy gets a unique name).
func MaildirName(queueID string, rcpt int, hostname string) string {
	t, ok := queue.IDTime(queueID)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d.Q%sR%d.%s", t.Unix(), queueID, rcpt, maildirHost(hostname))
}

// maildirHost is the host name as a Maildir file name holds it: "/"
// and ":" (the separator of the info part) escaped.
func maildirHost(h string) string {
	if !strings.ContainsAny(h, "/:") {
		return h // the usual case: no Replacer to build per copy
	}
	return hostEscaper.Replace(h)
}

var hostEscaper = strings.NewReplacer("/", `\057`, ":", `\072`)

var maildirCount atomic.Uint64

// UniqueName is a Maildir file name: "seconds.MmicrosecondsPpidQn.host",
// the delivery identifier of the Maildir spec (cr.yp.to/proto/maildir.html):
// unique on this host as long as the clock does not go back by more than
// the time this process has been running.
func (s *Store) UniqueName() string {
	now := s.now()
	return fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), maildirCount.Add(1), maildirHost(s.Hostname))
}

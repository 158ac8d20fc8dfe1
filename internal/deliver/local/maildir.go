package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/postern-mta/postern/internal/queue"
)

// maildir delivers into the Maildir dir ("Maildir/") below r: the copy is
// written as tmp/NAME, fsynced, and linked as new/NAME; the fsync of new/
// that makes the link durable comes later (syncLater).
//
// Not O_TMPFILE (an unnamed file in new/, linked once written), which
// saves creating and removing the tmp/ name: the file is fsynced while
// it has no name, so on a file system without a journal (ext2, ext4
// without one) its inode reaches the disk with a link count of 0, the
// link raises it only in memory, and after a crash fsck clears the new
// name: a delivered copy lost. A second fsync after the link costs more
// than tmp/ does.
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
	newDir, err := openDir(md, "new")
	if err != nil {
		return fail(&stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("open %s: %s", path.Join(md.Name(), "new"), strerror(err))})
	}
	tmpDir, err := openDir(md, "tmp")
	if err != nil {
		newDir.Close()
		return fail(&stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("open %s: %s", path.Join(md.Name(), "tmp"), strerror(err))})
	}
	err = d.storeViaTmp(tmpDir, newDir, d.maildirName(), o)
	tmpDir.Close()
	if err != nil {
		newDir.Close()
		return fail(err)
	}
	d.syncLater(newDir, newDir.Name())
	return sent("delivered to maildir")
}

// storeViaTmp writes the copy as tmp/name, fsyncs it and links it as
// new/name: Maildir's classic way.
func (d *delivery) storeViaTmp(tmpDir, newDir *os.File, name string, o owner) error {
	tmpName := name
	f, err := createIn(tmpDir, tmpName, 0o600)
	if errors.Is(err, fs.ErrExist) { // left by an attempt that crashed: the name is ours
		removeIn(tmpDir, tmpName)
		f, err = createIn(tmpDir, tmpName, 0o600)
	}
	if err != nil {
		return &stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("create maildir file %s: %s", path.Join(tmpDir.Name(), tmpName), strerror(err))}
	}
	err = d.fillCopy(f, o)
	var size int64
	if st, serr := f.Stat(); serr == nil {
		size = st.Size()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = copyError(cerr)
	}
	if err == nil {
		err = linkIn(tmpDir, tmpName, newDir, name)
		if errors.Is(err, fs.ErrExist) && !sameSize(newDir, name, size) {
			// Not this copy, though named after its queue ID (a clock
			// set back, an ID reused): it gets a name of its own.
			name = d.a.uniqueName()
			err = linkIn(tmpDir, tmpName, newDir, name)
		}
		err = d.linked(newDir, err, name)
	}
	if rerr := removeIn(tmpDir, tmpName); rerr != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("remove %s: %s", path.Join(tmpDir.Name(), tmpName), strerror(rerr)))
	}
	return err
}

// fillCopy writes the copy into f, for o, and fsyncs it.
func (d *delivery) fillCopy(f *os.File, o owner) error {
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
	return nil
}

// sameSize reports whether name in dir is a regular file of size bytes:
// the copy an earlier attempt made is exactly as long as this one.
func sameSize(dir *os.File, name string, size int64) bool {
	st, err := statIn(dir, name)
	return err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size == size
}

// linked words the outcome of linking the copy as new/name. A name that
// exists already (with this copy's size) is this very copy: an earlier
// attempt delivered it but died before the queue recorded it, and
// delivering again would duplicate it.
func (d *delivery) linked(newDir *os.File, err error, name string) error {
	dst := path.Join(newDir.Name(), name)
	switch {
	case errors.Is(err, fs.ErrExist):
		d.a.cfg.Logger.Info(fmt.Sprintf("%s: %s already holds this message (an earlier attempt was interrupted)", d.m.req.ID, dst))
		return nil
	case err != nil:
		return &stepError{errnoDSN(err, "5.2.0"), fmt.Sprintf("link to %s: %s", dst, strerror(err))}
	}
	return nil
}

// syncLater keeps the open directory dir (new/) for an fsync that
// Deliver runs once every copy of the request is in place: the fsync
// makes the copy's link durable, and Deliver runs it after releasing the
// user's delivery slot, shared with the other deliveries into that
// directory meanwhile (Agent.dirSyncs). It closes dir.
func (d *delivery) syncLater(dir *os.File, name string) {
	var key dirKey
	if st, err := dir.Stat(); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			key = dirKey{uint64(sys.Dev), uint64(sys.Ino)}
		}
	}
	if key == (dirKey{}) { // no identity: a group of its own
		key.ino = d.a.syncSeq.Add(1)
	}
	d.m.syncs = append(d.m.syncs, pendingSync{rcpt: d.idx, sync: func() error {
		defer dir.Close()
		if err := d.a.dirSyncs.Do(key, func() error { return syncDirFile(dir) }); err != nil {
			return fmt.Errorf("fsync directory %s: %s", name, strerror(err))
		}
		return nil
	}})
	// Each pending fsync holds new/ open: an alias of thousands of local
	// users must not run out of file descriptors.
	if len(d.m.syncs)-d.m.synced >= maxPendingSyncs {
		d.m.runSyncs()
	}
}

// maxPendingSyncs bounds the directories a request keeps open for
// syncLater; beyond it the fsyncs run at once, in the user's slot.
var maxPendingSyncs = 64

// syncDirFile is the fsync of syncLater: a seam for tests.
var syncDirFile = (*os.File).Sync

// dirKey names a directory by device and inode, for dirSyncs.
type dirKey struct{ dev, ino uint64 }

// pendingSync is a directory fsync a recipient's delivery waits for.
type pendingSync struct {
	rcpt int
	sync func() error
	err  error // once run
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

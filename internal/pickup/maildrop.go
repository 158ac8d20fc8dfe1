package pickup

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/internal/fdperm"
	"github.com/postern-mta/postern/internal/queue"
)

// Modes of the directories and files (see doc.go for why).
const (
	// MaildropMode: anyone may create files and reach them by name
	// (-wx), nobody but mail_owner may list them (r), only a file's owner
	// may remove or rename it (sticky), and new files get mail_owner's
	// group (setgid).
	MaildropMode = fs.ModeDir | fs.ModeSetgid | fs.ModeSticky | 0o733
	fileMode     = 0o640 // owner writes, mail_owner's group (pickup) reads
	publicDir    = "public"
	triggerName  = "pickup"
)

// File names in the maildrop: "t." while sendmail writes, "m." once
// complete. Neither is a queue ID, so queue tools skip both.
const (
	tmpPrefix   = "t."
	finalPrefix = "m."
	nameLen     = 2 + 32
)

// Prepare makes the maildrop of the queue under queueDir usable by every
// local user, and creates the public directory that holds pickup's
// wake-up socket. The daemon calls it as mail_owner once it has dropped
// root; an installer may call it as root, and then uid and gid (the
// mail_owner's) become the owners. The queue directory must be
// searchable by everyone for sendmail to reach the maildrop.
//
// As root it works in a directory mail_owner can write, so it changes
// nothing by name: each directory is opened with O_NOFOLLOW|O_DIRECTORY
// (a symbolic link planted there is refused, not followed) and checked,
// owned and chmodded through that descriptor (internal/fdperm).
func Prepare(queueDir string, uid, gid int) error {
	if err := os.MkdirAll(queueDir, 0o755); err != nil {
		return fmt.Errorf("maildrop: %w", err)
	}
	q, err := fdperm.OpenDir(queueDir)
	if err != nil {
		return fmt.Errorf("maildrop: %w", err)
	}
	defer q.Close()
	qs, err := fdperm.Stat(q)
	if err != nil {
		return fmt.Errorf("maildrop: %w", err)
	}
	if qs.Mode&0o001 == 0 {
		// The queues inside stay 0700: only the way through opens.
		if err := unix.Fchmod(int(q.Fd()), fdperm.Perm(&qs)|0o011); err != nil {
			return fmt.Errorf("maildrop: make %s searchable: %w", queueDir, err)
		}
	}
	if os.Geteuid() != 0 {
		uid, gid = -1, -1
	}
	for _, d := range []struct {
		name string
		mode uint32
	}{{queue.Maildrop, unixMaildropMode}, {publicDir, 0o755}} {
		path := filepath.Join(queueDir, d.name)
		if err := unix.Mkdirat(int(q.Fd()), d.name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("maildrop: mkdir %s: %w", path, err)
		}
		dir, err := fdperm.OpenDirAt(q, d.name)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("maildrop: %s is not a directory (a symbolic link is not followed)", path)
		} else if err != nil {
			return fmt.Errorf("maildrop: %w", err)
		}
		st, err := fdperm.Stat(dir)
		if err == nil && st.Dev != qs.Dev {
			err = fmt.Errorf("%s is on another file system than %s", path, queueDir)
		}
		if err == nil {
			_, err = fdperm.Set(dir, &st, uid, gid, d.mode)
		}
		dir.Close()
		if err != nil {
			return fmt.Errorf("maildrop: %w", err)
		}
	}
	return nil
}

// unixMaildropMode is MaildropMode as chmod(2) bits.
const unixMaildropMode = unix.S_ISGID | unix.S_ISVTX | 0o733

// ErrNotReady: the maildrop does not exist or is not set up (Prepare has
// not run: the daemon never started, or postern is not installed).
var ErrNotReady = errors.New("the maildrop directory is not set up")

// CheckMaildrop reports ErrNotReady when dir is not a maildrop Prepare
// set up.
func CheckMaildrop(dir string) error {
	_, err := checkMaildrop(dir)
	return err
}

// checkMaildrop verifies that dir is a maildrop Prepare set up, so that a
// file dropped there can be read by pickup and by no other user.
func checkMaildrop(dir string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotReady, dir, err)
	}
	// Whether others may write is the administrator's choice (a group
	// can be made the only submitters); creating the file tells.
	want := uint32(syscall.S_ISGID | syscall.S_ISVTX)
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR || st.Mode&want != want || st.Mode&0o004 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %o, want %o (start postern once, or run postern install)",
			ErrNotReady, dir, st.Mode&0o7777, 0o3733)
	}
	return &st, nil
}

// Draft is a maildrop file being written by sendmail. Nothing is visible
// to pickup until Commit; Abort (or a failed Commit) leaves nothing
// behind.
type Draft struct {
	dir, tmp string
	f        *os.File
	w        *Writer
	done     bool
}

// Create starts a maildrop file for s in dir (queue_directory/maildrop).
// Its name is random (128 bits), its owner is the calling process's
// user: that is the submitter's identity, and nothing in the file is.
func Create(dir string, s *Submission) (*Draft, error) {
	dirSt, err := checkMaildrop(dir)
	if err != nil {
		return nil, err
	}
	name, err := randomName()
	if err != nil {
		return nil, err
	}
	d := &Draft{dir: dir, tmp: filepath.Join(dir, tmpPrefix+name)}
	d.f, err = os.OpenFile(d.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fileMode)
	if err != nil {
		return nil, fmt.Errorf("create maildrop file: %w", err)
	}
	// The umask may have taken the group's read bit away; fchmod is not
	// subject to it.
	if err := d.f.Chmod(fileMode); err != nil {
		d.Abort()
		return nil, fmt.Errorf("chmod maildrop file: %w", err)
	}
	fst, err := d.f.Stat()
	if err != nil {
		d.Abort()
		return nil, err
	}
	if gid := fst.Sys().(*syscall.Stat_t).Gid; gid != dirSt.Gid {
		d.Abort()
		return nil, fmt.Errorf("%w: %s: new file has group %d, not the directory's %d", ErrNotReady, dir, gid, dirSt.Gid)
	}
	if d.w, err = NewWriter(d.f, s); err != nil {
		d.Abort()
		return nil, fmt.Errorf("write maildrop file: %w", err)
	}
	return d, nil
}

func randomName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Write adds message content.
func (d *Draft) Write(p []byte) (int, error) { return d.w.Write(p) }

// Size is the content written so far.
func (d *Draft) Size() int64 { return d.w.Size() }

// Commit finishes the file, makes it durable and gives it its final
// name, then wakes pickup if the daemon runs. It returns that name.
func (d *Draft) Commit() (string, error) {
	if err := d.w.Close(); err != nil {
		d.Abort()
		return "", fmt.Errorf("write maildrop file: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		d.Abort()
		return "", fmt.Errorf("fsync maildrop file: %w", err)
	}
	final := filepath.Join(d.dir, finalPrefix+strings.TrimPrefix(filepath.Base(d.tmp), tmpPrefix))
	if err := os.Rename(d.tmp, final); err != nil {
		d.Abort()
		return "", fmt.Errorf("rename maildrop file: %w", err)
	}
	// Only mail_owner may open (and so fsync) the maildrop directory.
	// On a journalling file system (ext4, xfs) this second fsync commits
	// the transaction that holds the rename.
	err := d.f.Sync()
	d.f.Close()
	d.done = true
	if err != nil {
		os.Remove(final)
		return "", fmt.Errorf("fsync maildrop file: %w", err)
	}
	Wake(filepath.Dir(d.dir))
	return filepath.Base(final), nil
}

// Abort removes the unfinished file.
func (d *Draft) Abort() {
	if d.done {
		return
	}
	d.done = true
	d.f.Close()
	os.Remove(d.tmp)
}

// Wake tells a running pickup that the maildrop of the queue under
// queueDir has new mail. It never fails: when the daemon is down, the
// mail waits for it.
func Wake(queueDir string) {
	addr := &net.UnixAddr{Name: filepath.Join(queueDir, publicDir, triggerName), Net: "unixgram"}
	c, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return
	}
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte{'W'})
	c.Close()
}

// Package powercuttest gives root-only tests a file system whose power they
// can cut: an ext4 image without a journal (as on the bench machine,
// where an fsync's ordering matters most) mounted on a loop device. Cut
// takes the image as the device holds it at that moment (what the file
// system still keeps in memory is not there, as after a power cut),
// repairs the copy with e2fsck as a boot would, and mounts it.
package powercuttest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FS is a mounted ext4 image.
type FS struct {
	Dir string // where it is mounted

	t    testing.TB
	work string
	img  string
	cuts int
}

// New makes and mounts an image of size bytes, or skips t with the
// reason when that cannot be done here (not root, a tool or the loop
// device missing). Everything is unmounted when t ends.
func New(t testing.TB, size int64) *FS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts an ext4 image on a loop device")
	}
	for _, tool := range []string{"mkfs.ext4", "e2fsck", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	work := t.TempDir()
	f := &FS{t: t, work: work, img: filepath.Join(work, "img")}
	if err := os.WriteFile(f.img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.img, size); err != nil {
		t.Fatal(err)
	}
	if err := run("mkfs.ext4", "-q", "-O", "^has_journal", f.img); err != nil {
		t.Fatal(err)
	}
	dir, err := f.mount(f.img, "mnt", "loop")
	if err != nil {
		t.Skipf("cannot mount a loop device here: %v", err)
	}
	f.Dir = dir
	return f
}

// Cut cuts the power: it copies the image as the device holds it now,
// unmounts the live file system (whatever it still had in memory is
// lost with the power), runs e2fsck on the copy and mounts the copy,
// read-write, at the directory it returns. fsck is e2fsck's output.
// Whoever used files below Dir must have closed them.
func (f *FS) Cut() (dir, fsck string) {
	f.t.Helper()
	f.cuts++
	snap := filepath.Join(f.work, fmt.Sprintf("cut%d.img", f.cuts))
	if err := copyFile(f.img, snap); err != nil {
		f.t.Fatal(err)
	}
	if err := run("umount", f.Dir); err != nil {
		f.t.Fatal(err)
	}
	out, _ := exec.Command("e2fsck", "-fy", snap).CombinedOutput() // exit 1: errors corrected
	dir, err := f.mount(snap, fmt.Sprintf("cut%d", f.cuts), "loop")
	if err != nil {
		f.t.Fatalf("%v\nfsck: %s", err, out)
	}
	return dir, string(out)
}

// mount mounts img at a new directory name below the work directory,
// unmounted when the test ends.
func (f *FS) mount(img, name, opts string) (string, error) {
	dir := filepath.Join(f.work, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if err := run("mount", "-o", opts, img, dir); err != nil {
		return "", err
	}
	f.t.Cleanup(func() { run("umount", dir) })
	return dir, nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// installNames are the commands other programs expect, and where Debian
// puts them: the postern binary answers as each by argv[0].
var installNames = []struct{ dir, name string }{
	{"sbin", "sendmail"}, {"bin", "mailq"}, {"bin", "newaliases"}, {"sbin", "postfix"},
}

// runInstall copies this binary to PREFIX/sbin/postern and links
// sendmail, mailq, newaliases and postfix to it. A name that belongs to another
// program (another MTA's sendmail) is left alone unless -force, which
// keeps it as NAME.pre-postern.
func runInstall(args []string, stdout, stderr io.Writer) int {
	fs, _ := daemonFlags("install", stderr)
	prefix := fs.String("prefix", "/usr", "install under `DIR`/sbin and DIR/bin")
	force := fs.Bool("force", false, "replace another program's sendmail, mailq, newaliases, postfix (kept as NAME.pre-postern)")
	if fs.Parse(args) != nil {
		return 64
	}
	self, err := os.Executable()
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	bin := filepath.Join(*prefix, "sbin", "postern")
	if err := copyExecutable(self, bin); err != nil {
		return fatalf(stderr, "install %s: %v", bin, err)
	}
	fmt.Fprintf(stdout, "installed %s\n", bin)
	exit := 0
	for _, n := range installNames {
		link := filepath.Join(*prefix, n.dir, n.name)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fatalf(stderr, "%v", err)
		}
		if target, err := os.Readlink(link); err == nil && target == bin {
			continue // ours already
		}
		if _, err := os.Lstat(link); err == nil {
			if !*force {
				fmt.Fprintf(stderr, "postern install: %s belongs to another program: left alone (use -force to replace it)\n", link)
				exit = 1
				continue
			}
			if err := os.Rename(link, link+".pre-postern"); err != nil {
				return fatalf(stderr, "%v", err)
			}
			fmt.Fprintf(stdout, "kept the previous %s as %s.pre-postern\n", link, link)
		}
		if err := os.Symlink(bin, link); err != nil {
			return fatalf(stderr, "%v", err)
		}
		fmt.Fprintf(stdout, "linked %s -> %s\n", link, bin)
	}
	return exit
}

// copyExecutable installs src at dst atomically (temp file, rename).
func copyExecutable(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".postern-install-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

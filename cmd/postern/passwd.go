package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/atomicfile"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/passwd"
	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

const passwdUsage = "usage: postern passwd [-c DIR] [-f FILE] [-s SCHEME] USER   (add or change)\n" +
	"       postern passwd [-c DIR] [-f FILE] -d USER              (delete)"

// runPasswd adds, changes (-s SCHEME) or deletes (-d) a user of the
// passwd-file of smtpd_sasl_type = passwd-file (smtpd_sasl_path, or -f
// FILE). The password is read from the terminal without echo, twice,
// or as one line from standard input when that is not a terminal. The
// file is replaced atomically; other lines and its mode are kept.
func runPasswd(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	flags, dirFlag := daemonFlags("passwd", stderr)
	file := flags.String("f", "", "the passwd-file (default: smtpd_sasl_path of main.cf)")
	scheme := flags.String("s", passwd.DefaultScheme, "password `scheme`: ARGON2ID, BLF-CRYPT, SHA512-CRYPT or SHA256-CRYPT")
	del := flags.Bool("d", false, "delete the user")
	flags.Usage = func() { fmt.Fprintln(stderr, passwdUsage); flags.PrintDefaults() }
	if flags.Parse(args) != nil {
		return 64
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "postern passwd: give exactly one user name")
		flags.Usage()
		return 64
	}
	user := passwd.Fold(flags.Arg(0))
	if err := passwd.CheckUser(user); err != nil {
		fmt.Fprintf(stderr, "postern passwd: %v\n", err)
		return 64
	}
	if *del && isSet(flags, "s") {
		fmt.Fprintln(stderr, "postern passwd: -d and -s do not go together")
		return 64
	}
	path := *file
	if path == "" {
		var err error
		if path, err = passwdFileOf(configDir(*dirFlag)); err != nil {
			return fatalf(stderr, "%v", err)
		}
	}
	var field string // the new password field
	if !*del {
		if err := passwd.CheckNewScheme(*scheme); err != nil {
			fmt.Fprintf(stderr, "postern passwd: -s: %v\n", err)
			return 64
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		if field, err = passwd.NewHash(*scheme, pw); err != nil {
			return fatalf(stderr, "%v", err)
		}
	}

	// One postern passwd at a time changes the file (after the prompt):
	// the lock is on its directory, since the file itself is replaced.
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fatalf(stderr, "%v", err)
	}
	defer unlock()
	old, err := os.ReadFile(path)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && !*del) {
		return fatalf(stderr, "%v", err)
	}
	var (
		data []byte
		verb string
	)
	if *del {
		var found bool
		if data, found = passwd.DeleteUser(old, user); !found {
			return fatalf(stderr, "user %s is not in %s", user, path)
		}
		verb = "deleted user %s from %s\n"
	} else {
		var added bool
		data, added = passwd.SetUser(old, user, field)
		verb = "changed the password of %s in %s\n"
		if added {
			verb = "added user %s to %s\n"
		}
	}
	// Never write a file the server would refuse: the old one stays.
	if _, err := passwd.Parse(path, data); err != nil {
		return fatalf(stderr, "%v (the file is left unchanged: fix it by hand)", err)
	}
	uid, gid := fileOwner(path, configDir(*dirFlag), stderr)
	if err := atomicfile.WriteFileOwned(path, data, 0o640, uid, gid); err != nil {
		return fatalf(stderr, "%s: %v", path, err)
	}
	fmt.Fprintf(stdout, "postern passwd: "+verb, user, path)
	return 0
}

// lockDir takes an exclusive flock on dir until unlock.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { d.Close() }, nil
}

// fileOwner is the owner and group the file gets: an existing file's
// own, so that whoever read it still can; a new file created by root is
// root's and mail_owner's group's, for the daemon runs as mail_owner
// when it re-reads the file. -1: the writer's.
func fileOwner(path, confDir string, stderr io.Writer) (uid, gid int) {
	if st, err := os.Stat(path); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			return int(sys.Uid), int(sys.Gid)
		}
	}
	if os.Geteuid() != 0 {
		return -1, -1
	}
	name := "mail_owner"
	if cfg, err := config.Load(confDir); err == nil {
		if v, err := cfg.Get("mail_owner"); err == nil {
			name = v
			if u, err := user.Lookup(v); err == nil {
				if g, err := strconv.Atoi(u.Gid); err == nil {
					return 0, g
				}
			}
		}
	}
	fmt.Fprintf(stderr, "postern passwd: warning: %s is new and readable by root only: %s is unknown; give it the group of the user postern runs as (chgrp)\n", path, name)
	return -1, -1
}

// isSet reports whether flag name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// passwdFileOf is smtpd_sasl_path of the configuration in dir, which
// must use the passwd-file backend.
func passwdFileOf(dir string) (string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return "", err
	}
	typ, err := cfg.Get("smtpd_sasl_type")
	if err != nil {
		return "", err
	}
	if typ != passwdfile.Type {
		return "", fmt.Errorf("smtpd_sasl_type is %q, not %s, in %s/main.cf: name the file with -f FILE", typ, passwdfile.Type, dir)
	}
	return passwdfile.Path(cfg)
}

// readPassword reads the new password: from a terminal, without echo and
// twice; otherwise one line of stdin.
func readPassword(stdin *os.File, stderr io.Writer) ([]byte, error) {
	var pw []byte
	if t, ok := openTerminal(stdin); ok {
		defer t.restore()
		first, err := t.prompt(stderr, "New password: ")
		if err != nil {
			return nil, err
		}
		again, err := t.prompt(stderr, "Retype new password: ")
		if err != nil {
			return nil, err
		}
		if string(first) != string(again) {
			return nil, errors.New("the passwords differ; nothing changed")
		}
		pw = first
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 2*sasl.MaxCredential)).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, fmt.Errorf("no password on standard input: %v", err)
		}
		pw = []byte(strings.TrimRight(line, "\r\n"))
	}
	switch {
	case len(pw) == 0:
		return nil, errors.New("empty password; nothing changed")
	case len(pw) > sasl.MaxCredential:
		return nil, fmt.Errorf("the password is longer than %d bytes, more than SMTP AUTH accepts; nothing changed", sasl.MaxCredential)
	case bytes.IndexByte(pw, 0) >= 0:
		return nil, errors.New("the password has a NUL byte, which PLAIN cannot carry; nothing changed")
	}
	return pw, nil
}

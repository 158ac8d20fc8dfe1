package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/passwd"
	"github.com/postern-mta/postern/internal/sasl/passwdfile"
)

// passwdFile checks the file of smtpd_sasl_type = passwd-file: it must
// parse (an error names its line, as the daemon would refuse it), the
// daemon must be able to read it again as mail_owner (it reloads itself
// when it changes), and everyone reading the hashes is a warning.
func (c *checker) passwdFile() {
	if c.value("smtpd_sasl_type") != passwdfile.Type {
		return
	}
	const param = "smtpd_sasl_path"
	path, err := passwdfile.Path(c.cfg)
	if err != nil {
		c.errorf(param, "%v", err)
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		c.errorf(param, "passwd-file %s: %v (create it with \"postern passwd USER\")", path, errors.Unwrap(err))
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.errorf(param, "passwd-file %s: %v", path, errors.Unwrap(err))
		return
	}
	f, err := passwd.Parse(path, data)
	if err != nil {
		var pe *passwd.ParseError
		if errors.As(err, &pe) {
			c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Error, File: path, Line: pe.Line, Msg: pe.Err.Error()})
		} else {
			c.errorf(param, "passwd-file %s: %v", path, err)
		}
		return
	}
	for _, e := range f.Users {
		if e.Name != e.User {
			c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Warning, File: path, Line: e.Line,
				Msg: fmt.Sprintf("user %s has capitals: postern matches it as %s, but Dovecot (auth_username_format = %%Lu) never would; write %s", e.Name, e.User, e.User)})
		}
	}
	mode := st.Mode().Perm()
	if mode&0o004 != 0 {
		c.warnf(param, "passwd-file %s is readable by everyone (mode %o): anyone can try to crack the hashes; run \"chmod o-rwx %s\"", path, mode, path)
	}
	if owner, ok := c.mailOwner(); ok && !readableBy(st, owner.UID, owner.GID) {
		c.errorf(param, "passwd-file %s (mode %o) cannot be read by mail_owner %s, as which the daemon re-reads it when it changes: run \"chgrp %d %s; chmod g+r %s\"", path, mode, owner.Name, owner.GID, path, path)
	}
}

// readableBy reports whether uid with the one group gid (the daemon
// keeps no supplementary groups) may read st.
func readableBy(st fs.FileInfo, uid, gid int) bool {
	mode := st.Mode().Perm()
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		switch {
		case int(sys.Uid) == uid:
			return mode&0o400 != 0
		case int(sys.Gid) == gid:
			return mode&0o040 != 0
		}
	}
	return mode&0o004 != 0
}

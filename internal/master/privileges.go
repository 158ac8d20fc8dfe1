package master

import (
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
)

// dropPrivileges switches a daemon started as root to mail_owner once the
// sockets are bound, after giving it the queue and data directories.
// Started as another user it does nothing: ports must then be unprivileged.
func dropPrivileges(cfg *config.Config, log *slog.Logger, dirs ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	name, err := cfg.Get("mail_owner")
	if err != nil {
		return err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("parameter mail_owner: unknown user %q: create it (see README) or set mail_owner", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		log.Warn("mail_owner is root: the daemon keeps running as root")
		return nil
	}
	for _, d := range dirs {
		if err := os.Chown(d, uid, gid); err != nil {
			return diraccess.Explain("directory", d, fmt.Errorf("give it to mail_owner %s: %w", name, err))
		}
	}
	// Since Go 1.16 these apply to every thread of the process.
	// mail_owner's supplementary groups too (initgroups, as Postfix's
	// set_ugid): certificates re-read after start may be readable only
	// through one (Debian's ssl-cert).
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil && n != gid {
				groups = append(groups, n)
			}
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	log.Info(fmt.Sprintf("running as mail_owner %s (uid %d)", name, uid))
	return nil
}

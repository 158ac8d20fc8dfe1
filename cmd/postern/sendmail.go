package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/sendmail"
)

// runSendmail is sendmail(1) (postern sendmail, or the binary called as
// sendmail): it submits a message through the maildrop, or, by its
// options, lists the queue (-bp), builds the aliases (-bi, -I), flushes
// the queue (-q), starts the daemon (-bd) or speaks SMTP on standard
// input and output (-bs).
func runSendmail(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	say := func(msg string) { fmt.Fprintf(stderr, "sendmail: %s\n", msg) }
	fatal := func(err error) int {
		say("fatal: " + err.Error())
		var e *sendmail.Error
		if errors.As(err, &e) {
			return e.Code
		}
		return sendmail.ExTempFail
	}
	warnings, err := dropSetuid()
	for _, w := range warnings {
		say("warning: " + w)
	}
	if err != nil {
		return fatal(&sendmail.Error{Code: sendmail.ExNoPerm, Msg: err.Error()})
	}
	o, err := sendmail.Parse("sendmail", args)
	if o != nil {
		for _, n := range o.Notes {
			say(n)
		}
	}
	if err != nil {
		return fatal(err)
	}
	dir := configDir(o.ConfigDir)
	switch o.Mode {
	case sendmail.MailQ:
		return runQueue([]string{"-p", "-c", dir}, stdout, stderr)
	case sendmail.NewAliases:
		if o.AliasDB != "" {
			say("warning: -oA ignored: the alias databases are alias_database's")
		}
		return runNewaliases([]string{"-c", dir}, stdout, stderr)
	case sendmail.Flush:
		switch {
		case o.QueueID != "":
			return runQueue([]string{"-i", o.QueueID, "-c", dir}, stdout, stderr)
		case o.Site != "":
			say("warning: -qR" + o.Site + ": no per-site flush; flushing the whole queue")
		}
		return runQueue([]string{"-f", "-c", dir}, stdout, stderr)
	case sendmail.Daemon:
		return runStart([]string{"-c", dir}, stdout, stderr)
	case sendmail.Ignore:
		return 0
	}
	cfg, settings, err := submitSettings(dir)
	if err != nil {
		return fatal(&sendmail.Error{Code: sendmail.ExTempFail, Msg: err.Error()})
	}
	if o.Verify {
		return sendVerifyReport(cfg, o, settings, fatal)
	}
	if o.Mode == sendmail.SMTP {
		if err := sendmail.ServeSMTP(context.Background(), cfg, settings.Maildrop, stdin, stdout); err != nil {
			return fatal(err)
		}
		return 0
	}
	settings.Warn = func(msg string) { say("warning: " + msg) }
	u, err := sendmail.CurrentUser(os.Getuid(), os.Getenv)
	if err != nil {
		return fatal(err)
	}
	if _, err := sendmail.Submit(o, settings, u, stdin); err != nil {
		return fatal(err)
	}
	return 0
}

// submitSettings reads what submission needs from main.cf. Run as root
// (cron, system scripts) before the daemon ever started, it sets up the
// maildrop for mail_owner, so that the mail waits there for the daemon.
func submitSettings(dir string) (*config.Config, sendmail.Settings, error) {
	var s sendmail.Settings
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, s, err
	}
	qdir, err := cfg.Get("queue_directory")
	if err != nil {
		return nil, s, err
	}
	s.Maildrop = filepath.Join(qdir, queue.Maildrop)
	if s.MessageSizeLimit, err = cfg.Int("message_size_limit"); err != nil {
		return nil, s, err
	}
	if s.HeaderSizeLimit, err = pickup.HeaderSizeLimit(cfg); err != nil {
		return nil, s, err
	}
	if os.Geteuid() == 0 && pickup.CheckMaildrop(s.Maildrop) != nil {
		if owner, err := cfg.Get("mail_owner"); err == nil {
			if u, err := user.Lookup(owner); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				pickup.Prepare(qdir, uid, gid) // on failure Submit says what is wrong
			}
		}
	}
	return cfg, s, nil
}

// dropSetuid undoes a set-uid or set-gid installation, as Postfix's
// sendmail does: the maildrop file's owner is the submitter's identity,
// so sendmail must create it as the real user, never as the program's
// owner.
func dropSetuid() ([]string, error) {
	var warnings []string
	if os.Getegid() != os.Getgid() {
		warnings = append(warnings, "the postern sendmail command has set-gid file permissions, or is run from a set-gid process")
		if err := syscall.Setgid(os.Getgid()); err != nil {
			return warnings, fmt.Errorf("cannot drop set-gid privileges: %w", err)
		}
	}
	if os.Geteuid() != os.Getuid() {
		warnings = append(warnings, "the postern sendmail command has set-uid file permissions, or is run from a set-uid process",
			"the postern sendmail command must be installed without set-uid permissions")
		if err := syscall.Setuid(os.Getuid()); err != nil {
			return warnings, fmt.Errorf("cannot drop set-uid privileges: %w", err)
		}
	}
	return warnings, nil
}

// sendVerifyReport answers sendmail -bv: the report goes, from the null
// sender, to whoever asked (-f, else the user), through the maildrop.
func sendVerifyReport(cfg *config.Config, o *sendmail.Options, settings sendmail.Settings, fatal func(error) int) int {
	u, err := sendmail.CurrentUser(os.Getuid(), os.Getenv)
	if err != nil {
		return fatal(err)
	}
	to := o.Sender
	if !o.SenderSet || to == "" {
		origin, _ := cfg.Get("myorigin")
		to = u.Login + "@" + origin
	}
	report, err := verifyReport(cfg, o, to)
	if err != nil {
		return fatal(err)
	}
	ro := &sendmail.Options{Sender: "", SenderSet: true, Recipients: []string{to}}
	if _, err := sendmail.Submit(ro, settings, u, strings.NewReader(report)); err != nil {
		return fatal(err)
	}
	return 0
}

package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

// commandCopy: From_ line, no quoting, no blank line (local's command.c).
var commandCopy = mailstore.CopyOptions{FromLine: true}

// maxCommandOutput is how much command output goes into the reason.
const maxCommandOutput = 1000

// command pipes the message to a |command destination: /bin/sh -c as the
// alias owner (default_privs for root-owned aliases), with Postfix's
// environment, killed after command_time_limit.
func (d *delivery) command(t aliases.Target) outcome {
	if !allowed(d.a.cfg.AllowMailToCommands, t.Source) {
		return failed("5.7.1", "mail to command is restricted")
	}
	u, o := d.rights(t.UID)
	if o != nil {
		return *o
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.a.cfg.CommandTimeLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.a.cfg.Shell, "-c", t.Value)
	cmd.Env = d.commandEnv(t, u)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}
	}
	// Kill the whole process group: the shell's children too.
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	cmd.WaitDelay = 10 * time.Second
	var out outputBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("command %q: %v", t.Value, err))
		return failed("4.3.0", fmt.Sprintf("Command failed: %s: \"%s\"", mailstore.Strerror(err), t.Value))
	}
	opts := commandCopy
	opts.DeliveredTo = d.a.prepend("command")
	werr := d.writeCopy(stdin, opts)
	stdin.Close()
	err = cmd.Wait()
	var re *mailstore.ReadError
	switch {
	case errors.As(werr, &re):
		return failed("4.3.0", re.Error())
	case d.ctx.Err() != nil:
		return failed("4.3.0", "delivery interrupted: "+d.ctx.Err().Error())
	case ctx.Err() != nil:
		return failed("5.3.0", fmt.Sprintf("Command time limit exceeded: \"%s\"%s", t.Value, out.suffix()))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exitOutcome(exit, t.Value, out)
	}
	if err != nil {
		return failed("4.3.0", fmt.Sprintf("Command failed: %s: \"%s\"", mailstore.Strerror(err), t.Value))
	}
	// A command that exits 0 without reading its input is fine (EPIPE).
	if werr != nil && !errors.Is(werr, syscall.EPIPE) {
		return failed("5.3.0", fmt.Sprintf("Command failed: %s: \"%s\"", mailstore.Strerror(werr), t.Value))
	}
	return sent("delivered to command: " + t.Value)
}

// sysexits is Postfix's sys_exits table: sendmail-style exit codes.
var sysexits = map[int]struct{ dsn, text string }{
	64: {"5.3.0", "command line usage error"},
	65: {"5.6.0", "data format error"},
	66: {"5.3.0", "cannot open input"},
	67: {"5.1.1", "user unknown"},
	68: {"5.1.2", "host name unknown"},
	69: {"5.3.0", "service unavailable"},
	70: {"5.3.0", "internal software error"},
	71: {"4.3.0", "system resource problem"},
	72: {"5.3.0", "critical OS file missing"},
	73: {"5.2.0", "can't create user output file"},
	74: {"5.3.0", "input/output error"},
	75: {"4.3.0", "temporary failure"}, // EX_TEMPFAIL: try again later
	76: {"5.5.0", "remote error in protocol"},
	77: {"5.7.0", "permission denied"},
	78: {"5.3.5", "local configuration error"},
}

// dsnText is output that starts with an enhanced status code, which a
// command may use to choose the status itself.
var dsnText = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)`)

// exitOutcome judges a failed command as Postfix's pipe_command() does.
func exitOutcome(exit *exec.ExitError, command string, out outputBuffer) outcome {
	ws, _ := exit.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return failed("4.3.0", fmt.Sprintf("Command died with signal %d: \"%s\"%s", ws.Signal(), command, out.suffix()))
	}
	code := exit.ExitCode()
	text := out.text()
	if m := dsnText.FindStringSubmatch(text); m != nil {
		class := m[1]
		if class == "2" { // not a success, whatever it says
			class = "5"
		}
		return failed(class+"."+m[2]+"."+m[3], text[len(m[0]):])
	}
	if se, ok := sysexits[code]; ok {
		return failed(se.dsn, se.text+out.suffix())
	}
	return failed("5.3.0", fmt.Sprintf("Command died with status %d: \"%s\"%s", code, command, out.suffix()))
}

// outputBuffer keeps the first maxCommandOutput bytes a command writes.
type outputBuffer struct{ b []byte }

func (o *outputBuffer) Write(p []byte) (int, error) {
	if room := maxCommandOutput - len(o.b); room > 0 {
		o.b = append(o.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// text is the output as one printable line, as Postfix logs it.
func (o *outputBuffer) text() string {
	s := strings.TrimRight(string(o.b), " \t\r\n")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return '_'
		}
		return r
	}, s)
}

func (o *outputBuffer) suffix() string {
	if t := o.text(); t != "" {
		return ". Command output: " + t
	}
	return ""
}

// commandExpansionFilter is command_expansion_filter: characters of
// environment values outside it become "_".
const commandExpansionFilter = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func censor(s string) string {
	b := []byte(s)
	for i, c := range b {
		if strings.IndexByte(commandExpansionFilter, c) < 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// commandEnv is the environment local(8) gives commands, for the local
// recipient whose alias lists the command.
func (d *delivery) commandEnv(t aliases.Target, u *User) []string {
	env := []string{"PATH=/usr/bin:/bin"}
	for _, name := range []string{"TZ", "LANG"} { // export_environment
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	user, ext := aliases.SplitExtension(t.Local, d.a.cfg.RecipientDelimiter)
	domain := d.domain
	if domain == "" {
		domain = d.a.cfg.MyOrigin
	}
	rcpt := t.Local + "@" + domain
	if lp, _, _ := strings.Cut(d.rcpt.Addr, "@"); aliases.Fold(lp) == t.Local {
		rcpt = d.rcpt.Addr // the recipient itself: as it was written
	}
	req := d.m.req.Env
	vars := [][2]string{
		{"HOME", u.Home}, {"LOGNAME", user}, {"USER", user},
		{"SENDER", req.Sender}, {"RECIPIENT", rcpt}, {"LOCAL", t.Local},
		{"SHELL", u.Shell}, {"DOMAIN", domain}, {"EXTENSION", ext},
		{"ORIGINAL_RECIPIENT", d.rcpt.Addr},
		{"CLIENT_HOSTNAME", req.ClientName}, {"CLIENT_ADDRESS", req.ClientAddr},
		{"CLIENT_HELO", req.Helo}, {"CLIENT_PROTOCOL", req.Protocol},
	}
	for _, v := range vars {
		if v[1] != "" || v[0] == "SENDER" {
			env = append(env, v[0]+"="+censor(v[1]))
		}
	}
	return env
}

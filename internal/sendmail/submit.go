package sendmail

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/user"
	"strconv"
	"strings"
	"unicode"

	"github.com/postern-mta/postern/internal/pickup"
)

// Settings are what submission needs from main.cf.
type Settings struct {
	Maildrop         string // $queue_directory/maildrop
	MessageSizeLimit int64
	HeaderSizeLimit  int64
	Warn             func(msg string) // "warning: …" lines; may be nil
}

// User is the submitting user as sendmail sees it: for the default
// sender and full name and for messages only. pickup takes the uid that
// counts from the maildrop file's owner.
type User struct {
	UID      int
	Login    string
	FullName string // GECOS, or $NAME
}

// CurrentUser looks up the process's real uid, as Postfix's sendmail
// does: $NAME overrides the full name from the password file, whose '&'
// stands for the capitalised login name.
func CurrentUser(uid int, getenv func(string) string) (User, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return User{UID: uid}, &Error{Code: ExOSErr, Msg: fmt.Sprintf("no login name found for user ID %d", uid)}
	}
	name := getenv("NAME")
	if name == "" {
		gecos, _, _ := strings.Cut(u.Name, ",")
		login := []rune(u.Username)
		if len(login) > 0 {
			login[0] = unicode.ToUpper(login[0])
		}
		name = strings.ReplaceAll(gecos, "&", string(login))
	}
	return User{UID: uid, Login: u.Username, FullName: name}, nil
}

// Submit reads a message from stdin and drops it into the maildrop for
// pickup, returning the maildrop file's name. Errors are *Error; the
// enqueue ones read "sender(uid): reason", as Postfix's do. On any error
// nothing is left in the maildrop.
func Submit(o *Options, s Settings, u User, stdin io.Reader) (string, error) {
	warn := func(msg string) {
		if s.Warn != nil {
			s.Warn(msg)
		}
	}
	sender := u.Login
	if o.SenderSet {
		addrs := AddressList(o.Sender)
		sender = ""
		if len(addrs) > 0 {
			sender = addrs[0]
		}
		if len(addrs) > 1 {
			warn("-f option specified malformed sender: " + o.Sender)
		}
	}
	fail := func(code int, format string, a ...any) error {
		return &Error{Code: code, Msg: fmt.Sprintf("%s(%d): ", sender, u.UID) + fmt.Sprintf(format, a...)}
	}
	wrap := func(err error) error {
		var e *Error
		if errors.As(err, &e) {
			return fail(e.Code, "%s", e.Msg)
		}
		return err
	}
	if sender != "" && !pickup.ValidAddress(sender, false) {
		return "", fail(ExUsage, "bad sender address syntax: %s", o.Sender)
	}
	var rcpts []string
	for _, arg := range o.Recipients {
		addrs := AddressList(arg)
		if len(addrs) == 0 {
			return "", fail(ExUsage, "bad recipient address syntax: %q", arg)
		}
		rcpts = append(rcpts, addrs...)
	}
	if len(rcpts) == 0 && !o.Extract {
		return "", fail(ExUsage, "Recipient addresses must be specified on the command line or via the -t option")
	}
	in := newInput(stdin, o.DotEnds, s.MessageSizeLimit)
	var header [][]byte // the header section, read for -t before the envelope is known
	if o.Extract {
		x := &extractor{limit: s.HeaderSizeLimit}
		lineStart := true
		for {
			piece, complete, err := in.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", wrap(err)
			}
			header = append(header, piece)
			end, err := x.add(piece, lineStart)
			if err != nil {
				return "", wrap(err)
			}
			if end {
				break
			}
			lineStart = complete
		}
		found := x.recipients()
		if len(found) == 0 && len(rcpts) == 0 {
			return "", fail(ExUsage, "No recipient addresses found in message header")
		}
		rcpts = append(rcpts, found...)
	}
	for _, r := range rcpts {
		if !pickup.ValidAddress(r, true) {
			return "", fail(ExUsage, "bad recipient address syntax: %s", r)
		}
	}
	fullName := u.FullName
	if o.FullSet {
		fullName = o.FullName
	}
	sub := &pickup.Submission{Sender: sender, FullName: printable(fullName), Recipients: rcpts,
		Notify: o.Notify, Ret: o.Ret, EnvID: o.EnvID, EightBit: o.EightBit}
	d, err := pickup.Create(s.Maildrop, sub)
	switch {
	case errors.Is(err, pickup.ErrNotReady):
		return "", fail(ExUnavailable, "%v", err)
	case errors.Is(err, fs.ErrPermission):
		return "", fail(ExNoPerm, "not allowed to submit mail: %v", err)
	case err != nil:
		return "", fail(ExTempFail, "%v", err)
	}
	committed := false
	defer func() {
		if !committed {
			d.Abort()
		}
	}()
	write := func(p []byte) error {
		if _, err := d.Write(p); err != nil {
			return fail(ExTempFail, "error writing queue file: %v", err)
		}
		return nil
	}
	for _, p := range header {
		if err := write(p); err != nil {
			return "", err
		}
	}
	for {
		piece, _, err := in.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", wrap(err)
		}
		if err := write(piece); err != nil {
			return "", err
		}
	}
	if d.Size() == 0 {
		return "", wrap(errEmpty)
	}
	name, err := d.Commit()
	if err != nil {
		return "", fail(ExTempFail, "%v", err)
	}
	committed = true
	return name, nil
}

// printable drops control characters, which pickup refuses in the
// envelope.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

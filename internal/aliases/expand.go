package aliases

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// Kind is what a destination of an expansion is.
type Kind uint8

const (
	Mailbox Kind = iota // a local user without an alias: deliver to the user's mailbox
	Forward             // an address to send a copy to through the queue
	File                // append to the file Value ("/path", or "~/path" below the rights user's home)
	Command             // pipe to the shell command Value
	Failed              // not deliverable: DSN and Reason say why
)

// Source says where a destination was listed, for Postfix's
// allow_mail_to_commands and allow_mail_to_files classes.
type Source uint8

const (
	FromRecipient Source = iota // the recipient itself, no alias
	FromAlias                   // the value of an alias
	FromInclude                 // an :include: file
)

// Target is one destination of an expansion.
type Target struct {
	Kind  Kind
	Value string // Mailbox: user name (folded, no extension); Forward: address as listed; File: path; Command: command
	Addr  string // Mailbox: the address as listed (the local part itself for the recipient)
	// Local is the folded local part, extension included, of the local
	// recipient the target belongs to: the user's own for a Mailbox, else
	// the address whose alias listed the target (Postfix's $LOCAL for
	// commands).
	Local  string
	Source Source
	Alias  string // the alias that listed it; "" for the recipient itself
	// UID is whose rights a File or Command target is delivered with, as
	// in Postfix: the owner of the alias table, or of the :include: file
	// when the alias table belongs to root; 0 means root, for which
	// local(8) uses default_privs.
	UID int
	// Owner is "owner-NAME" when the alias NAME that listed the target
	// has an owner- alias (owner_request_special): forwarded copies go
	// out with that sender, so that bounces reach the list owner.
	Owner       string
	DSN, Reason string // Failed
}

// Failure is an error from ReadInclude with the DSN status to use, for
// problems that are not "5.3.5 mail system configuration error".
type Failure struct {
	DSN string // "4.3.5"
	Err error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Expander follows aliases as local(8) does. Tables, IsLocal and
// ReadInclude are required.
type Expander struct {
	Tables    []maps.Table // alias_maps, searched in order
	Delimiter string       // recipient_delimiter: any of these characters starts an extension
	// IsLocal reports whether an address listed in an alias (a bare
	// local part or user@domain) is for this host's local delivery, and
	// returns its local part.
	IsLocal func(addr string) (localPart string, ok bool)
	// TableOwner returns the uid that owns a table's file (0 for root and
	// for tables that are not files). nil means root owns all tables.
	TableOwner func(maps.Table) int
	// ReadInclude reads an :include: file with the rights of uid (0 =
	// root) and returns its content and its owner. Errors are logged
	// through Warn; the target fails with "mail system configuration
	// error", 5.3.5 or the DSN of a *Failure.
	ReadInclude func(path string, uid int) (data []byte, owner int, err error)
	// Warn receives what Postfix logs as warnings (details that bounce
	// messages must not show). nil discards them.
	Warn func(msg string)
}

// maxDepth is Postfix's nesting limit for aliases, includes and recipients.
const maxDepth = 100

// Expand returns the destinations for the local part localPart, which is
// folded first. The alias tables are searched for the full local part,
// then, when it has an extension (recipient_delimiter), for the user part.
// Aliases of local addresses are followed; a name found again below
// itself is an alias loop (a Failed target, 5.4.6), except that an alias
// that lists its own name means that user's mailbox ("root: root, alice").
// Each alias and each :include: file is expanded once and duplicate
// destinations are dropped, so expansion is bounded by the tables' size.
//
// As in Postfix, addresses listed in an :include: file, and local
// addresses listed by an alias that has an owner- alias, are forwarded
// through the queue rather than delivered directly.
//
// An error means an alias table could not be read, or an alias has no
// destination; local(8) defers the recipient ("alias database
// unavailable").
func (e *Expander) Expand(localPart string) ([]Target, error) {
	x := &expansion{e: e, seen: make(map[string]bool), done: make(map[string]bool)}
	local := Fold(localPart)
	err := x.recipient(local, local, frame{source: FromRecipient})
	return x.out, err
}

// frame is the context an address is expanded in.
type frame struct {
	depth   int
	parent  string // the alias whose value is being expanded (Postfix's exp_from)
	local   string // the recipient local part that alias was found for
	source  Source
	uid     int
	owner   string
	forward bool            // deliver local addresses through the queue
	above   map[string]bool // aliases being expanded, for loop detection
}

type expansion struct {
	e    *Expander
	out  []Target
	seen map[string]bool // destinations already listed
	done map[string]bool // aliases and include files already expanded
}

func (x *expansion) add(t Target) {
	key := fmt.Sprintf("%d\x00%s\x00%d", t.Kind, t.Value, t.UID)
	if t.Kind == Forward || t.Kind == Mailbox {
		key = fmt.Sprintf("%d\x00%s", t.Kind, Fold(t.Value))
	}
	if t.Kind != Failed && x.seen[key] {
		return
	}
	x.seen[key] = true
	x.out = append(x.out, t)
}

func (x *expansion) warn(format string, args ...any) {
	if x.e.Warn != nil {
		x.e.Warn(fmt.Sprintf(format, args...))
	}
}

func (x *expansion) fail(f frame, dsn, reason string) {
	x.add(Target{Kind: Failed, DSN: dsn, Reason: reason, Source: f.source, Alias: f.parent, Local: f.local})
}

// recipient expands a local address: local is its folded local part,
// addr the address as listed (for forwarding).
func (x *expansion) recipient(local, addr string, f frame) error {
	if f.depth > maxDepth {
		x.warn("recipient nesting limit exceeded for %s", addr)
		x.fail(f, "5.4.6", "recipient nesting limit exceeded")
		return nil
	}
	user, _ := SplitExtension(local, x.e.Delimiter)
	names := []string{local}
	if user != local {
		names = append(names, user)
	}
	for _, name := range names {
		if name == f.parent { // the alias lists itself: its user
			continue
		}
		value, table, err := x.lookup(name)
		if err != nil {
			return err
		}
		if table != nil {
			return x.alias(name, local, value, table, f)
		}
	}
	if f.forward {
		x.add(Target{Kind: Forward, Value: addr, Source: f.source, Alias: f.parent, Local: f.local, Owner: f.owner})
		return nil
	}
	x.add(Target{Kind: Mailbox, Value: user, Addr: addr, Local: local, Source: f.source, Alias: f.parent})
	return nil
}

// lookup searches the alias tables in order; table is nil when no table
// has name.
func (x *expansion) lookup(name string) (value string, table maps.Table, err error) {
	for _, t := range x.e.Tables {
		v, ok, err := t.Lookup(name)
		if err != nil {
			return "", nil, fmt.Errorf("alias database unavailable: %w", err)
		}
		if ok {
			return v, t, nil
		}
	}
	return "", nil, nil
}

// alias expands the value of alias name, found in table for the local
// part local.
func (x *expansion) alias(name, local, value string, table maps.Table, f frame) error {
	if f.above[name] {
		x.warn("alias database loop for %s", name)
		x.fail(f, "5.4.6", "alias database loop for "+name)
		return nil
	}
	if x.done[name] {
		return nil
	}
	x.done[name] = true
	above := make(map[string]bool, len(f.above)+1)
	for k := range f.above {
		above[k] = true
	}
	above[name] = true
	sub := frame{depth: f.depth + 1, parent: name, local: local, source: FromAlias, above: above}
	if x.e.TableOwner != nil {
		sub.uid = x.e.TableOwner(table)
	}
	if !strings.HasPrefix(name, "owner-") {
		if _, owner, err := x.lookup("owner-" + name); err != nil {
			return err
		} else if owner != nil {
			sub.owner, sub.forward = "owner-"+name, true
		}
	}
	n := 0
	for _, m := range splitAddresses(value) {
		if m == "" {
			continue
		}
		n++
		if err := x.member(m, sub); err != nil {
			return err
		}
	}
	if n == 0 {
		x.warn("no recipient in alias lookup result for %s", name)
		return errors.New("alias database unavailable: no recipient in alias lookup result for " + name)
	}
	return nil
}

// member expands one destination listed by an alias or include file.
func (x *expansion) member(m string, f frame) error {
	t := Target{Source: f.source, Alias: f.parent, Local: f.local, UID: f.uid, Owner: f.owner}
	switch {
	case strings.HasPrefix(m, "/"):
		t.Kind, t.Value = File, m
	case strings.HasPrefix(m, "~"):
		if !strings.HasPrefix(m, "~/") {
			x.fail(f, "5.3.5", "bad home directory syntax for: "+m)
			return nil
		}
		t.Kind, t.Value = File, m
	case strings.HasPrefix(m, "|"):
		t.Kind, t.Value = Command, m[1:]
	case len(m) >= len(":include:") && strings.EqualFold(m[:len(":include:")], ":include:"):
		return x.include(m[len(":include:"):], f)
	default:
		if lp, ok := x.e.IsLocal(m); ok {
			return x.recipient(Fold(lp), m, f)
		}
		t.Kind, t.Value = Forward, m
	}
	x.add(t)
	return nil
}

// include expands an :include: file, read now, at delivery time.
func (x *expansion) include(path string, f frame) error {
	if f.depth > maxDepth {
		x.warn("include nesting limit exceeded for %s", path)
		x.fail(f, "5.4.6", "include nesting limit exceeded")
		return nil
	}
	if !filepath.IsAbs(path) {
		x.warn(":include:%s uses a relative path", path)
		x.fail(f, "5.3.5", "mail system configuration error")
		return nil
	}
	key := fmt.Sprintf("include\x00%d\x00%s", f.uid, path)
	if x.done[key] {
		return nil
	}
	x.done[key] = true
	data, owner, err := x.e.ReadInclude(path, f.uid)
	if err != nil {
		dsn := "5.3.5"
		var fl *Failure
		if errors.As(err, &fl) {
			dsn = fl.DSN
		}
		x.warn("%v", err)
		x.fail(f, dsn, "mail system configuration error")
		return nil
	}
	sub := f
	sub.depth++
	sub.source = FromInclude
	sub.forward = true // Postfix forwards every address of an include file
	if sub.uid == 0 {
		sub.uid = owner // a user's file in a root alias: that user's rights
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range splitAddresses(line) {
			if m == "" {
				continue
			}
			if err := x.member(m, sub); err != nil {
				return err
			}
		}
	}
	return nil
}

// SplitExtension splits a folded local part at recipient_delimiter as
// Postfix's split_addr() does: at the first delimiter character, not when
// the local part starts with one, and never for postmaster,
// mailer-daemon, double-bounce and, when "-" is a delimiter, owner-* and
// *-request. ext is "" when there is no extension.
func SplitExtension(local, delims string) (user, ext string) {
	if delims == "" {
		return local, ""
	}
	switch local {
	case "postmaster", "mailer-daemon", "double-bounce":
		return local, ""
	}
	if strings.Contains(delims, "-") && (strings.HasPrefix(local, "owner-") ||
		len(local) > len("-request") && strings.HasSuffix(local, "-request")) {
		return local, ""
	}
	i := strings.IndexAny(local, delims)
	if i <= 0 {
		return local, ""
	}
	return local[:i], local[i+1:]
}

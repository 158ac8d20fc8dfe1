// Package maps implements Postfix-compatible lookup tables ("maps") behind
// one interface: the SMTP server's check_*_access restrictions use them
// now, aliases and routing later.
//
// Table references have Postfix's "type:name" form. Supported types:
//
//	texthash:/path    text file "key value" per logical line, read at open
//	inline:{k=v, { k = text with spaces }}
//	static:value      static:{text with spaces} — every key finds value
//	cidr:/path        "network/len result" rules, first match wins
//	regexp:/path      "/pattern/flags result" rules, POSIX syntax (see posix.go)
//	pcre:/path        the same rule file format, PCRE-like syntax (see pcre.go)
//	cdb:/path         constant database /path.cdb built from the text file /path
//	hash:, btree:, lmdb:  aliases of cdb
//	pgsql:, mysql:, sqlite:  SQL tables, registered by internal/sqlmap
//
// Berkeley DB and LMDB files cannot be read without cgo, so hash:, btree:
// and lmdb: tables are served from the same "name.cdb" file that cdb: uses;
// "postern map hash:/etc/postfix/access" (Build) creates it, as postmap
// creates access.db.
//
// Case: like Postfix (postmap's and the daemons' DICT_FLAG_FOLD_FIX) the
// exact-key tables texthash, inline, cdb/hash/btree/lmdb fold keys to lower
// case when they are built and when they are queried, so "postmap -q Foo"
// finds "foo". static ignores the key. cidr compares binary addresses.
// regexp and pcre never fold: they see the key as given and are
// case-insensitive through their default "i" flag, so $1 keeps the
// original case. Folding is Unicode-aware as with smtputf8_enable = yes
// (see fold.go).
//
// As Postfix does with smtputf8_enable = yes, every table finds nothing
// for a key that is not valid UTF-8 and fails the lookup when a result is
// not valid UTF-8 (see utf8Table).
//
// The partial-key searches of access(5) (user@domain, parent domains,
// parent networks) are in access.go; Build, Dump and QueryStream are the
// postmap equivalents.
//
// Malformed rules are skipped with a warning, never fatal, because that is
// what Postfix does: a daemon keeps running with the rest of the table.
// The warnings, worded as Postfix words them and naming file and line, are
// available from Warnings. Errors from Open are Postfix's fatal errors.
package maps

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Table is an open lookup table. Implementations are safe for concurrent
// lookups.
type Table interface {
	// Lookup returns the value for key. err is set only when the table
	// cannot answer (I/O error, corrupt file), which Postfix reports as a
	// temporary lookup failure.
	Lookup(key string) (value string, found bool, err error)
	// Name is the "type:name" reference the table was opened with.
	Name() string
}

// Patterned is implemented by tables whose rules are patterns rather than
// exact keys (cidr, regexp, pcre: Postfix's DICT_FLAG_PATTERN). The access
// helpers query such tables only with the complete string, never with
// partial keys such as parent domains or "user@".
type Patterned interface {
	Pattern() bool
}

// IsPattern reports whether t is a pattern table.
func IsPattern(t Table) bool {
	p, ok := t.(Patterned)
	return ok && p.Pattern()
}

// Warner is implemented by tables that skipped malformed input.
type Warner interface {
	Warnings() []string
}

// Warnings returns the warnings collected while t was opened, in file
// order, without Postfix's "program: warning: " prefix.
func Warnings(t Table) []string {
	if w, ok := t.(Warner); ok {
		return w.Warnings()
	}
	return nil
}

// Close releases resources (open files) held by t, if any.
func Close(t Table) error {
	if c, ok := t.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Open opens the table named by spec ("type:name").
func Open(spec string) (Table, error) {
	t, err := open(spec)
	if err != nil {
		return nil, err
	}
	return utf8Table{t}, nil
}

func open(spec string) (Table, error) {
	typ, name, ok := strings.Cut(spec, ":")
	if !ok || typ == "" || name == "" {
		return nil, fmt.Errorf("open dictionary: expecting \"type:name\" form instead of \"%s\"", spec)
	}
	switch typ {
	case "texthash":
		return openTexthash(spec, name)
	case "inline":
		return openInline(spec, name)
	case "static":
		return openStatic(spec, name)
	case "cidr":
		return openCIDR(spec, name)
	case "regexp":
		return openRegexp(spec, name, posixDialect)
	case "pcre":
		return openRegexp(spec, name, pcreDialect)
	case "cdb", "hash", "btree", "lmdb":
		return openCDB(spec, name)
	case "proxy":
		if inner, _, _ := strings.Cut(name, ":"); openers[inner] != nil {
			return openers[inner](spec, true)
		}
		return open(name)
	case "unix":
		return openUnix(spec, name)
	case "nis":
		return openNIS(spec), nil
	}
	if o := openers[typ]; o != nil {
		return o(spec, false)
	}
	return nil, fmt.Errorf("unsupported dictionary type: %s", typ)
}

// Opener opens a table of a type that another package registers (the
// SQL tables of internal/sqlmap, which imports this package). spec is
// the whole reference: "pgsql:/x.cf", or "proxy:pgsql:/x.cf" with
// proxied set, when the opener shares connections across the process
// as Postfix's proxymap does.
type Opener func(spec string, proxied bool) (Table, error)

var openers = map[string]Opener{}

// Register makes Open serve the table type typ; call it from init.
func Register(typ string, o Opener) { openers[typ] = o }

// utf8Table applies the checks of Postfix's dict_utf8 layer, active with
// smtputf8_enable = yes (measured): a key that is not valid UTF-8 is not
// found (Postfix also logs `non-UTF-8 key`), and a result that is not
// valid UTF-8 — possible from regexp substitutions that split a
// multi-byte character, or from cidr, static and inline text — is a
// lookup error (postmap: "query error"; smtpd: temporary failure).
type utf8Table struct{ Table }

func (u utf8Table) Lookup(key string) (string, bool, error) {
	if !utf8.ValidString(key) {
		return "", false, nil
	}
	v, ok, err := u.Table.Lookup(key)
	if err == nil && ok && !utf8.ValidString(v) {
		return "", false, fmt.Errorf("table %s: key \"%s\": non-UTF-8 value \"%s\": malformed UTF-8 or invalid codepoint",
			u.Name(), key, Printable(v))
	}
	return v, ok, err
}

func (u utf8Table) Pattern() bool      { return IsPattern(u.Table) }
func (u utf8Table) Warnings() []string { return Warnings(u.Table) }
func (u utf8Table) Close() error       { return Close(u.Table) }

func (u utf8Table) each(fn func(key, value string) error) error {
	s, ok := u.Table.(sequencer)
	if !ok {
		return errNoSequence
	}
	return s.each(fn)
}

// base holds what every table has: its reference and its warnings.
type base struct {
	spec     string
	warnings []string
}

func (b *base) Name() string { return b.spec }

func (b *base) Warnings() []string { return b.warnings }

func (b *base) warnf(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

// isSpace is Postfix's ISSPACE for the bytes that occur in table files.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

const spaceChars = " \t\r\n\v\f"

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// hasKeyword reports whether line starts with the case-insensitive keyword
// kw not followed by an alphanumeric character, as Postfix recognizes IF
// and ENDIF in cidr and regexp tables ("if!/x/" is an IF, "iffy" is not).
func hasKeyword(line, kw string) bool {
	return len(line) >= len(kw) && strings.EqualFold(line[:len(kw)], kw) &&
		(len(line) == len(kw) || !isAlnum(line[len(kw)]))
}

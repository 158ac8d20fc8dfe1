// Package passwd is postern's built-in user database for SMTP AUTH: a
// Dovecot-compatible passwd-file, so that one file can serve Dovecot and
// postern.
//
// Format, as Dovecot's passwd-file:
//
//	user:password:uid:gid:(gecos):home:(shell):extra_fields
//
// Only user and password matter here; blank lines and lines beginning
// with # are ignored, and so are lines beginning with ":" (as Dovecot
// does). The password is {SCHEME}hash, or without {SCHEME} a crypt(3)
// string (Dovecot's default scheme for passwd-file, CRYPT): "$6$…"
// (SHA512-CRYPT), "$5$…", "$2y$…" (BLF-CRYPT), or "*"/"!…" for a locked
// account. Schemes: ARGON2ID, BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT; any
// other is an error when the file is read, and so are costs above the
// Max* bounds.
//
// User names are case-insensitive: Dovecot's default
// auth_username_format (%Lu) lowercases the login name before the
// lookup; postern lowercases the file's names too (an entry "Alice"
// can log in instead of never matching) and refuses names that collide
// after lowercasing.
//
// Timing: a failed login takes as long whatever its reason, since it
// verifies one hash of each scheme and cost in the file (DB.Verify); a
// file that mixes many costs makes every failure pay for all of them.
//
// Memory: at most GOMAXPROCS verifications run at once in the process,
// however many passwd-files are open, and each runs one hash at a time:
// Argon2's memory stays below GOMAXPROCS times MaxArgon2Memory (256 MiB;
// postern passwd's hashes take 64 MiB).
//
// Extra fields: userdb_* and fields that do not affect authentication
// are ignored; allow_nets (and allow_real_nets) and nologin are
// enforced; fields that would change who logs in or how (nopassword,
// noauthenticate, proxy, host, user, master, pass…) are an error, since
// postern would not honour them.
package passwd

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// Entry is one user of the file.
type Entry struct {
	User      string // lowercased
	Name      string // as the file writes it
	Line      int
	Hash      Hash
	AllowNets []netip.Prefix // nil: from anywhere
	NoLogin   bool
	Reason    string // reason= (for nologin), logged
	cost      string // Hash.cost(); "" for a locked account
}

// File is a parsed passwd-file.
type File struct {
	Name  string
	Users map[string]*Entry
	// dummies holds one never-matching hash (Hash.dummy) of each scheme
	// and cost in the file, sorted by cost: every failed login verifies
	// one hash of each (see DB.Verify).
	dummies []dummyHash
}

// dummyHash is a hash no password matches and its cost.
type dummyHash struct {
	cost string
	h    Hash
}

// MaxFileSize bounds what is read: a passwd-file of a million users is
// far below it.
const MaxFileSize = 64 << 20

// refused are the passdb extra fields postern does not implement and
// that would change who may log in, or how.
var refused = map[string]bool{
	"nopassword": true, "noauthenticate": true, "proxy": true, "proxy_maybe": true,
	"host": true, "user": true, "login_user": true, "master": true, "pass": true,
	"destuser": true, "delay_until": true,
}

// ParseError is a bad line of a passwd-file.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s, line %d: %v", e.File, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a passwd-file; name is for error messages, which say file
// and line (*ParseError).
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name, Users: map[string]*Entry{}}
	classes := map[string]Hash{} // cost: the first hash of that cost
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || line[0] == '#' || line[0] == ':' {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, &ParseError{name, n, err}
		}
		e.Line = n
		if prev := f.Users[e.User]; prev != nil {
			return nil, &ParseError{name, n, fmt.Errorf("user %q is already on line %d (names are case-insensitive)", e.User, prev.Line)}
		}
		f.Users[e.User] = e
		if e.cost = e.Hash.cost(); e.cost != "" && classes[e.cost] == nil {
			classes[e.cost] = e.Hash
		}
	}
	if len(classes) == 0 {
		d, err := defaultDummy()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.dummies = []dummyHash{{d.cost(), d}}
		return f, nil
	}
	for _, c := range slices.Sorted(maps.Keys(classes)) {
		d, err := classes[c].dummy()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.dummies = append(f.dummies, dummyHash{c, d})
	}
	return f, nil
}

// defaultDummy is a never-matching hash of DefaultScheme with the cost
// postern passwd writes, for a file with no usable hash.
func defaultDummy() (Hash, error) {
	d := &argon2Hash{memory: argon2Memory, time: argon2Time, threads: argon2Threads,
		salt: make([]byte, argon2SaltLen), key: make([]byte, argon2KeyLen)}
	return d.dummy()
}

func parseLine(line string) (*Entry, error) {
	fields := strings.SplitN(line, ":", 8)
	if len(fields) < 2 {
		return nil, errors.New("no password field (user:password:…)")
	}
	user := lower(fields[0])
	if err := CheckUser(user); err != nil {
		return nil, err
	}
	h, err := ParseHash(fields[1])
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", user, err)
	}
	e := &Entry{User: user, Name: fields[0], Hash: h}
	if len(fields) == 8 {
		if err := e.extraFields(fields[7]); err != nil {
			return nil, fmt.Errorf("user %s: %w", user, err)
		}
	}
	return e, nil
}

// CheckUser refuses user names a passwd-file cannot hold or that no
// login could type.
func CheckUser(user string) error {
	if user == "" {
		return errors.New("empty user name")
	}
	for _, r := range user {
		if r <= ' ' || r == 0x7f || r == ':' {
			return fmt.Errorf("user name %q has a space, colon or control character", user)
		}
	}
	return nil
}

func (e *Entry) extraFields(s string) error {
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "userdb_"):
		case k == "allow_nets" || k == "allow_real_nets":
			nets, err := parseNets(v)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			e.AllowNets = append(e.AllowNets, nets...)
		case k == "nologin":
			e.NoLogin = true
		case k == "reason":
			e.Reason = v
		case refused[k] || strings.HasPrefix(k, "forward_"):
			return fmt.Errorf("extra field %q is not supported by postern's passwd-file (use smtpd_sasl_type = dovecot for it)", k)
		}
	}
	return nil
}

// parseNets reads allow_nets: a comma-separated list of addresses and
// networks.
func parseNets(v string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			nets = append(nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or network", s)
		}
		nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(nets) == 0 {
		return nil, errors.New("no network")
	}
	return nets, nil
}

// allowed reports whether addr may log in as e.
func (e *Entry) allowed(addr netip.Addr) bool {
	if e.AllowNets == nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range e.AllowNets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Fold is the user name as the file is searched: ASCII letters
// lowercased (Dovecot's %Lu), everything else as it is.
func Fold(user string) string { return lower(user) }

// lower lowercases ASCII letters only, as Dovecot's %L does.
func lower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

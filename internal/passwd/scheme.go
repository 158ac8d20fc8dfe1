package passwd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// DefaultScheme is the scheme `postern passwd` writes: Argon2id, memory
// hard, with the parameters of Dovecot 2.3's `doveadm pw -s ARGON2ID`
// (64 MiB, 3 passes), which Debian's Dovecot 2.3 verifies (libsodium).
const DefaultScheme = "ARGON2ID"

// CryptScheme is the scheme of a password field without {SCHEME}, as
// Dovecot's passwd-file assumes (default_pass_scheme = CRYPT): crypt(3)
// strings told apart by their prefix.
const CryptScheme = "CRYPT"

// Schemes are the schemes postern reads; Hash writes all but CRYPT.
var Schemes = []string{"ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", CryptScheme}

// Hash is one stored password hash.
type Hash interface {
	// Verify reports whether password matches, comparing in constant
	// time.
	Verify(password []byte) bool
	// Scheme is Dovecot's name of the scheme: ARGON2ID, BLF-CRYPT…
	Scheme() string
	// cost names the scheme and its cost parameters: hashes with the
	// same cost take the same time to verify.
	cost() string
	// dummy is a hash of the same scheme and cost that no password
	// matches: unknown users are verified against it so that timing
	// does not tell them from known ones.
	dummy() (Hash, error)
}

// ParseHash reads a passwd-file password field: {SCHEME}hash, or a
// crypt(3) string (CryptScheme). Unknown schemes, and costs beyond what
// a server should spend on one login, are errors.
func ParseHash(field string) (Hash, error) {
	scheme, value := CryptScheme, field
	if rest, ok := strings.CutPrefix(field, "{"); ok {
		s, v, found := strings.Cut(rest, "}")
		if !found {
			return nil, errors.New("{SCHEME} is not closed by }")
		}
		scheme, value = strings.ToUpper(s), v
	}
	switch scheme {
	case "ARGON2ID":
		return parseArgon2(value)
	case "BLF-CRYPT":
		return parseBcrypt(value)
	case "SHA512-CRYPT":
		if !strings.HasPrefix(value, "$6$") {
			return nil, errors.New("a SHA512-CRYPT hash begins with $6$")
		}
		return parseSHACrypt(value, scheme)
	case "SHA256-CRYPT":
		if !strings.HasPrefix(value, "$5$") {
			return nil, errors.New("a SHA256-CRYPT hash begins with $5$")
		}
		return parseSHACrypt(value, scheme)
	case CryptScheme:
		return parseCrypt(value)
	case "":
		return nil, errors.New("empty {SCHEME}")
	}
	return nil, fmt.Errorf("unsupported password scheme {%s} (postern reads %s)", scheme, strings.Join(Schemes, ", "))
}

// parseCrypt tells crypt(3) strings apart by prefix, as libc's crypt
// does; "*" and "!"-prefixed values lock the account.
func parseCrypt(v string) (Hash, error) {
	switch {
	case v == "":
		return nil, errors.New("empty password field (lock an account with \"*\")")
	case v[0] == '*' || v[0] == '!':
		return locked{}, nil
	case strings.HasPrefix(v, "$6$"):
		return parseSHACrypt(v, "SHA512-CRYPT")
	case strings.HasPrefix(v, "$5$"):
		return parseSHACrypt(v, "SHA256-CRYPT")
	case strings.HasPrefix(v, "$2"):
		return parseBcrypt(v)
	}
	return nil, errors.New("a crypt(3) hash of a kind postern does not read (DES, MD5, yescrypt, or Argon2 without {ARGON2ID}): use {ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT}")
}

// CheckNewScheme says whether NewHash can write scheme.
func CheckNewScheme(scheme string) error {
	switch strings.ToUpper(scheme) {
	case "ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT":
		return nil
	}
	return fmt.Errorf("cannot hash with scheme %q: use ARGON2ID, BLF-CRYPT, SHA512-CRYPT or SHA256-CRYPT", scheme)
}

// NewHash hashes password with scheme (not CRYPT) and a fresh salt, and
// returns the passwd-file field: {SCHEME}hash.
func NewHash(scheme string, password []byte) (string, error) {
	var (
		h   string
		err error
	)
	switch strings.ToUpper(scheme) {
	case "ARGON2ID":
		h, err = newArgon2(password)
	case "BLF-CRYPT":
		h, err = newBcrypt(password)
	case "SHA512-CRYPT":
		h, err = newSHACrypt('6', password)
	case "SHA256-CRYPT":
		h, err = newSHACrypt('5', password)
	default:
		return "", CheckNewScheme(scheme)
	}
	if err != nil {
		return "", err
	}
	return "{" + strings.ToUpper(scheme) + "}" + h, nil
}

// locked is an account that cannot log in ("*", "!…").
type locked struct{}

func (locked) Verify([]byte) bool     { return false }
func (locked) Scheme() string         { return CryptScheme }
func (locked) cost() string           { return "" }
func (l locked) dummy() (Hash, error) { return l, nil }

// randomString is n characters of alphabet, from crypto/rand.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

package passwd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/shacrypt"
	"golang.org/x/crypto/bcrypt"
)

// Bounds on costs read from a file (see MaxArgon2Memory): bcrypt cost 16
// is about 4 s of CPU, SHA-crypt at a million rounds about 1 s.
const (
	MaxBcryptCost     = 16
	MaxSHACryptRounds = 1000000
	newBcryptCost     = 10 // bcrypt.DefaultCost
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

type bcryptHash struct {
	s    []byte
	log2 int
}

// parseBcrypt reads $2a$, $2b$ or $2y$ hashes: $2y$CC$ + 22 characters
// of salt + 31 of hash.
func parseBcrypt(s string) (Hash, error) {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || !strings.ContainsRune("aby", rune(s[2])) || s[3] != '$' || s[6] != '$' {
		return nil, errors.New("a BLF-CRYPT hash is $2y$CC$ followed by 53 characters")
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return nil, fmt.Errorf("bcrypt cost %q is outside %d..%d", s[4:6], bcrypt.MinCost, MaxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(cryptAlphabet, s[i]) < 0 {
			return nil, fmt.Errorf("bcrypt hash has a character %q outside ./0-9A-Za-z", s[i])
		}
	}
	return &bcryptHash{s: []byte(s), log2: cost}, nil
}

// Verify: bcrypt uses the first 72 bytes of the password, as crypt(3)
// does for Dovecot.
func (h *bcryptHash) Verify(password []byte) bool {
	if len(password) > 72 {
		password = password[:72]
	}
	return bcrypt.CompareHashAndPassword(h.s, password) == nil
}

func (h *bcryptHash) Scheme() string { return "BLF-CRYPT" }
func (h *bcryptHash) cost() string   { return fmt.Sprintf("BLF-CRYPT %d", h.log2) }

func (h *bcryptHash) dummy() (Hash, error) {
	return parseBcrypt(string(h.s[:7]) + randomString(cryptAlphabet, 53))
}

// newBcrypt writes $2y$, as doveadm does.
func newBcrypt(password []byte) (string, error) {
	if len(password) > 72 {
		return "", errors.New("BLF-CRYPT uses only the first 72 bytes of a password: use ARGON2ID for longer ones")
	}
	b, err := bcrypt.GenerateFromPassword(password, newBcryptCost)
	if err != nil {
		return "", err
	}
	return "$2y$" + string(b[4:]), nil
}

type shaCryptHash struct {
	h      shacrypt.Hash
	scheme string
}

func parseSHACrypt(s, scheme string) (Hash, error) {
	h, err := shacrypt.Parse(s)
	if err != nil {
		return nil, err
	}
	if h.Sum == "" {
		return nil, errors.New("the SHA-crypt hash has no digest after the salt")
	}
	if h.Rounds > MaxSHACryptRounds {
		return nil, fmt.Errorf("SHA-crypt rounds=%d is above %d", h.Rounds, MaxSHACryptRounds)
	}
	return &shaCryptHash{h: h, scheme: scheme}, nil
}

func (h *shaCryptHash) Verify(password []byte) bool { return h.h.Verify(password) }
func (h *shaCryptHash) Scheme() string              { return h.scheme }
func (h *shaCryptHash) cost() string {
	return fmt.Sprintf("%s %d %d", h.scheme, h.h.Rounds, len(h.h.Salt))
}

func (h *shaCryptHash) dummy() (Hash, error) {
	d := *h
	d.h.Salt = randomString(cryptAlphabet, len(h.h.Salt))
	d.h.Sum = randomString(cryptAlphabet, len(h.h.Sum))
	return &d, nil
}

// newSHACrypt writes $6$salt$sum (or $5$) with 16 characters of salt
// and the default 5000 rounds, as doveadm does.
func newSHACrypt(id byte, password []byte) (string, error) {
	return shacrypt.Crypt(password, "$"+string(id)+"$"+randomString(cryptAlphabet, shacrypt.MaxSalt))
}

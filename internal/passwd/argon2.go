package passwd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes: Dovecot 2.3's doveadm pw defaults
// (libsodium's "moderate" memory with 3 passes).
const (
	argon2Memory  = 64 * 1024 // KiB
	argon2Time    = 3
	argon2Threads = 1
	argon2SaltLen = 16
	argon2KeyLen  = 32
)

// Bounds on parameters read from a file: a corrupt or hostile line must
// not make one login allocate gigabytes or run for minutes.
const (
	MaxArgon2Memory  = 256 * 1024 // KiB: 256 MiB
	MaxArgon2Time    = 32
	MaxArgon2Threads = 16
)

type argon2Hash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

var b64 = base64.RawStdEncoding

// parseArgon2 reads $argon2id$v=19$m=M,t=T,p=P$salt$hash (the PHC
// string format, base64 without padding).
func parseArgon2(s string) (Hash, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return nil, errors.New("an ARGON2ID hash is $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if f[2] != "v=19" {
		return nil, fmt.Errorf("argon2 version %q: only v=19 is supported", f[2])
	}
	var h argon2Hash
	seen := map[string]bool{}
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || seen[k] {
			return nil, fmt.Errorf("argon2 parameter %q is not a number or repeated", kv)
		}
		seen[k] = true
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("argon2 parallelism %d is out of range", n)
			}
			h.threads = uint8(n)
		default:
			return nil, fmt.Errorf("unknown argon2 parameter %q", kv)
		}
	}
	switch {
	case !seen["m"] || !seen["t"] || !seen["p"]:
		return nil, errors.New("argon2 parameters need m=, t= and p=")
	case h.time < 1 || h.time > MaxArgon2Time:
		return nil, fmt.Errorf("argon2 t=%d is outside 1..%d", h.time, MaxArgon2Time)
	case h.threads < 1 || h.threads > MaxArgon2Threads:
		return nil, fmt.Errorf("argon2 p=%d is outside 1..%d", h.threads, MaxArgon2Threads)
	case h.memory < 8*uint32(h.threads) || h.memory > MaxArgon2Memory:
		return nil, fmt.Errorf("argon2 m=%d KiB is outside %d..%d", h.memory, 8*uint32(h.threads), MaxArgon2Memory)
	}
	var err error
	if h.salt, err = b64.DecodeString(strings.TrimRight(f[4], "=")); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return nil, errors.New("argon2 salt is not base64 of 8 to 64 bytes")
	}
	if h.key, err = b64.DecodeString(strings.TrimRight(f[5], "=")); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, errors.New("argon2 hash is not base64 of 16 to 128 bytes")
	}
	return &h, nil
}

func (h *argon2Hash) Verify(password []byte) bool {
	got := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

func (h *argon2Hash) Scheme() string { return "ARGON2ID" }

func (h *argon2Hash) cost() string {
	return fmt.Sprintf("ARGON2ID m=%d,t=%d,p=%d,len=%d", h.memory, h.time, h.threads, len(h.key))
}

func (h *argon2Hash) dummy() (Hash, error) {
	d := *h
	d.salt = make([]byte, len(h.salt))
	d.key = make([]byte, len(h.key))
	rand.Read(d.salt)
	rand.Read(d.key)
	return &d, nil
}

func newArgon2(password []byte) (string, error) {
	salt := make([]byte, argon2SaltLen)
	rand.Read(salt)
	key := argon2.IDKey(password, salt, argon2Time, argon2Memory, argon2Threads, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argon2Memory, argon2Time, argon2Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Package shacrypt is SHA-crypt, the "$5$" (SHA-256) and "$6$" (SHA-512)
// password hashes of crypt(3), written from Ulrich Drepper's
// specification "Unix crypt using SHA-256 and SHA-512". Dovecot calls
// them SHA256-CRYPT and SHA512-CRYPT.
package shacrypt

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Rounds as the specification bounds them: a value below MinRounds is
// raised to it, one above MaxRounds lowered to it.
const (
	DefaultRounds = 5000
	MinRounds     = 1000
	MaxRounds     = 999999999
	// MaxSalt is how many salt characters count; the rest is ignored.
	MaxSalt = 16
)

// Hash is a parsed SHA-crypt string: $ID$[rounds=N$]salt$sum.
type Hash struct {
	ID     byte   // '5' (SHA-256) or '6' (SHA-512)
	Rounds int    // after clamping to [MinRounds, MaxRounds]
	Custom bool   // "rounds=" was given: the output repeats it
	Salt   string // at most MaxSalt characters
	Sum    string // the encoded digest; "" in a setting without one
}

// Parse reads a hash or a setting ("$6$rounds=10000$salt", as for
// crypt(3)): the sum may be missing. The salt is cut to MaxSalt
// characters; rounds are clamped as the specification says.
func Parse(s string) (Hash, error) {
	var h Hash
	switch {
	case strings.HasPrefix(s, "$5$"):
		h.ID = '5'
	case strings.HasPrefix(s, "$6$"):
		h.ID = '6'
	default:
		return h, errors.New("not a SHA-crypt hash: it must begin with $5$ or $6$")
	}
	rest := s[3:]
	h.Rounds = DefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found {
			return h, errors.New("rounds= is not followed by $")
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || num == "" || num[0] == '+' {
			return h, fmt.Errorf("rounds=%q is not a number", num)
		}
		h.Rounds = int(min(max(n, MinRounds), MaxRounds))
		h.Custom = true
		rest = after
	}
	salt, sum, _ := strings.Cut(rest, "$")
	if len(salt) > MaxSalt {
		salt = salt[:MaxSalt]
	}
	h.Salt = salt
	h.Sum = sum
	if sum != "" && len(sum) != h.sumLen() {
		return h, fmt.Errorf("the digest has %d characters, not %d", len(sum), h.sumLen())
	}
	for i := 0; i < len(sum); i++ {
		if strings.IndexByte(alphabet, sum[i]) < 0 {
			return h, fmt.Errorf("the digest has a character %q outside ./0-9A-Za-z", sum[i])
		}
	}
	return h, nil
}

func (h Hash) sumLen() int {
	if h.ID == '5' {
		return 43
	}
	return 86
}

// String is the hash in crypt(3)'s form.
func (h Hash) String() string {
	var b strings.Builder
	b.WriteString("$")
	b.WriteByte(h.ID)
	b.WriteString("$")
	if h.Custom {
		fmt.Fprintf(&b, "rounds=%d$", h.Rounds)
	}
	b.WriteString(h.Salt)
	b.WriteString("$")
	b.WriteString(h.Sum)
	return b.String()
}

// Crypt computes the hash of password with setting's algorithm, rounds
// and salt (any sum in setting is ignored), as crypt(3) does.
func Crypt(password []byte, setting string) (string, error) {
	h, err := Parse(setting)
	if err != nil {
		return "", err
	}
	h.Sum = h.sum(password)
	return h.String(), nil
}

// Verify reports whether password matches the full hash h, in constant
// time with respect to the digest.
func (h Hash) Verify(password []byte) bool {
	want := h.Sum
	got := h.sum(password)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sum is the specification's algorithm, steps 1 to 22.
func (h Hash) sum(key []byte) string {
	newHash := sha512.New
	if h.ID == '5' {
		newHash = sha256.New
	}
	salt := []byte(h.Salt)
	// Digest B: key, salt, key.
	d := newHash()
	d.Write(key)
	d.Write(salt)
	d.Write(key)
	b := d.Sum(nil)
	size := len(b)

	// Digest A: key, salt, then B for each block of the key's length,
	// then B or the key for each bit of the key's length.
	a := newHash()
	a.Write(key)
	a.Write(salt)
	writeRepeated(a, b, len(key))
	for n := len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(b)
		} else {
			a.Write(key)
		}
	}
	sumA := a.Sum(nil)

	// Digest DP: the key once per byte of the key; P is its prefix.
	dp := newHash()
	for range key {
		dp.Write(key)
	}
	p := repeatTo(dp.Sum(nil), len(key))

	// Digest DS: the salt 16+A[0] times; S is its prefix.
	ds := newHash()
	for i := 0; i < 16+int(sumA[0]); i++ {
		ds.Write(salt)
	}
	s := repeatTo(ds.Sum(nil), len(salt))

	c := sumA
	r := newHash()
	for i := 0; i < h.Rounds; i++ {
		r.Reset()
		if i&1 != 0 {
			r.Write(p)
		} else {
			r.Write(c)
		}
		if i%3 != 0 {
			r.Write(s)
		}
		if i%7 != 0 {
			r.Write(p)
		}
		if i&1 != 0 {
			r.Write(c)
		} else {
			r.Write(p)
		}
		c = r.Sum(c[:0])
	}
	return encode(c, size)
}

// writeRepeated writes n bytes of the endless repetition of b.
func writeRepeated(w hash.Hash, b []byte, n int) {
	for ; n > len(b); n -= len(b) {
		w.Write(b)
	}
	w.Write(b[:n])
}

func repeatTo(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}

const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode is the specification's step 22: the digest's bytes in groups
// of three, in a fixed shuffled order, each group as four characters,
// least significant six bits first.
func encode(c []byte, size int) string {
	var out []byte
	put := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for ; n > 0; n-- {
			out = append(out, alphabet[w&0x3f])
			w >>= 6
		}
	}
	if size == sha512.Size {
		// Groups (i, i+21, i+42) mod 63, i stepping by 22.
		for g := 0; g < 21; g++ {
			i := g * 22 % 63
			put(c[i], c[(i+21)%63], c[(i+42)%63], 4)
		}
		put(0, 0, c[63], 2)
	} else {
		// Groups (i, i+10, i+20) mod 30, i stepping by 21.
		for g := 0; g < 10; g++ {
			i := g * 21 % 30
			put(c[i], c[(i+10)%30], c[(i+20)%30], 4)
		}
		put(0, c[31], c[30], 3)
	}
	return string(out)
}

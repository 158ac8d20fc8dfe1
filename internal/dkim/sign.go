package dkim

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxHeaderBytes bounds the header block a Signer holds in memory.
const MaxHeaderBytes = 1 << 20

// signedHeaders is the header set signed when present (RFC 6376 §5.4.1 and
// M3AAWG's DKIM guidance). From is always signed, and once more than
// present (see headerKeys).
var signedHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc",
	"Message-ID", "In-Reply-To", "References",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive",
}

// Key is one signing key with its selector.
type Key struct {
	Selector string
	Signer   crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
}

// Signer signs messages for one domain (the d= tag) with one or more keys.
type Signer struct {
	domain string
	keys   []Key
	algs   []Algorithm
	now    func() time.Time // the t= tag; tests fix it
}

// NewSigner checks the domain and keys. Several keys give several
// signatures (dual signing: an RSA and an Ed25519 key).
func NewSigner(domain string, keys ...Key) (*Signer, error) {
	domain = strings.TrimSuffix(domain, ".")
	if !validTagValue(domain) {
		return nil, fmt.Errorf("dkim: bad signing domain %q", domain)
	}
	if len(keys) == 0 {
		return nil, errors.New("dkim: no signing key")
	}
	s := &Signer{domain: domain, keys: keys, now: time.Now}
	for _, k := range keys {
		if !validTagValue(k.Selector) {
			return nil, fmt.Errorf("dkim: bad selector %q", k.Selector)
		}
		if k.Signer == nil {
			return nil, fmt.Errorf("dkim: selector %s: no key", k.Selector)
		}
		if _, err := checkKey(k.Signer); err != nil {
			return nil, fmt.Errorf("selector %s: %w", k.Selector, err)
		}
		alg, _ := KeyAlgorithm(k.Signer.Public())
		s.algs = append(s.algs, alg)
	}
	return s, nil
}

// validTagValue accepts a domain or selector: DNS name characters only.
func validTagValue(v string) bool {
	if v == "" || len(v) > 253 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Sign reads a whole message (header, empty line, body; CRLF or LF line
// ends) and returns the DKIM-Signature header fields to prepend, one per
// key, each ending in CRLF. The header is held (at most MaxHeaderBytes);
// the body is canonicalized and hashed once, for all keys, as it is read.
func (s *Signer) Sign(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 32*1024)
	hdr, err := readHeaderBlock(br)
	if err != nil {
		return "", err
	}
	fields := splitFields(hdr)
	keys, err := headerKeys(fields)
	if err != nil {
		return "", err
	}
	bh := sha256.New()
	body := &relaxedBody{w: bh}
	if _, err := br.WriteTo(body); err != nil {
		return "", fmt.Errorf("dkim: reading message: %w", err)
	}
	if err := body.Close(); err != nil {
		return "", err
	}
	bodyHash := base64.StdEncoding.EncodeToString(bh.Sum(nil))
	// The signed header fields are the same for every key.
	var signed strings.Builder
	for _, f := range pickFields(fields, keys) {
		signed.WriteString(relaxedHeader(f))
		signed.WriteString("\r\n")
	}
	t := s.now().Unix()
	var out strings.Builder
	for i, k := range s.keys {
		field, err := s.signature(k, s.algs[i], t, keys, bodyHash, signed.String())
		if err != nil {
			return "", err
		}
		out.WriteString(field)
	}
	return out.String(), nil
}

// signature makes one DKIM-Signature field (with its CRLF).
func (s *Signer) signature(k Key, alg Algorithm, t int64, keys []string, bodyHash, signed string) (string, error) {
	var b strings.Builder
	b.WriteString("DKIM-Signature: v=1; a=" + string(alg) + "-sha256; c=relaxed/relaxed;\r\n")
	st := "s=" + k.Selector + "; t=" + strconv.FormatInt(t, 10) + ";"
	if len(s.domain)+len(st) > 72 {
		b.WriteString("\td=" + s.domain + ";\r\n\t" + st + "\r\n")
	} else {
		b.WriteString("\td=" + s.domain + "; " + st + "\r\n")
	}
	line := len("\th=")
	b.WriteString("\th=")
	for i, name := range keys {
		if i > 0 {
			b.WriteByte(':')
			line++
			if line+len(name) > 76 {
				b.WriteString("\r\n\t")
				line = 1
			}
		}
		b.WriteString(name)
		line += len(name)
	}
	b.WriteString(";\r\n\tbh=" + bodyHash + ";\r\n\tb=")
	h := sha256.New()
	h.Write([]byte(signed))
	h.Write([]byte(relaxedHeader(b.String())))
	digest := h.Sum(nil)
	var sig []byte
	var err error
	if _, ok := k.Signer.(ed25519.PrivateKey); ok || alg == Ed25519 {
		// RFC 8463 §3: Ed25519 signs the SHA-256 digest itself.
		sig, err = k.Signer.Sign(nil, digest, crypto.Hash(0))
	} else {
		sig, err = k.Signer.Sign(rand.Reader, digest, crypto.SHA256)
	}
	if err != nil {
		return "", fmt.Errorf("dkim: selector %s: signing: %w", k.Selector, err)
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	for len(b64) > 72 {
		b.WriteString(b64[:72] + "\r\n\t")
		b64 = b64[72:]
	}
	b.WriteString(b64 + "\r\n")
	return b.String(), nil
}

// readHeaderBlock returns the header lines up to and including the empty
// line that ends them (or all of a message without a body).
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && (len(hdr) == 0 || hdr[len(hdr)-1] == '\n') && isBlank(line) {
			return append(hdr, line...), nil
		}
		hdr = append(hdr, line...)
		if len(hdr) > MaxHeaderBytes {
			return nil, fmt.Errorf("dkim: header longer than %d bytes", MaxHeaderBytes)
		}
		switch err {
		case nil, bufio.ErrBufferFull: // a long line: read on
		case io.EOF:
			return hdr, nil
		default:
			return nil, fmt.Errorf("dkim: reading header: %w", err)
		}
	}
}

func isBlank(line []byte) bool {
	return bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n"))
}

// field is one header field, raw (with its folded lines and line ends).
type field struct {
	name string // lower case
	raw  string
}

// splitFields cuts a header block into fields. Lines that are neither a
// field nor a continuation are ignored (they cannot be signed).
func splitFields(hdr []byte) []field {
	var fields []field
	for _, line := range bytes.SplitAfter(hdr, []byte("\n")) {
		if len(line) == 0 || isBlank(line) {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) > 0 {
				fields[len(fields)-1].raw += string(line)
			}
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		fields = append(fields, field{strings.ToLower(string(bytes.TrimRight(name, " \t"))), string(line)})
	}
	return fields
}

// headerKeys lists the h= names: each field of signedHeaders once per
// occurrence, and From once more (oversigning). A message without a From
// field cannot be signed (RFC 6376 §5.4).
func headerKeys(fields []field) ([]string, error) {
	count := map[string]int{}
	for _, f := range fields {
		count[f.name]++
	}
	if count["from"] == 0 {
		return nil, errors.New("dkim: message has no From header field")
	}
	var keys []string
	for _, h := range signedHeaders {
		n := count[strings.ToLower(h)]
		if h == "From" {
			n++
		}
		for range n {
			keys = append(keys, h)
		}
	}
	return keys, nil
}

// pickFields returns the fields that h= names, in h= order: for a name
// listed several times, the last instance first, then upwards (RFC 6376
// §5.4.2); a name listed more often than present signs nothing more.
func pickFields(fields []field, keys []string) []string {
	used := make([]bool, len(fields))
	var out []string
	for _, k := range keys {
		k = strings.ToLower(k)
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && fields[i].name == k {
				used[i] = true
				out = append(out, fields[i].raw)
				break
			}
		}
	}
	return out
}

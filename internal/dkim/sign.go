package dkim

import (
	"bufio"
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
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
}

// NewSigner checks the domain and keys. Several keys give several
// signatures (dual signing: an RSA and an Ed25519 key).
func NewSigner(domain string, keys ...Key) (*Signer, error) {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" || strings.ContainsAny(domain, "; \t\r\n=") {
		return nil, fmt.Errorf("dkim: bad signing domain %q", domain)
	}
	if len(keys) == 0 {
		return nil, errors.New("dkim: no signing key")
	}
	for _, k := range keys {
		if k.Selector == "" || strings.ContainsAny(k.Selector, "; \t\r\n=") {
			return nil, fmt.Errorf("dkim: bad selector %q", k.Selector)
		}
		if k.Signer == nil {
			return nil, fmt.Errorf("dkim: selector %s: no key", k.Selector)
		}
		if _, err := checkKey(k.Signer); err != nil {
			return nil, fmt.Errorf("selector %s: %w", k.Selector, err)
		}
	}
	return &Signer{domain: domain, keys: keys}, nil
}

// Sign reads a whole message (header, empty line, body; CRLF or LF line
// ends) and returns the DKIM-Signature header fields to prepend, one per
// key, each ending in CRLF. The header is held (at most MaxHeaderBytes);
// the body is hashed as it is read.
func (s *Signer) Sign(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 32*1024)
	hdr, err := readHeaderBlock(br)
	if err != nil {
		return "", err
	}
	keys, err := headerKeys(hdr)
	if err != nil {
		return "", err
	}
	signers := make([]*msgdkim.Signer, 0, len(s.keys))
	ws := make([]io.Writer, 0, len(s.keys))
	defer func() {
		for _, sg := range signers {
			sg.Close() // no-op after a successful Close
		}
	}()
	for _, k := range s.keys {
		sg, err := msgdkim.NewSigner(&msgdkim.SignOptions{
			Domain:                 s.domain,
			Selector:               k.Selector,
			Signer:                 k.Signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
			BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
			HeaderKeys:             keys,
		})
		if err != nil {
			return "", fmt.Errorf("dkim: selector %s: %w", k.Selector, err)
		}
		signers = append(signers, sg)
		ws = append(ws, sg)
	}
	w := io.MultiWriter(ws...)
	if _, err := w.Write(hdr); err != nil {
		return "", fmt.Errorf("dkim: hashing header: %w", err)
	}
	if _, err := br.WriteTo(w); err != nil {
		return "", fmt.Errorf("dkim: reading message: %w", err)
	}
	var out strings.Builder
	for i, sg := range signers {
		if err := sg.Close(); err != nil {
			return "", fmt.Errorf("dkim: selector %s: %w", s.keys[i].Selector, err)
		}
		out.WriteString(sg.Signature())
	}
	return out.String(), nil
}

// readHeaderBlock returns the header lines up to and including the empty
// line that ends them (or all of a message without a body).
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: keep reading it.
			hdr = append(hdr, line...)
			if len(hdr) > MaxHeaderBytes {
				return nil, fmt.Errorf("dkim: header longer than %d bytes", MaxHeaderBytes)
			}
			continue
		}
		if len(line) > 0 && (len(hdr) == 0 || hdr[len(hdr)-1] == '\n') && isBlank(line) {
			hdr = append(hdr, line...)
			return hdr, nil
		}
		hdr = append(hdr, line...)
		if len(hdr) > MaxHeaderBytes {
			return nil, fmt.Errorf("dkim: header longer than %d bytes", MaxHeaderBytes)
		}
		if err == io.EOF {
			// No body: end the header as the signer expects.
			if len(hdr) > 0 && hdr[len(hdr)-1] != '\n' {
				hdr = append(hdr, "\r\n"...)
			}
			return append(hdr, "\r\n"...), nil
		}
		if err != nil {
			return nil, fmt.Errorf("dkim: reading header: %w", err)
		}
	}
}

func isBlank(line []byte) bool {
	return bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n"))
}

// headerKeys lists the h= names: each field of signedHeaders once per
// occurrence in hdr, and From once more (oversigning). A message without a
// From field cannot be signed (RFC 6376 §5.4).
func headerKeys(hdr []byte) ([]string, error) {
	count := map[string]int{}
	for _, line := range bytes.SplitAfter(hdr, []byte("\n")) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		count[strings.ToLower(string(bytes.TrimRight(name, " \t")))]++
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

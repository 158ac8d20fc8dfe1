package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// DefaultRSABits is the size of generated RSA keys.
const DefaultRSABits = 2048

// minRSABits is the smallest RSA key accepted for signing (RFC 8301 §3.2).
const minRSABits = 1024

// Algorithm names a key type as DKIM's k= tag spells it.
type Algorithm string

// The key types supported.
const (
	RSA     Algorithm = "rsa"
	Ed25519 Algorithm = "ed25519"
)

// ParsePrivateKey reads a PEM private key: "RSA PRIVATE KEY" (PKCS#1) or
// "PRIVATE KEY" (PKCS#8, RSA or Ed25519). Anything else is an error that
// says what was found.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("dkim: no PEM block found in key")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("dkim: trailing data after the PEM key block")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("dkim: unsupported PEM block %q (want \"PRIVATE KEY\" or \"RSA PRIVATE KEY\")", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("dkim: parsing %s: %w", block.Type, err)
	}
	return checkKey(key)
}

// checkKey accepts the key types DKIM signs with.
func checkKey(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("dkim: RSA key of %d bits is too small (at least %d)", bits, minRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case *ed25519.PrivateKey:
		return *k, nil
	default:
		return nil, fmt.Errorf("dkim: unsupported key type %T (want RSA or Ed25519)", key)
	}
}

// KeyAlgorithm returns the DKIM key type of a signer's public key.
func KeyAlgorithm(pub crypto.PublicKey) (Algorithm, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return RSA, nil
	case ed25519.PublicKey:
		return Ed25519, nil
	default:
		return "", fmt.Errorf("dkim: unsupported public key type %T", pub)
	}
}

// GenerateKey makes a new key: RSA of bits bits (DefaultRSABits when 0) or
// Ed25519 (bits must be 0).
func GenerateKey(alg Algorithm, bits int) (crypto.Signer, error) {
	switch alg {
	case RSA:
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < minRSABits {
			return nil, fmt.Errorf("dkim: RSA key of %d bits is too small (at least %d)", bits, minRSABits)
		}
		return rsa.GenerateKey(rand.Reader, bits)
	case Ed25519:
		if bits != 0 {
			return nil, errors.New("dkim: Ed25519 keys have no size")
		}
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	default:
		return nil, fmt.Errorf("dkim: unknown key algorithm %q", alg)
	}
}

// MarshalPrivateKey encodes a key as PEM PKCS#8 ("PRIVATE KEY").
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// TXTRecord returns the DNS TXT record text that publishes pub, e.g.
// "v=DKIM1; k=rsa; p=MIIB...". RSA keys are published as
// SubjectPublicKeyInfo (as OpenDKIM and dkimpy do); Ed25519 keys as the
// bare 32-byte key (RFC 8463 §4).
func TXTRecord(pub crypto.PublicKey) (string, error) {
	var der []byte
	switch k := pub.(type) {
	case *rsa.PublicKey:
		var err error
		if der, err = x509.MarshalPKIXPublicKey(k); err != nil {
			return "", fmt.Errorf("dkim: encoding public key: %w", err)
		}
	case ed25519.PublicKey:
		der = k
	}
	alg, err := KeyAlgorithm(pub)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("v=DKIM1; k=%s; p=%s", alg, base64.StdEncoding.EncodeToString(der)), nil
}

// SplitTXT cuts a TXT record into strings of at most 255 bytes, the limit
// of one DNS character-string; resolvers join them back.
func SplitTXT(record string) []string {
	var parts []string
	for len(record) > 255 {
		parts = append(parts, record[:255])
		record = record[255:]
	}
	return append(parts, record)
}

// ZoneLine returns the zone-file line publishing record for selector and
// domain: `sel._domainkey.example.com. IN TXT ( "..." "..." )`.
func ZoneLine(selector, domain, record string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s._domainkey.%s. IN TXT (", selector, strings.TrimSuffix(domain, "."))
	for _, p := range SplitTXT(record) {
		b.WriteString(` "` + p + `"`)
	}
	b.WriteString(" )")
	return b.String()
}

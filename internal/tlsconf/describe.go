package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"strings"
)

// Describe is Postfix's description of a TLS session, as its log lines
// and Received: headers print it: "TLSv1.3 with cipher
// TLS_AES_256_GCM_SHA384 (256/256 bits)". Cipher suites carry OpenSSL's
// names, as Postfix (built on OpenSSL) prints them; Go knows them by
// their IANA names, which are the same for TLS 1.3 (see CipherName).
func Describe(cs *tls.ConnectionState) string {
	use, alg := CipherBits(cs.CipherSuite)
	return fmt.Sprintf("%s with cipher %s (%d/%d bits)", ProtocolName(cs.Version), CipherName(cs.CipherSuite), use, alg)
}

// KeyExchange is the key-exchange group under OpenSSL's name
// ("X25519", "prime256v1"), or "" when Go does not say (TLS 1.2 without
// ECDHE). Postfix prints it as "key-exchange X25519".
func KeyExchange(cs *tls.ConnectionState) string {
	switch cs.CurveID {
	case 0:
		return ""
	case tls.X25519:
		return "X25519"
	case tls.CurveP256:
		return "prime256v1"
	case tls.CurveP384:
		return "secp384r1"
	case tls.CurveP521:
		return "secp521r1"
	}
	return cs.CurveID.String() // X25519MLKEM768: OpenSSL 3.5 uses the same name
}

// ProtocolName is OpenSSL's name of a TLS version: "TLSv1.3".
func ProtocolName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("TLS-0x%04x", v)
}

// openSSLNames maps the TLS 1.2 suites Go implements to OpenSSL's names.
// TLS 1.3 suites have one name in both (TLS_AES_128_GCM_SHA256).
var openSSLNames = map[uint16]string{
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       "ECDHE-ECDSA-AES128-SHA256",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256:               "AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
	tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA:                "ECDHE-RSA-RC4-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:              "ECDHE-ECDSA-RC4-SHA",
	tls.TLS_RSA_WITH_RC4_128_SHA:                      "RC4-SHA",
}

// CipherName is OpenSSL's name of a cipher suite; a suite missing from
// the table keeps Go's (IANA) name.
func CipherName(id uint16) string {
	if n, ok := openSSLNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

// CipherBits are the suite's effective and algorithm key sizes, as
// OpenSSL's SSL_CIPHER_get_bits reports them (3DES: 112 of 168).
func CipherBits(id uint16) (use, alg int) {
	n := tls.CipherSuiteName(id)
	switch {
	case strings.Contains(n, "AES_256"), strings.Contains(n, "CHACHA20"):
		return 256, 256
	case strings.Contains(n, "AES_128"), strings.Contains(n, "RC4_128"):
		return 128, 128
	case strings.Contains(n, "3DES"):
		return 112, 168
	}
	return 0, 0
}

// Signature describes how a key signs in a TLS 1.3 handshake, as
// Postfix logs it after "server-signature" or "client-signature": the
// algorithm, its size or curve, and the digest ("ECDSA", "(prime256v1)",
// "SHA256"; "RSA-PSS", "(2048 bits)", "SHA256"; "ED25519", "", "").
// Go does not report the negotiated scheme: for ECDSA the curve fixes
// the digest; for RSA, SHA256 is what Go and OpenSSL clients pick
// first. ok is false for a key or version it cannot describe.
func Signature(pub any, version uint16) (alg, size, digest string, ok bool) {
	if version != tls.VersionTLS13 {
		return "", "", "", false
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ECDSA", "(prime256v1)", "SHA256", true
		case elliptic.P384():
			return "ECDSA", "(secp384r1)", "SHA384", true
		case elliptic.P521():
			return "ECDSA", "(secp521r1)", "SHA512", true
		}
	case *rsa.PublicKey:
		return "RSA-PSS", fmt.Sprintf("(%d bits)", k.N.BitLen()), "SHA256", true
	case ed25519.PublicKey:
		return "ED25519", "", "", true
	}
	return "", "", "", false
}

// SignatureText is Signature as Postfix prints it after role
// ("server" or "client"): "server-signature ECDSA (prime256v1)
// server-digest SHA256"; "" when Signature cannot tell.
func SignatureText(role string, pub any, version uint16) string {
	alg, size, digest, ok := Signature(pub, version)
	if !ok {
		return ""
	}
	s := role + "-signature " + alg
	if size != "" {
		s += " " + size
	}
	if digest != "" {
		s += " " + role + "-digest " + digest
	}
	return s
}

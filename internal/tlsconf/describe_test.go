package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"testing"
)

// Postfix's session descriptions, with OpenSSL's suite names.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		cs        tls.ConnectionState
		want, kex string
	}{
		{tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_256_GCM_SHA384, CurveID: tls.X25519},
			"TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", "X25519"},
		{tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_CHACHA20_POLY1305_SHA256, CurveID: tls.X25519MLKEM768},
			"TLSv1.3 with cipher TLS_CHACHA20_POLY1305_SHA256 (256/256 bits)", "X25519MLKEM768"},
		{tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CurveID: tls.CurveP256},
			"TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)", "prime256v1"},
		{tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA},
			"TLSv1.2 with cipher DES-CBC3-SHA (112/168 bits)", ""},
	} {
		if got := Describe(&tc.cs); got != tc.want {
			t.Errorf("Describe = %q, want %q", got, tc.want)
		}
		if got := KeyExchange(&tc.cs); got != tc.kex {
			t.Errorf("KeyExchange = %q, want %q", got, tc.kex)
		}
	}
}

// Signatures as Postfix 3.7 logs them (its line, measured: "server-signature
// ECDSA (prime256v1) server-digest SHA256").
func TestSignatureText(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		pub     any
		version uint16
		want    string
	}{
		{&p256.PublicKey, tls.VersionTLS13, "server-signature ECDSA (prime256v1) server-digest SHA256"},
		{&p384.PublicKey, tls.VersionTLS13, "server-signature ECDSA (secp384r1) server-digest SHA384"},
		{&r.PublicKey, tls.VersionTLS13, "server-signature RSA-PSS (2048 bits) server-digest SHA256"},
		{ed, tls.VersionTLS13, "server-signature ED25519"},
		{&p256.PublicKey, tls.VersionTLS12, ""},
	} {
		if got := SignatureText("server", tc.pub, tc.version); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

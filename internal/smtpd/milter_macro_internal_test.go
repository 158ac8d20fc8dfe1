package smtpd

import (
	"crypto/tls"
	"testing"
)

// The TLS macros name the negotiated suite and its strength as Postfix
// does: TLS_AES_128_GCM_SHA256 is 128 bits (its name holds "256": the
// hash), TLS_CHACHA20_POLY1305_SHA256 256.
func TestMilterMacroTLS(t *testing.T) {
	for _, tc := range []struct {
		suite          uint16
		version        uint16
		bits, protocol string
	}{
		{tls.TLS_AES_128_GCM_SHA256, tls.VersionTLS13, "128", "TLSv1.3"},
		{tls.TLS_AES_256_GCM_SHA384, tls.VersionTLS13, "256", "TLSv1.3"},
		{tls.TLS_CHACHA20_POLY1305_SHA256, tls.VersionTLS13, "256", "TLSv1.3"},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.VersionTLS12, "128", "TLSv1.2"},
	} {
		ss := &session{srv: &Server{}, tls: &tls.ConnectionState{CipherSuite: tc.suite, Version: tc.version}}
		if bits, ok := ss.milterMacro("{cipher_bits}"); !ok || bits != tc.bits {
			t.Errorf("%s: {cipher_bits} = %q, %v; want %s", tls.CipherSuiteName(tc.suite), bits, ok, tc.bits)
		}
		if v, _ := ss.milterMacro("{tls_version}"); v != tc.protocol {
			t.Errorf("%s: {tls_version} = %q, want %s", tls.CipherSuiteName(tc.suite), v, tc.protocol)
		}
	}
}

package tlsconf

import (
	"path/filepath"
	"testing"
)

// BenchmarkHandshake measures full handshakes (server and client in one
// process, over a pipe, TLS 1.3, the reload check included): 1e9/ns/op
// is handshakes per second for one core doing both sides.
func BenchmarkHandshake(b *testing.B) {
	for _, kind := range []string{"ecdsa", "rsa"} {
		b.Run(kind, func(b *testing.B) {
			pem := writeFile(b, filepath.Join(b.TempDir(), "s.pem"), serverPEM(b, kind, "mx.example"))
			s := newServer(b, "smtpd_tls_chain_files = "+pem+"\n")
			c := clientFor(b, "mx.example")
			b.ResetTimer()
			for b.Loop() {
				if _, err := handshake(b, s, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkReloadCheck is the cost the reload check adds to each
// handshake: a stat of every certificate file.
func BenchmarkReloadCheck(b *testing.B) {
	pem := writeFile(b, filepath.Join(b.TempDir(), "s.pem"), serverPEM(b, "ecdsa", "mx.example"))
	s := newServer(b, "smtpd_tls_chain_files = "+pem+"\n")
	for b.Loop() {
		s.certs.get()
	}
}

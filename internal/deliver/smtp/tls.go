package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"
)

// loadRoots reads smtp_tls_CAfile; nil means the system's roots.
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("smtp_tls_CAfile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("smtp_tls_CAfile %s: no certificates found", file)
	}
	return pool, nil
}

// startTLS sends STARTTLS, makes the handshake and says EHLO again
// (smtp_helo / smtp_start_tls). It applies the level: at "may" a refused
// STARTTLS continues in plaintext; from "encrypt" up it is a failure, and
// from "verify" up so is a certificate that does not verify or match.
func (a *Agent) startTLS(ctx context.Context, at *attempt, s *session, d destination, level TLSLevel) *failure {
	r, err := s.command("STARTTLS", a.cfg.Timeouts.StartTLS)
	if err != nil {
		return streamFailure(ctx, s, err, "receiving the STARTTLS response")
	}
	if r.code/100 != 2 {
		s.ext.startTLS = false
		if level >= TLSEncrypt {
			return remoteFailure(s, r, "TLS is required, but host %s refused to start TLS: %s", s.srv.namaddr(), r.text)
		}
		a.logf("warning: %s: cleartext fallback, host refused to start TLS", s.srv.namaddrport())
		return nil
	}
	cfg := &tls.Config{
		// Verification is done below, by level, as Postfix's matching
		// rules are not crypto/tls's.
		InsecureSkipVerify: true,
		ServerName:         a.sni(s, d),
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         a.cfg.tlsMaxVersion,
	}
	tc := tls.Client(s.w, cfg)
	s.w.setTimeout(a.cfg.Timeouts.StartTLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		s.broken = true
		f := localFailure(s, "4.7.5", "Cannot start TLS: handshake failure")
		if ctx.Err() != nil {
			return streamFailure(ctx, s, err, "performing the TLS handshake")
		}
		a.logf("%s: TLS handshake failed: %v", s.srv.namaddrport(), err)
		f.retryPlain = level == TLSMay && a.plaintextFallbackOK(at, d, s)
		return f
	}
	st := tc.ConnectionState()
	s.tls = &st
	s.br = bufio.NewReaderSize(tc, 4096)
	s.bw = bufio.NewWriterSize(tc, writeBuffer)
	trusted, matched := a.checkCert(st, s, d, level)
	s.tlsOK = trusted && matched && level >= TLSVerify
	a.logf("%s TLS connection established to %s: %s", trustWord(st, trusted, s.tlsOK), s.srv.namaddrport(), describeTLS(st))
	if level >= TLSVerify && !s.tlsOK {
		return localFailure(s, "4.7.5", "Server certificate not verified")
	}
	return a.hello(ctx, s, d, true)
}

// plaintextFallbackOK is Postfix's PLAINTEXT_FALLBACK_OK_AFTER_*_FAILURE:
// only for mail that already waited minimal_backoff_time, and never when
// the server would get our password.
func (a *Agent) plaintextFallbackOK(at *attempt, d destination, s *session) bool {
	if at.req.Env.Arrival.IsZero() || time.Since(at.req.Env.Arrival) < a.cfg.MinBackoff {
		return false
	}
	if a.cfg.SASLEnable {
		if _, _, found, _ := a.credentials(s, d); found {
			return false
		}
	}
	return true
}

// sni is smtp_tls_servername.
func (a *Agent) sni(s *session, d destination) string {
	switch name := a.cfg.TLSServerName; {
	case name == "":
		return ""
	case strings.EqualFold(name, "hostname"):
		return s.srv.host
	case strings.EqualFold(name, "nexthop"):
		return d.host
	default:
		return name
	}
}

// checkCert reports whether the chain leads to a trusted root and, at
// "verify" and "secure", whether the certificate names the server: its
// host name at "verify" (smtp_tls_verify_cert_match = hostname), the
// next-hop domain or a subdomain at "secure" (nexthop, dot-nexthop).
func (a *Agent) checkCert(st tls.ConnectionState, s *session, d destination, level TLSLevel) (trusted, matched bool) {
	certs := st.PeerCertificates
	if len(certs) == 0 {
		return false, false
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: a.roots, Intermediates: inter})
	trusted = err == nil
	switch level {
	case TLSVerify:
		matched = certs[0].VerifyHostname(s.srv.host) == nil
	case TLSSecure:
		matched = certs[0].VerifyHostname(d.host) == nil
		suffix := "." + strings.ToLower(d.host)
		for _, n := range certs[0].DNSNames {
			if strings.HasSuffix(strings.ToLower(n), suffix) && !strings.Contains(n, "*") {
				matched = true
			}
		}
	}
	return trusted, matched
}

func trustWord(st tls.ConnectionState, trusted, verified bool) string {
	switch {
	case len(st.PeerCertificates) == 0:
		return "Anonymous"
	case verified:
		return "Verified"
	case trusted:
		return "Trusted"
	}
	return "Untrusted"
}

// describeTLS is "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128
// bits)", as Postfix logs it.
func describeTLS(st tls.ConnectionState) string {
	version := strings.Replace(tls.VersionName(st.Version), "TLS 1.", "TLSv1.", 1)
	name := tls.CipherSuiteName(st.CipherSuite)
	bits := 128
	if strings.Contains(name, "AES_256") || strings.Contains(name, "CHACHA20") {
		bits = 256
	}
	return fmt.Sprintf("%s with cipher %s (%d/%d bits)", version, name, bits, bits)
}

package config

import (
	"fmt"
	"strings"
)

// starttlsParams are the TLS settings of the SMTP session (internal/smtpd):
// security level, wrapper mode, STARTTLS, client certificates, Received header.
var starttlsParams = []Param{
	{Name: "relay_clientcerts", Default: "", Kind: MapList},
	{Name: "smtpd_enforce_tls", Default: "no", Kind: Bool},
	{Name: "smtpd_starttls_timeout", Default: "${stress?{10}:{300}}s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtpd_tls_ask_ccert", Default: "no", Kind: Bool},
	{Name: "smtpd_tls_fingerprint_digest", Default: "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}", Kind: String, Check: checkFingerprintDigest},
	{Name: "smtpd_tls_loglevel", Default: "0", Kind: Int},
	{Name: "smtpd_tls_received_header", Default: "no", Kind: Bool},
	{Name: "smtpd_tls_req_ccert", Default: "no", Kind: Bool},
	{Name: "smtpd_tls_security_level", Default: "", Kind: String, Check: oneOf("", "none", "may", "encrypt")},
	{Name: "smtpd_tls_wrappermode", Default: "no", Kind: Bool},
	{Name: "smtpd_use_tls", Default: "no", Kind: Bool},
}

// FingerprintDigests are the smtpd_tls_fingerprint_digest values postern
// computes (Postfix accepts any OpenSSL digest; these are the ones its
// documentation names).
var FingerprintDigests = []string{"md5", "sha1", "sha256"}

func checkFingerprintDigest(_ *Config, v string) error {
	for _, d := range FingerprintDigests {
		if strings.EqualFold(v, d) {
			return nil
		}
	}
	return fmt.Errorf("unsupported digest %q (use one of: %s)", v, strings.Join(FingerprintDigests, ", "))
}

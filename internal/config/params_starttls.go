package config

// starttlsParams are the TLS settings of the SMTP session (internal/smtpd):
// security level, wrapper mode, STARTTLS, client certificates, Received header.
var starttlsParams = []Param{
	{Name: "smtpd_tls_security_level", Default: "", Kind: String, Check: oneOf("", "none", "may", "encrypt")},
}

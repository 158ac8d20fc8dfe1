package config

// tlsParams are the TLS server settings internal/tlsconf reads:
// certificates, SNI, protocols, ciphers, client certificate trust, tickets.
var tlsParams = []Param{
	{Name: "smtpd_tls_cert_file", Default: "", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_key_file", Default: "$smtpd_tls_cert_file", Kind: String, Check: checkReadableFile},
}

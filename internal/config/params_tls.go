package config

import "fmt"

// tlsParams are the TLS server settings internal/tlsconf reads:
// certificates, SNI, protocols, ciphers, client certificate trust, tickets.
// Protocol and cipher lists are checked by tlsconf (postern check, start).
var tlsParams = []Param{
	{Name: "smtpd_tls_CAfile", Default: "", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_CApath", Default: "", Kind: String},
	{Name: "smtpd_tls_ccert_verifydepth", Default: "9", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_tls_cert_file", Default: "", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_chain_files", Default: "", Kind: List},
	{Name: "smtpd_tls_ciphers", Default: "medium", Kind: String},
	{Name: "smtpd_tls_dcert_file", Default: "", Kind: String, Check: noDSA},
	{Name: "smtpd_tls_dkey_file", Default: "$smtpd_tls_dcert_file", Kind: String, Check: noDSA},
	{Name: "smtpd_tls_eccert_file", Default: "", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_eckey_file", Default: "$smtpd_tls_eccert_file", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_exclude_ciphers", Default: "", Kind: List},
	{Name: "smtpd_tls_key_file", Default: "$smtpd_tls_cert_file", Kind: String, Check: checkReadableFile},
	{Name: "smtpd_tls_mandatory_ciphers", Default: "medium", Kind: String},
	{Name: "smtpd_tls_mandatory_exclude_ciphers", Default: "", Kind: List},
	// postern: a TLS 1.2 floor (Postfix 3.7: >=TLSv1; README).
	{Name: "smtpd_tls_mandatory_protocols", Default: ">=TLSv1.2", Kind: List},
	{Name: "smtpd_tls_protocols", Default: ">=TLSv1.2", Kind: List},
	{Name: "smtpd_tls_session_cache_timeout", Default: "3600s", Kind: Time, Unit: 's', Min: 0, HasMin: true},
	{Name: "tls_server_sni_maps", Default: "", Kind: MapList},
	// postern: tickets off (Postfix: aes-256-cbc; README).
	{Name: "tls_session_ticket_cipher", Default: "", Kind: String, Check: oneOf("", "aes-256-cbc", "aes-128-cbc")},
}

// noDSA refuses DSA server certificates: Go's TLS has no DSA.
func noDSA(_ *Config, v string) error {
	if v != "" {
		return fmt.Errorf("DSA certificates are not supported by Go's TLS: use an RSA or ECDSA certificate (smtpd_tls_chain_files) and leave smtpd_tls_dcert_file and smtpd_tls_dkey_file empty")
	}
	return nil
}

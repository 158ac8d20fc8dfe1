package config

import "github.com/postern-mta/postern/internal/sasl"

// authParams are SMTP AUTH in the session (internal/smtpd) and the
// restrictions on authenticated senders (internal/policy).
var authParams = []Param{
	{Name: "broken_sasl_auth_clients", Default: "no", Kind: Bool},
	{Name: "smtpd_client_auth_rate_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_sasl_auth_enable", Default: "no", Kind: Bool},
	{Name: "smtpd_sasl_authenticated_header", Default: "no", Kind: Bool},
	{Name: "smtpd_sasl_exceptions_networks", Default: "", Kind: List},
	{Name: "smtpd_sasl_local_domain", Default: "", Kind: String},
	{Name: "smtpd_sasl_mechanism_filter", Default: "!external, static:rest", Kind: List, Check: checkMechFilter},
	{Name: "smtpd_sasl_response_limit", Default: "12288", Kind: Int, Min: 12288, HasMin: true}, // Postfix's minimum
	{Name: "smtpd_sasl_security_options", Default: "noanonymous", Kind: List, Check: checkSASLOptions},
	{Name: "smtpd_sasl_tls_security_options", Default: "$smtpd_sasl_security_options", Kind: List, Check: checkSASLOptions},
	{Name: "smtpd_sender_login_maps", Default: "", Kind: MapList},
	// postern: AUTH only over TLS unless told otherwise (Postfix: no).
	{Name: "smtpd_tls_auth_only", Default: "yes", Kind: Bool},
}

func checkMechFilter(_ *Config, v string) error {
	_, err := sasl.ParseMechFilter(Fields(v))
	return err
}

func checkSASLOptions(_ *Config, v string) error {
	_, err := sasl.ParseOptions(Fields(v))
	return err
}

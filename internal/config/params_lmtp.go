package config

// lmtpParams are the lmtp delivery agent's (internal/deliver/lmtp and the
// smtp agent's LMTP mode), with Postfix 3.7's defaults. The lmtp_tls_* and
// lmtp_sasl_* settings not listed here are refused in states_list.go.
var lmtpParams = []Param{
	{Name: "lmtp_lhlo_name", Default: "$myhostname", Kind: String},
	{Name: "lmtp_tcp_port", Default: "24", Kind: String},
	{Name: "lmtp_connect_timeout", Default: "0s", Kind: Time, Unit: 's'},
	{Name: "lmtp_lhlo_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_mail_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_rcpt_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_data_init_timeout", Default: "120s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_data_xfer_timeout", Default: "180s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_data_done_timeout", Default: "600s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_rset_timeout", Default: "20s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_quit_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_line_length_limit", Default: "998", Kind: Int, Min: 0, HasMin: true},
	{Name: "lmtp_mx_address_limit", Default: "5", Kind: Int, Min: 0, HasMin: true},
	{Name: "lmtp_mx_session_limit", Default: "2", Kind: Int, Min: 0, HasMin: true},
	{Name: "lmtp_connection_cache_on_demand", Default: "yes", Kind: Bool},
	{Name: "lmtp_connection_cache_time_limit", Default: "2s", Kind: Time, Unit: 's'},
	{Name: "lmtp_connection_reuse_time_limit", Default: "300s", Kind: Time, Unit: 's'},
	{Name: "lmtp_connection_reuse_count_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	// The queue manager's limits for the transport (master's limits()).
	// local(8) hands mailbox deliveries to this transport (deliver.Pass).
	{Name: "mailbox_transport", Default: "", Kind: String},
	// STARTTLS and AUTH to the LMTP server, as the smtp client's.
	{Name: "lmtp_starttls_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "lmtp_tls_security_level", Default: "", Kind: String, Check: checkSMTPTLSLevel},
	{Name: "lmtp_tls_CAfile", Default: "", Kind: String},
	{Name: "lmtp_tls_servername", Default: "", Kind: String},
	{Name: "lmtp_sasl_auth_enable", Default: "no", Kind: Bool},
	{Name: "lmtp_sasl_auth_soft_bounce", Default: "yes", Kind: Bool},
	{Name: "lmtp_sasl_mechanism_filter", Default: "", Kind: List},
	{Name: "lmtp_sasl_password_maps", Default: "", Kind: MapList},
	{Name: "lmtp_sasl_security_options", Default: "noplaintext, noanonymous", Kind: List},
	{Name: "lmtp_sasl_tls_security_options", Default: "$lmtp_sasl_security_options", Kind: List},
	{Name: "lmtp_sasl_tls_verified_security_options", Default: "$lmtp_sasl_tls_security_options", Kind: List},
}

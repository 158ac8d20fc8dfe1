package config

import "slices"

// Param describes one parameter postern implements. Adding a parameter is
// one entry in the table below.
type Param struct {
	Name    string
	Default string // Postfix's built-in default, unexpanded
	Kind    Kind
	Unit    byte  // Time: unit of a bare number
	Min     int64 // Int, Size, Time: smallest allowed value (in seconds for Time)
	HasMin  bool
	// Raw parameters are never expanded as a whole (Postfix's raw
	// parameter table): their $names are filled in per use.
	Raw bool
	// Dynamic computes the default at run time (hostname-derived values,
	// mynetworks); Default is then ignored.
	Dynamic func(c *Config) (string, error)
	// Check validates the expanded value beyond its Kind.
	Check func(c *Config, v string) error
}

// params is the registry. Defaults are Postfix 3.7's (postconf -d), except
// where postern deliberately differs (paths and names: see DifferFromPostfix).
var paramList = []Param{
	{Name: "2bounce_notice_recipient", Default: "postmaster", Kind: String},
	{Name: "access_map_defer_code", Default: "450", Kind: Int},
	{Name: "access_map_reject_code", Default: "554", Kind: Int},
	{Name: "alias_database", Default: "hash:/etc/aliases", Kind: MapList},
	{Name: "alias_maps", Default: "hash:/etc/aliases, nis:mail.aliases", Kind: MapList},
	{Name: "allow_min_user", Default: "no", Kind: Bool},
	{Name: "allow_percent_hack", Default: "yes", Kind: Bool},
	{Name: "allow_mail_to_commands", Default: "alias, forward", Kind: List},
	{Name: "allow_mail_to_files", Default: "alias, forward", Kind: List},
	{Name: "append_at_myorigin", Default: "yes", Kind: Bool},
	{Name: "append_dot_mydomain", Default: "${{$compatibility_level} <level {1} ? {yes} : {no}}", Kind: Bool},
	{Name: "bounce_notice_recipient", Default: "postmaster", Kind: String},
	{Name: "bounce_queue_lifetime", Default: "5d", Kind: Time, Unit: 'd'},
	{Name: "bounce_size_limit", Default: "50000", Kind: Int, Min: 1, HasMin: true},
	{Name: "cleanup_replace_stray_cr_lf", Default: "yes", Kind: Bool},
	{Name: "command_directory", Default: "/usr/sbin", Kind: String},
	// postern starts at 3.6: Postfix's level-0 defaults (subnet-wide
	// mynetworks, no relay restrictions) are what makes an unset level unsafe.
	{Name: "command_time_limit", Default: "1000s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "compatibility_level", Default: "3.6", Kind: String, Check: checkCompatLevel},
	{Name: "config_directory", Default: "/etc/postern", Kind: String},
	{Name: "daemon_directory", Default: "/usr/lib/postern", Kind: String},
	{Name: "data_directory", Default: "/var/lib/postern", Kind: String},
	{Name: "default_destination_concurrency_limit", Default: "20", Kind: Int, Min: 1, HasMin: true},
	{Name: "default_rbl_reply", Default: "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}", Kind: String, Raw: true},
	{Name: "defer_code", Default: "450", Kind: Int},
	{Name: "default_delivery_status_filter", Default: "", Kind: String},
	{Name: "default_destination_recipient_limit", Default: "50", Kind: Int, Min: 0, HasMin: true},
	{Name: "default_privs", Default: "nobody", Kind: String},
	{Name: "default_process_limit", Default: "100", Kind: Int, Min: 1, HasMin: true},
	{Name: "default_transport", Default: "smtp", Kind: String},
	{Name: "delay_warning_time", Default: "0h", Kind: Time, Unit: 'h'},
	// postern only: deliver a small message for one plain local mailbox
	// before the SMTP reply instead of through a queue file (qmgr/direct.go).
	{Name: "direct_local_delivery", Default: "yes", Kind: Bool},
	{Name: "disable_vrfy_command", Default: "no", Kind: Bool},
	{Name: "double_bounce_sender", Default: "double-bounce", Kind: String},
	{Name: "empty_address_recipient", Default: "MAILER-DAEMON", Kind: String},
	{Name: "enable_long_queue_ids", Default: "no", Kind: Bool},
	{Name: "fallback_relay", Default: "", Kind: List},
	{Name: "header_size_limit", Default: "102400", Kind: Int, Min: 0, HasMin: true},
	{Name: "home_mailbox", Default: "", Kind: String},
	{Name: "hopcount_limit", Default: "50", Kind: Int, Min: 1, HasMin: true},
	{Name: "inet_interfaces", Default: "all", Kind: List, Check: checkInetInterfaces},
	// postern only: bind inet_interfaces addresses that are not up yet.
	{Name: "inet_interfaces_freebind", Default: "no", Kind: Bool},
	{Name: "inet_protocols", Default: "all", Kind: List, Check: checkInetProtocols},
	{Name: "local_destination_concurrency_limit", Default: "2", Kind: Int, Min: 0, HasMin: true},
	{Name: "local_destination_recipient_limit", Default: "1", Kind: Int, Min: 0, HasMin: true},
	{Name: "local_recipient_maps", Default: "proxy:unix:passwd.byname $alias_maps", Kind: MapList},
	{Name: "local_transport", Default: "local:$myhostname", Kind: String},
	{Name: "invalid_hostname_reject_code", Default: "501", Kind: Int},
	{Name: "line_length_limit", Default: "2048", Kind: Int, Min: 512, HasMin: true},
	{Name: "mailbox_command", Default: "", Kind: String},
	{Name: "mailbox_size_limit", Default: "51200000", Kind: Size},
	{Name: "mail_name", Default: "postern", Kind: String},
	{Name: "mail_owner", Default: "postern", Kind: String, Check: checkUser},
	{Name: "mail_spool_directory", Default: "/var/mail", Kind: String},
	{Name: "mail_version", Default: Version, Kind: String},
	{Name: "maps_rbl_reject_code", Default: "554", Kind: Int},
	{Name: "maillog_file", Default: "", Kind: String},
	{Name: "syslog_name", Default: "postern", Kind: String},
	{Name: "maximal_backoff_time", Default: "4000s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "maximal_queue_lifetime", Default: "5d", Kind: Time, Unit: 'd'},
	{Name: "message_size_limit", Default: "10240000", Kind: Size},
	{Name: "minimal_backoff_time", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "mydestination", Default: "$myhostname, localhost.$mydomain, localhost", Kind: List},
	{Name: "mydomain", Kind: String, Dynamic: defaultMydomain, Check: checkHostname},
	{Name: "myhostname", Kind: String, Dynamic: defaultMyhostname, Check: checkMyhostname},
	{Name: "mynetworks", Kind: List, Dynamic: defaultMynetworks, Check: checkMynetworks},
	{Name: "mynetworks_style", Default: "${{$compatibility_level} <level {2} ? {subnet} : {host}}", Kind: String, Check: checkMynetworksStyle},
	{Name: "myorigin", Default: "$myhostname", Kind: String, Check: checkMyorigin},
	{Name: "non_fqdn_reject_code", Default: "504", Kind: Int},
	{Name: "owner_request_special", Default: "yes", Kind: Bool},
	{Name: "parent_domain_matches_subdomains", Default: "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps", Kind: List},
	{Name: "proxy_interfaces", Default: "", Kind: List, Check: checkProxyInterfaces},
	{Name: "qmgr_message_active_limit", Default: "20000", Kind: Int, Min: 1, HasMin: true},
	{Name: "queue_directory", Default: "/var/spool/postern", Kind: String},
	{Name: "queue_minfree", Default: "0", Kind: Size, Min: 0, HasMin: true},
	{Name: "queue_run_delay", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "recipient_delimiter", Default: "", Kind: String},
	{Name: "relay_domains", Default: "${{$compatibility_level} <level {2} ? {$mydestination} : {}}", Kind: List},
	{Name: "resolve_dequoted_address", Default: "yes", Kind: Bool},
	{Name: "resolve_null_domain", Default: "no", Kind: Bool},
	{Name: "reject_code", Default: "554", Kind: Int},
	{Name: "reject_tempfail_action", Default: "defer_if_permit", Kind: String},
	{Name: "relay_domains_reject_code", Default: "554", Kind: Int},
	{Name: "relay_transport", Default: "relay", Kind: String},
	{Name: "relayhost", Default: "", Kind: String, Check: checkRelayhost},
	{Name: "smtp_bind_address", Default: "", Kind: String, Check: checkBindAddress4},
	{Name: "smtp_bind_address6", Default: "", Kind: String, Check: checkBindAddress6},
	{Name: "smtp_bind_address_enforce", Default: "no", Kind: Bool},
	{Name: "smtp_connect_timeout", Default: "30s", Kind: Time, Unit: 's'},
	{Name: "smtp_connection_cache_on_demand", Default: "yes", Kind: Bool},
	{Name: "smtp_connection_cache_time_limit", Default: "2s", Kind: Time, Unit: 's'},
	{Name: "smtp_connection_reuse_count_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtp_connection_reuse_time_limit", Default: "300s", Kind: Time, Unit: 's'},
	{Name: "smtp_data_done_timeout", Default: "600s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_data_init_timeout", Default: "120s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_data_xfer_timeout", Default: "180s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_fallback_relay", Default: "$fallback_relay", Kind: List},
	{Name: "smtp_helo_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_line_length_limit", Default: "998", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtp_mail_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_mx_address_limit", Default: "5", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtp_mx_session_limit", Default: "2", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtp_never_send_ehlo", Default: "no", Kind: Bool},
	{Name: "smtp_quit_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_rcpt_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_rset_timeout", Default: "20s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_sasl_auth_enable", Default: "no", Kind: Bool},
	{Name: "smtp_sasl_auth_soft_bounce", Default: "yes", Kind: Bool},
	{Name: "smtp_sasl_mechanism_filter", Default: "", Kind: List},
	{Name: "smtp_sasl_password_maps", Default: "", Kind: MapList},
	{Name: "smtp_sasl_security_options", Default: "noplaintext, noanonymous", Kind: List},
	{Name: "smtp_sasl_tls_security_options", Default: "$smtp_sasl_security_options", Kind: List},
	{Name: "smtp_sasl_tls_verified_security_options", Default: "$smtp_sasl_tls_security_options", Kind: List},
	{Name: "smtp_starttls_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtp_tcp_port", Default: "smtp", Kind: String},
	{Name: "smtp_tls_CAfile", Default: "", Kind: String},
	{Name: "smtp_tls_servername", Default: "", Kind: String},
	{Name: "smtp_helo_name", Default: "$myhostname", Kind: String},
	{Name: "smtp_tls_security_level", Default: "", Kind: String, Check: checkSMTPTLSLevel},
	{Name: "smtpd_banner", Default: "$myhostname ESMTP $mail_name", Kind: String},
	{Name: "smtpd_client_connection_count_limit", Default: "50", Kind: Int, Min: 0, HasMin: true},
	// Postfix's default names the pre-2.? parameter first; postern does
	// not know that name, so the fallback $mynetworks is what applies.
	// Postfix's legacy name: it only feeds the default below, where
	// setting it replaces $mynetworks with nothing, as in Postfix.
	{Name: "smtpd_client_connection_limit_exceptions", Default: "", Kind: List},
	{Name: "smtpd_client_event_limit_exceptions", Default: "${smtpd_client_connection_limit_exceptions:$mynetworks}", Kind: List},
	{Name: "smtpd_client_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_data_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_delay_reject", Default: "yes", Kind: Bool},
	{Name: "smtpd_end_of_data_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_error_sleep_time", Default: "1s", Kind: Time, Unit: 's'},
	{Name: "smtpd_etrn_restrictions", Default: "", Kind: Restrictions},
	// Postfix 3.9's default (3.7 has no such parameter): only
	// <CR><LF>.<CR><LF> ends DATA, bare <LF> lines are read as <CR><LF>.
	{Name: "smtpd_forbid_bare_newline", Default: "normalize", Kind: String, Check: oneOf("", "normalize", "note", "yes", "reject", "no")},
	{Name: "smtpd_forbid_bare_newline_reject_code", Default: "550", Kind: Int},
	{Name: "smtpd_forbid_bare_newline_exclusions", Default: "$mynetworks", Kind: List},
	{Name: "smtpd_forbid_unauth_pipelining", Default: "yes", Kind: Bool},
	{Name: "smtpd_forbidden_commands", Default: "CONNECT GET POST " + ForbiddenNonLetter, Kind: List, Check: checkForbiddenCommands},
	{Name: "smtpd_hard_error_limit", Default: "${stress?{1}:{20}}", Kind: Int, Min: 1, HasMin: true},
	{Name: "smtpd_helo_required", Default: "no", Kind: Bool},
	{Name: "smtpd_helo_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_junk_command_limit", Default: "${stress?{1}:{100}}", Kind: Int, Min: 1, HasMin: true},
	{Name: "smtpd_min_data_rate", Default: "500", Kind: Int, Min: 1, HasMin: true},
	// postern: "yes" unless set (Postfix: ${stress?{yes}:{no}}), so that
	// smtpd_min_data_rate applies to every DATA and BDAT, not only under
	// stress. Postfix 2.9-3.6 called it smtpd_per_record_deadline.
	{Name: "smtpd_per_request_deadline", Default: "yes", Kind: Bool},
	{Name: "smtpd_recipient_limit", Default: "1000", Kind: Int, Min: 1, HasMin: true},
	{Name: "smtpd_recipient_overshoot_limit", Default: "1000", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_recipient_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_relay_before_recipient_restrictions", Default: "${{$compatibility_level} <level {3.6} ? {no} : {yes}}", Kind: Bool},
	// The implicit reject_unlisted_recipient after the RCPT lists; the
	// stock submission services turn it off with -o.
	{Name: "smtpd_reject_unlisted_recipient", Default: "yes", Kind: Bool},
	{Name: "smtpd_relay_restrictions", Default: "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}", Kind: Restrictions},
	{Name: "smtpd_restriction_classes", Default: "", Kind: List},
	{Name: "smtpd_sender_restrictions", Default: "", Kind: Restrictions},
	{Name: "smtpd_soft_error_limit", Default: "10", Kind: Int, Min: 1, HasMin: true},
	{Name: "smtpd_timeout", Default: "${stress?{10}:{300}}s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtputf8_enable", Default: "${{$compatibility_level} <level {1} ? {no} : {yes}}", Kind: Bool},
	{Name: "soft_bounce", Default: "no", Kind: Bool},
	{Name: "stress", Default: "", Kind: String},
	{Name: "swap_bangpath", Default: "yes", Kind: Bool},
	{Name: "unknown_address_reject_code", Default: "450", Kind: Int},
	{Name: "unknown_address_tempfail_action", Default: "$reject_tempfail_action", Kind: String},
	{Name: "unknown_client_reject_code", Default: "450", Kind: Int},
	{Name: "unknown_helo_hostname_tempfail_action", Default: "$reject_tempfail_action", Kind: String},
	{Name: "unknown_hostname_reject_code", Default: "450", Kind: Int},
	{Name: "unknown_local_recipient_reject_code", Default: "550", Kind: Int},
	{Name: "transport_maps", Default: "", Kind: MapList},
}

var params map[string]*Param

// The registry is indexed in init because its Check functions consult the
// registry themselves.
func init() {
	all := append([]Param(nil), paramList...)
	for _, group := range [][]Param{
		tlsParams,
		starttlsParams,
		saslParams,
		authParams,
		anvilParams,
		dkimParams,
		mailauthParams,
		milterParams,
		policySvcParams,
		outlimitParams,
		postscreenParams,
		pscacheParams,
		postscreenDeepParams,
		virtualParams,
		vclassParams,
		rewriteParams,
		lmtpParams,
		directLMTPParams,
		postfix37Params,
	} {
		all = append(all, group...)
	}
	params = index(all)
}

// DifferFromPostfix lists the parameters whose default postern changes on
// purpose, so that postern never shares Postfix's directories or identity.
var DifferFromPostfix = map[string]string{
	"compatibility_level":            "0",
	"smtpd_forbid_bare_newline":      "no",
	"smtpd_forbid_unauth_pipelining": "no", // 3.9 default yes, as postern's
	// 3.9 parameter, absent from the 3.7 reference
	"smtpd_forbid_bare_newline_reject_code": "",
	"config_directory":                      "/etc/postfix",
	"daemon_directory":                      "/usr/lib/postfix/sbin",
	"data_directory":                        "/var/lib/postfix",
	"mail_name":                             "Postfix",
	"mail_owner":                            "postfix",
	"mail_version":                          "3.7.11",
	"queue_directory":                       "/var/spool/postfix",
	"syslog_name":                           "${multi_instance_name?{$multi_instance_name}:{postfix}}",

	// TLS server: a TLS 1.2 floor, no session tickets (README)
	"smtpd_tls_mandatory_protocols": ">=TLSv1",
	"smtpd_tls_protocols":           ">=TLSv1",
	"tls_session_ticket_cipher":     "aes-256-cbc",
	// AUTH only after STARTTLS (README)
	"smtpd_tls_auth_only": "no",

	// per-request deadlines always, not only under stress (README)
	"smtpd_per_request_deadline": "${stress?{yes}:{no}}",
}

// IsRaw reports whether name is a raw parameter: postconf -x shows it
// unexpanded, and its $names are not checked.
func IsRaw(name string) bool {
	p, ok := params[name]
	return ok && p.Raw
}

// Version is postern's version, the default of mail_version.
const Version = "0.1.0"

// duplicateParams are names that two registry entries share (a test
// keeps it empty: the later entry would silently win).
var duplicateParams []string

func index(list []Param) map[string]*Param {
	m := make(map[string]*Param, len(list))
	for i := range list {
		if _, dup := m[list[i].Name]; dup {
			duplicateParams = append(duplicateParams, list[i].Name)
		}
		m[list[i].Name] = &list[i]
	}
	return m
}

// Lookup returns the registry entry for name.
func Lookup(name string) (*Param, bool) {
	p, ok := params[name]
	return p, ok
}

// Names returns every implemented parameter name, sorted.
func Names() []string {
	out := make([]string, 0, len(params))
	for n := range params {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

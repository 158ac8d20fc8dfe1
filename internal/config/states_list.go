package config

// The lists below give every parameter its state (see states.go). A new
// parameter in paramList is StateImplemented; one postern reads but does not
// enforce is named in notEnforced and belongs to a feature.

// notEnforced are paramList entries (kept for their defaults and types:
// postern conf shows them) that postern does not apply yet.
var notEnforced = map[string]bool{
	// TLS server settings (tlsParams, internal/tlsconf)

	// the session's TLS (starttlsParams, internal/smtpd)

	// SMTP AUTH backends (saslParams) and AUTH in the session (authParams)

	// other features
	"mailbox_command":                true,
	"2bounce_notice_recipient":       true,
	"bounce_notice_recipient":        true,
	"double_bounce_sender":           true,
	"owner_request_special":          true,
	"default_delivery_status_filter": true,
	"qmgr_message_active_limit":      true,
}

// security lists, as glob patterns, the parameters that are
// security-relevant besides those of the features below: encryption,
// authentication, filtering, limits, and who may send or relay.
var security = []string{
	"smtpd_*_restrictions", "smtpd_restriction_classes", "smtpd_relay_before_recipient_restrictions",
	"mynetworks", "mynetworks_style", "relay_domains", "relayhost", "local_recipient_maps",
	"inet_interfaces", "inet_protocols", "proxy_interfaces",
	"smtpd_*_limit", "smtpd_*_limit_*", "smtpd_timeout", "smtpd_min_data_rate", "smtpd_per_*_deadline",
	"default_process_limit", "stress", "message_size_limit", "header_size_limit",
	"line_length_limit", "queue_minfree", "smtpd_helo_required", "smtpd_delay_reject",
	"smtpd_forbid_*", "cleanup_replace_stray_cr_lf", "disable_vrfy_command", "smtpd_client_*",
	"smtpd_sasl_*", "smtpd_tls_*", "smtpd_use_tls", "smtpd_enforce_tls", "smtpd_starttls_timeout", "relay_clientcerts", "broken_sasl_auth_clients", "smtp_tls_*", "smtp_sasl_*", "smtp_use_tls", "smtp_enforce_tls",
	"tls_*", "tlsproxy_*", "postscreen_*", "*milter*", "*_checks", "content_filter",
	"allow_mail_to_commands", "allow_mail_to_files", "default_privs", "mail_owner",
	"authorized_*_users", "local_login_sender_maps", "master_service_disable",
	"append_at_myorigin", "append_dot_mydomain", "smtputf8_enable",
	// Issue 13 review: they narrow what is allowed or set a safety limit.
	"hopcount_limit", "allow_min_user", "smtpd_forbidden_commands", "local_command_shell", "command_expansion_filter",
	"command_execution_directory", "execution_directory_expansion_filter", "message_strip_characters",
	"message_drop_headers", "smtpd_discard_ehlo_keyword*", "always_bcc", "sender_bcc_maps",
	"recipient_bcc_maps", "relocated_maps", "header_address_token_limit", "mime_nesting_limit",
	"mime_boundary_length_limit", "queue_file_attribute_count_limit", "in_flow_delay",
	"sender_dependent_relayhost_maps",
	// Address classes: which domains are this server's (relay control)
	// and which of their recipients exist.
	"virtual_alias_domains", "virtual_mailbox_domains", "virtual_mailbox_maps", "virtual_alias_maps",
	"virtual_maps", "relay_recipient_maps", "smtpd_reject_unlisted_sender",
	// Issue 17: the lmtp client's encryption and authentication.
	"lmtp_tls_*", "lmtp_sasl_*", "lmtp_use_tls", "lmtp_enforce_tls",
}

// notSecurity are exceptions to the patterns above: they match a
// pattern but neither protect nor expose anything.
var notSecurity = []string{
	"*_tls_loglevel", "*_tls_session_cache_database", "*_tls_session_cache_timeout",
	"*_tls_note_starttls_offer", "tls_random_*", "tls_daemon_random_bytes", "tls_fast_shutdown_enable",
	"tlsproxy_service_name", "tlsproxy_watchdog_timeout", "tlsproxy_client_loglevel*",
	"postscreen_watchdog_timeout", "smtpd_client_port_logging", "smtp_sasl_auth_cache_*",
	"smtp_tls_connection_reuse", "smtp_sasl_path", "lmtp_sasl_auth_cache_*", "lmtp_tls_connection_reuse", "lmtp_sasl_path", "lmtp_sasl_type",
	"smtpd_tls_dh1024_param_file", "smtpd_tls_dh512_param_file", "smtpd_tls_always_issue_session_ids", "tls_preempt_cipherlist", "smtp_sasl_type", "milter_macro_*", "milter_*_macros", "milter_protocol",
}

var (
	no   = []string{"no"}
	none = []string{""}
)

// features are the security-relevant capabilities postern lacks.
var features = []*feature{
	{
		// Before the STARTTLS feature, whose dependents (tls_eecdh_*)
		// would otherwise make these harmless.
		what: "this TLS server setting",
		risk: "Go's crypto/tls chooses key exchange curves, protocol options and cipher order itself",
		gates: []gate{
			{"smtpd_tls_eecdh_grade", []string{"auto"}},
			{"tls_eecdh_auto_curves", []string{"x25519, x448, prime256v1, secp521r1, secp384r1"}},
			{"tls_eecdh_strong_curve", []string{"prime256v1"}},
			{"tls_eecdh_ultra_curve", []string{"secp384r1"}},
			{"tls_ssl_options", none}, {"tls_disable_workarounds", none},
			// Go never waits for the peer's close_notify.
			{"tls_fast_shutdown_enable", []string{"yes"}},
			// The grades map onto Go's suites (internal/tlsconf), not
			// onto these OpenSSL lists.
			{"tls_high_cipherlist", []string{"", "anull:-anull:high:@strength"}},
			{"tls_medium_cipherlist", []string{"", "anull:-anull:high:medium:+rc4:@strength"}},
			{"tls_low_cipherlist", []string{"", "anull:-anull:high:medium:low:+rc4:@strength"}},
			{"tls_export_cipherlist", []string{"", "anull:-anull:high:medium:low:export:+rc4:@strength"}},
			{"tls_null_cipherlist", []string{"", "enull:!anull"}},
		},
	},
	{
		// smtpd does STARTTLS itself (smtpd_tls_*); these configure
		// Postfix's postscreen and tlsproxy, which postern does not have.
		what: "postscreen's TLS (tlsproxy)",
		risk: "postern's smtpd offers STARTTLS itself: set smtpd_tls_* instead",
		gates: []gate{
			{"postscreen_tls_security_level", []string{"none", ""}},
			{"postscreen_use_tls", no}, {"postscreen_enforce_tls", no},
		},
		dependents: []string{"tls_dane_digests", "tlsproxy_*"},
	},
	{
		what: "these TLS settings for outgoing mail",
		risk: "the smtp client would use its own TLS defaults instead (TLS 1.0 or later, the system's trusted CAs, smtp_tls_security_level for the policy)",
		gates: []gate{
			{"smtp_use_tls", no}, {"smtp_enforce_tls", no}, {"smtp_tls_wrappermode", no},
			{"smtp_tls_CApath", []string{"", "/etc/ssl/certs", "/etc/ssl/certs/"}},
			{"smtp_tls_protocols", protocolsOff}, {"smtp_tls_mandatory_protocols", protocolsOff},
			{"smtp_tls_ciphers", ciphersOff}, {"smtp_tls_mandatory_ciphers", ciphersOff},
			{"smtp_tls_verify_cert_match", []string{"hostname"}},
			{"smtp_tls_secure_cert_match", []string{"nexthop, dot-nexthop"}},
			{"smtp_tls_scert_verifydepth", []string{"9"}},
			{"smtp_tls_enforce_peername", []string{"yes"}},
			{"smtp_tls_block_early_mail_reply", no}, {"smtp_tls_connection_reuse", no},
			// Used only at smtp_tls_security_level = dane or fingerprint,
			// which postern refuses.
			{"smtp_tls_fingerprint_*", []string{"*"}}, {"smtp_tls_dane_insecure_mx_policy", []string{"*"}},
			{"smtp_tls_force_insecure_host_tlsa_lookup", []string{"*"}}, {"smtp_tls_trust_anchor_file", none},
			{"smtp_tls_*", none},
			{"tls_append_default_CA", no}, {"tls_config_file", []string{"default", ""}}, {"tls_config_name", none},
			{"tls_preempt_cipherlist", no}, {"tls_legacy_public_key_fingerprints", no},
			{"tls_wildcard_matches_multiple_labels", []string{"yes"}},
			{"tls_*", none},
		},
	},
	{
		// lmtp_tls_security_level, _CAfile, _servername and the
		// lmtp_sasl_* of params_lmtp.go are implemented (the smtp
		// client's code); these are not.
		what: "these TLS settings for LMTP",
		risk: "the lmtp client would use its own TLS defaults instead (TLS 1.0 or later, the system's trusted CAs, lmtp_tls_security_level for the policy)",
		gates: []gate{
			{"lmtp_use_tls", no}, {"lmtp_enforce_tls", no}, {"lmtp_tls_wrappermode", no},
			{"lmtp_tls_CApath", none},
			{"lmtp_tls_protocols", protocolsOff}, {"lmtp_tls_mandatory_protocols", protocolsOff},
			{"lmtp_tls_ciphers", ciphersOff}, {"lmtp_tls_mandatory_ciphers", ciphersOff},
			{"lmtp_tls_verify_cert_match", []string{"hostname"}},
			{"lmtp_tls_secure_cert_match", []string{"nexthop"}},
			{"lmtp_tls_scert_verifydepth", []string{"9"}},
			{"lmtp_tls_enforce_peername", []string{"yes"}},
			{"lmtp_tls_block_early_mail_reply", no}, {"lmtp_tls_connection_reuse", no},
			{"lmtp_tls_fingerprint_*", []string{"*"}}, {"lmtp_tls_force_insecure_host_tlsa_lookup", []string{"*"}},
			{"lmtp_tls_trust_anchor_file", none},
			{"lmtp_tls_*", none},
			{"lmtp_sender_dependent_authentication", no},
		},
		dependents: []string{"lmtp_sasl_*"},
	},
	{
		// smtpd_milters, non_smtpd_milters and the milter_* settings
		// are implemented (internal/milter); these are not.
		what:       "these milter settings",
		risk:       "mail would otherwise pass unfiltered",
		gates:      []gate{{"smtpd_milter_maps", none}, {"milter_header_checks", none}},
		dependents: []string{"milter_*"},
	},
	{
		what: "content inspection and filters",
		risk: "mail would otherwise pass uninspected",
		gates: []gate{
			{"header_checks", none}, {"mime_header_checks", none}, {"nested_header_checks", none},
			{"body_checks", none}, {"smtp_header_checks", none}, {"smtp_mime_header_checks", none},
			{"smtp_nested_header_checks", none}, {"smtp_body_checks", none},
			{"content_filter", none}, {"smtpd_proxy_filter", none}, {"message_reject_characters", none},
			{"strict_7bit_headers", no}, {"strict_8bitmime", no}, {"strict_8bitmime_body", no},
			{"strict_mime_encoding_domain", no}, {"strict_smtputf8", no}, {"strict_rfc821_envelopes", no},
		},
		dependents: []string{"body_checks_size_limit", "smtpd_proxy_ehlo", "smtpd_proxy_options",
			"smtpd_proxy_timeout", "internal_mail_filter_classes", "default_filter_nexthop"},
	},
	{
		// postscreen's dummy SMTP engine (internal/postscreen,
		// engine.go) has no per-client EHLO keyword table and no reply
		// footers; postscreen_expansion_filter only tunes the footers.
		// Before the postscreen test feature, whose dependents match.
		what:       "this setting of postscreen's SMTP engine",
		risk:       "postscreen's EHLO keywords and replies would not change",
		gates:      []gate{{"postscreen_discard_ehlo_keyword_address_maps", none}, {"postscreen_reject_footer", none}, {"postscreen_reject_footer_maps", none}},
		dependents: []string{"postscreen_expansion_filter"},
	},
	{
		// postern's postscreen (internal/postscreen) has the access
		// list, the pregreet and DNSBL tests, the deep protocol tests
		// (postscreenDeepParams) and the temporary allowlist
		// (postscreen_cache_map, _cleanup_interval and _retention_time:
		// pscacheParams); these tests, interfaces and settings it does
		// not have. Every postscreen_* parameter it applies is in
		// paramList; the ones listed here are the others, named one by
		// one so that none passes as a harmless dependent.
		what: "this postscreen test",
		risk: "it would not run, and clients would pass without it",
		gates: []gate{
			{"postscreen_dnsbl_reply_map", none},
			{"postscreen_allowlist_interfaces", []string{"static:all"}},
			{"postscreen_whitelist_interfaces", []string{"static:all"}},
			{"postscreen_upstream_proxy_protocol", none},
			// A DNSBL pass is cached for postscreen_dnsbl_max_ttl: Go's
			// resolver gives no answer TTL to clamp to [min, max].
			{"postscreen_dnsbl_min_ttl", []string{"60s", "60"}},
		},
		dependents: []string{"postscreen_upstream_proxy_timeout"},
	},
	{
		what: "this access control",
		risk: "it would not be enforced",
		gates: []gate{
			{"smtpd_sender_login_maps", none},
			{"smtpd_authorized_xclient_hosts", none}, {"smtpd_authorized_xforward_hosts", none},
			{"smtpd_authorized_verp_clients", none}, {"smtpd_upstream_proxy_protocol", none},
			{"permit_mx_backup_networks", none},
			{"smtpd_null_access_lookup_key", []string{"<>"}},
			{"authorized_submit_users", []string{"static:anyone"}},
			{"authorized_mailq_users", []string{"static:anyone"}},
			{"authorized_flush_users", []string{"static:anyone"}},
			{"local_login_sender_maps", []string{"static:*"}},
			{"master_service_disable", none},
		},
	},
	{
		what: "these settings for commands that local delivery runs",
		risk: "commands run through /bin/sh -c in the recipient's home directory, with Postfix's default command_expansion_filter",
		gates: []gate{
			{"local_command_shell", none}, {"command_execution_directory", none},
			{"command_expansion_filter", []string{"=" + defaultCommandFilter}},
		},
		// Used only with command_execution_directory, which is refused.
		dependents: []string{"execution_directory_expansion_filter"},
	},
	{
		what: "this content rewriting",
		risk: "message content would pass unchanged but for Bcc:, Content-Length:, Resent-Bcc: and Return-Path:, which smtpd and pickup always drop",
		gates: []gate{
			{"message_strip_characters", none},
			{"message_drop_headers", []string{"bcc, content-length, resent-bcc, return-path"}},
		},
	},
	{
		what: "this routing or copying",
		risk: "mail would be routed and copied as if it were not set",
		gates: []gate{
			{"always_bcc", none}, {"sender_bcc_maps", none}, {"recipient_bcc_maps", none},
			{"relocated_maps", none}, {"sender_dependent_relayhost_maps", none},
		},
	},
	{
		what:  "hiding EHLO keywords",
		risk:  "every keyword would still be announced and honoured",
		gates: []gate{{"smtpd_discard_ehlo_keywords", none}, {"smtpd_discard_ehlo_keyword_address_maps", none}},
	},
	{
		// postern parses no MIME structure, rewrites no header addresses
		// and keeps no named queue file attributes: whatever the value,
		// nothing would be limited.
		what: "this limit",
		risk: "it would not be enforced",
		gates: []gate{
			{"header_address_token_limit", nil}, {"mime_nesting_limit", nil},
			{"mime_boundary_length_limit", nil}, {"queue_file_attribute_count_limit", nil},
		},
	},
	{
		what:  "input flow control",
		risk:  "smtpd and pickup never wait for the queue manager to catch up",
		gates: []gate{{"in_flow_delay", []string{"0s", "0"}}},
	},
	// Not security-relevant, but read and not applied: refused so that
	// they never look accepted.
	{
		// Issue 17 review: address rewriting runs on every message
		// queued, a content filter's re-injection included.
		plain: true,
		what:  "receive_override_options (no_address_mappings and the others, for a content filter's re-injection)",
		risk:  "a re-injected message would be rewritten, checked and filtered again (canonical and virtual alias mapping applied twice)",
		gates: []gate{{"receive_override_options", none}},
	},
	{
		plain: true,
		what:  "mailbox_command (delivery through procmail or another command)",
		risk:  "mail would be written to the mailbox without it",
		gates: []gate{{"mailbox_command", none}, {"mailbox_command_maps", none}},
	},
	{
		plain: true,
		what:  "mailbox_transport_maps (per-user mailbox transports; mailbox_transport is implemented)",
		risk:  "local(8) would use mailbox_transport, or write the mailbox itself",
		gates: []gate{{"mailbox_transport_maps", none}},
	},
	{
		plain: true,
		what:  "other notice recipients and senders",
		risk:  "notices go to postmaster, from double-bounce",
		gates: []gate{{"2bounce_notice_recipient", []string{"postmaster"}},
			{"bounce_notice_recipient", []string{"postmaster"}},
			{"double_bounce_sender", []string{"double-bounce"}}},
	},
	{
		// Issue 17: what admins set to tame an LMTP server; the lmtp
		// client does none of it, so only Postfix's defaults are accepted.
		plain: true,
		what:  "this lmtp client setting",
		risk:  "the lmtp client behaves as with Postfix's default (all LHLO keywords used, addresses and replies unrewritten, the kernel's source address, no XFORWARD, no per-request deadline)",
		gates: []gate{
			{"lmtp_discard_lhlo_keywords", none}, {"lmtp_discard_lhlo_keyword_address_maps", none},
			{"lmtp_generic_maps", none}, {"lmtp_assume_final", no},
			{"lmtp_delivery_status_filter", []string{"", "$default_delivery_status_filter"}},
			{"lmtp_reply_filter", none}, {"lmtp_bind_address", none}, {"lmtp_bind_address6", none},
			{"lmtp_send_xforward_command", no},
			// lmtp_per_record_deadline: Postfix 2.9-3.6's name.
			{"lmtp_per_request_deadline", no}, {"lmtp_per_record_deadline", no},
		},
		dependents: []string{"lmtp_bind_address_enforce", "lmtp_xforward_timeout", "lmtp_min_data_rate"},
	},
	{
		// virtual(8) and local(8) defer delivery to a mailbox file
		// another user owns; Postfix's "no" would write into it.
		plain: true,
		what:  "strict_mailbox_ownership = no",
		risk:  "delivery to a mailbox file not owned by its recipient is deferred",
		gates: []gate{{"strict_mailbox_ownership", []string{"yes"}}},
	},
	{
		plain: true,
		what:  "this setting",
		risk:  "postern behaves as with the value given",
		gates: []gate{{"owner_request_special", []string{"yes"}},
			{"smtp_sender_dependent_authentication", no},
			{"qmgr_message_active_limit", []string{"20000"}},
			{"default_delivery_status_filter", none}},
	},
}

// defaultCommandFilter is Postfix's command_expansion_filter, the one
// postern's local delivery applies (internal/deliver/local).
const defaultCommandFilter = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// protocolsOff: the TLS versions postern's smtp client offers (1.0 and
// later) already exclude these.
var protocolsOff = []string{"", "!sslv2, !sslv3", "!sslv3, !sslv2", ">=tlsv1", "!sslv2", "!sslv3"}

// ciphersOff: the cipher grades Go's default suites satisfy ("null" and
// explicit cipher lists are refused).
var ciphersOff = []string{"", "export", "low", "medium", "high"}

// noEffect are accepted on purpose with no effect, each with its reason.
var noEffect = map[string]string{
	"cyrus_sasl_config_path":                 "postern has no Cyrus SASL: smtpd_sasl_type = dovecot or passwd-file",
	"biff":                                   "postern does not notify the biff (comsat) service",
	"readme_directory":                       "postern installs no README files",
	"html_directory":                         "postern installs no HTML documentation",
	"manpage_directory":                      "postern installs no manual pages",
	"sample_directory":                       "postern installs no sample files",
	"shlib_directory":                        "postern is one binary without shared libraries",
	"meta_directory":                         "postern has no metadata files",
	"setgid_group":                           "postern has no set-gid programs: the maildrop is mode 3733",
	"debug_peer_level":                       "postern's log detail does not change per peer",
	"debug_peer_list":                        "postern's log detail does not change per peer",
	"debugger_command":                       "postern never runs a debugger",
	"sendmail_path":                          "postern install links sendmail to the postern binary",
	"newaliases_path":                        "postern install links newaliases to the postern binary",
	"mailq_path":                             "postern install links mailq to the postern binary",
	"command_directory":                      "postern is one binary; postern install places it",
	"daemon_directory":                       "postern runs its services inside one process",
	"mail_version":                           "postern reports its own version",
	"mail_release_date":                      "postern reports its own version",
	"enable_long_queue_ids":                  "postern's queue IDs are always the long form",
	"syslog_facility":                        "postern logs to maillog_file or $data_directory/maillog",
	"hash_queue_depth":                       "postern's queue layout is its own",
	"hash_queue_names":                       "postern's queue layout is its own",
	"process_id":                             "a read-only value of Postfix's processes",
	"process_name":                           "a read-only value of Postfix's processes",
	"process_id_directory":                   "postern keeps its pid file in data_directory",
	"berkeley_db_create_buffer_size":         "postern builds .cdb files, not Berkeley DB",
	"berkeley_db_read_buffer_size":           "postern builds .cdb files, not Berkeley DB",
	"lmdb_map_size":                          "postern builds .cdb files, not LMDB",
	"default_database_type":                  "postern builds .cdb files for every indexed type",
	"openssl_path":                           "postern does not run openssl",
	"helpful_warnings":                       "postern's warnings are not switched off",
	"respectful_logging":                     "postern's log wording is its own",
	"sun_mailtool_compatibility":             "obsolete in Postfix too",
	"backwards_bounce_logfile_compatibility": "postern keeps no bounce log files",
	"fault_injection_code":                   "a Postfix testing aid",
	"alternate_config_directories":           "postern has no postmulti",
	"tls_daemon_random_bytes":                "postern's TLS uses the kernel's random source",
	"smtpd_tls_dh1024_param_file":            "Go's TLS has no finite-field Diffie-Hellman suites (ECDHE only)",
	"smtpd_tls_dh512_param_file":             "Go's TLS has no finite-field Diffie-Hellman suites (ECDHE only)",
	"smtpd_tls_always_issue_session_ids":     "Go's TLS server keeps no session-ID cache: it resumes with tickets only (tls_session_ticket_cipher)",
	"smtpd_tls_session_cache_database":       "Go's TLS server keeps no session cache: it resumes with tickets only (tls_session_ticket_cipher)",
	"tls_preempt_cipherlist":                 "Go's TLS server picks the cipher suite by its own preference order",
	"smtp_tls_session_cache_database":        "postern's smtp client keeps TLS sessions in memory only",
	"smtp_tls_session_cache_timeout":         "postern's smtp client keeps TLS sessions in memory only",
	"smtp_tls_loglevel":                      "postern logs TLS connections at one level",
	"smtp_sasl_path":                         "postern's smtp client implements PLAIN and LOGIN itself",
	"smtp_sasl_type":                         "postern's smtp client implements PLAIN and LOGIN itself",
	"smtp_tls_note_starttls_offer":           "postern logs TLS connections at one level",
	"lmtp_tls_session_cache_database":        "postern's lmtp client keeps TLS sessions in memory only",
	"lmtp_tls_session_cache_timeout":         "postern's lmtp client keeps TLS sessions in memory only",
	"lmtp_tls_loglevel":                      "postern logs TLS connections at one level",
	"lmtp_tls_note_starttls_offer":           "postern logs TLS connections at one level",
	"lmtp_sasl_path":                         "postern's lmtp client implements PLAIN and LOGIN itself",
	"lmtp_sasl_type":                         "postern's lmtp client implements PLAIN and LOGIN itself",
	"ipc_idle":                               "postern's services are not separate processes",
	"ipc_timeout":                            "postern's services are not separate processes",
	"ipc_ttl":                                "postern's services are not separate processes",
	"max_idle":                               "postern's services are not separate processes",
	"max_use":                                "postern's services are not separate processes",
	"daemon_timeout":                         "postern's services are not separate processes",
	"qmgr_daemon_timeout":                    "postern's services are not separate processes",
	"qmgr_ipc_timeout":                       "postern's services are not separate processes",
	"trigger_timeout":                        "postern's services are not separate processes",
	"fork_attempts":                          "postern's services are not separate processes",
	"fork_delay":                             "postern's services are not separate processes",
	"application_event_drain_time":           "postern's services are not separate processes",
	"service_throttle_time":                  "postern's services are not separate processes",
}

// noEffectPattern gives the reason for whole families of names.
func noEffectPattern(name string) string {
	switch {
	case match("*_service_name", name) || match("*_watchdog_timeout", name):
		return "postern's services are not separate processes"
	case match("multi_instance_*", name) || match("postmulti_*", name):
		return "postern has no postmulti"
	case match("tls_random_*", name):
		return "postern's TLS uses the kernel's random source"
	}
	return ""
}

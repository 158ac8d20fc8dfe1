package config

import (
	"strings"
	"testing"
)

// Every name postern or Postfix knows has a state; none that is
// security-relevant may sit in "no effect", every "no effect" has its
// reason, and every parameter paramList keeps but does not enforce
// belongs to a feature.
func TestRegistryStates(t *testing.T) {
	names := append(Names(), PostfixNames()...)
	counts := map[State]int{}
	for _, n := range names {
		st := StateOf(n)
		counts[st.State]++
		switch {
		case st.State == StateUnknown:
			t.Errorf("%s: no state", n)
		case st.State == StateNoEffect && SecurityRelevant(n):
			t.Errorf("%s: security-relevant but accepted with no effect (%s)", n, st.Reason)
		case st.State == StateNoEffect && st.Reason == "":
			t.Errorf("%s: no effect without a reason", n)
		case st.State == StateUnimplemented && SecurityRelevant(n):
			t.Errorf("%s: security-relevant but only warned about", n)
		case st.State == StateRefused && !strings.HasPrefix(st.Problem(n), "postern does not implement "):
			t.Errorf("%s: problem %q", n, st.Problem(n))
		}
	}
	for n := range notEnforced {
		if _, ok := params[n]; !ok {
			t.Errorf("notEnforced %s is not in paramList", n)
		}
		if refusedFeature(n) == nil {
			t.Errorf("notEnforced %s belongs to no feature", n)
		}
	}
	for n := range noEffect {
		if !KnownToPostfix(n) && !Implemented(n) {
			t.Errorf("noEffect %s is not a parameter", n)
		}
	}
	t.Logf("states of %d names: %v implemented, %v no effect, %v refused, %v not implemented",
		len(names), counts[StateImplemented], counts[StateNoEffect], counts[StateRefused], counts[StateUnimplemented])
}

// The security classification: what an administrator relies on to
// narrow who may send or relay, or to protect mail, is security-relevant.
func TestSecurityRelevant(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"smtpd_tls_security_level", true},
		{"smtpd_tls_cert_file", true},
		{"smtpd_use_tls", true},
		{"smtp_tls_policy_maps", true},
		{"smtpd_sasl_auth_enable", true},
		{"smtpd_milters", true},
		{"milter_default_action", true},
		{"header_checks", true},
		{"body_checks", true},
		{"smtpd_client_connection_rate_limit", true},
		{"smtpd_client_connection_count_limit", true},
		{"postscreen_dnsbl_sites", true},
		{"smtpd_recipient_restrictions", true},
		{"smtpd_reject_unlisted_sender", true},
		{"relay_recipient_maps", true},
		{"mynetworks", true},
		{"content_filter", true},
		{"authorized_submit_users", true},
		{"hopcount_limit", true},
		{"smtpd_forbidden_commands", true},
		{"allow_min_user", true},
		{"local_command_shell", true},
		{"command_expansion_filter", true},
		{"message_drop_headers", true},
		{"always_bcc", true},
		{"relocated_maps", true},
		{"mime_nesting_limit", true},
		{"in_flow_delay", true},
		{"sender_dependent_relayhost_maps", true},
		{"smtpd_discard_ehlo_keywords", true},
		{"biff", false},
		{"readme_directory", false},
		{"smtp_tls_loglevel", false},
		{"smtp_tls_session_cache_database", false},
		{"mailbox_command", false},
		{"queue_run_delay", false},
		{"virtual_alias_maps", true},
		{"virtual_mailbox_domains", true},
		{"fast_flush_domains", false},
	} {
		if got := SecurityRelevant(tc.name); got != tc.want {
			t.Errorf("SecurityRelevant(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// States and harmless values: an administrator turning a feature off is
// enforced trivially; anything else is refused.
func TestStateOf(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		state       State
		harmless    bool
	}{
		{"myhostname", "mx.example", StateImplemented, true},
		{"smtp_tls_security_level", "encrypt", StateImplemented, true},
		{"smtp_destination_concurrency_limit", "5", StateImplemented, true},
		{"biff", "yes", StateNoEffect, true},
		{"readme_directory", "/usr/share/doc", StateNoEffect, true},
		{"smtpd_tls_security_level", "encrypt", StateImplemented, true},
		{"smtpd_use_tls", "yes", StateImplemented, true},
		{"smtpd_tls_wrappermode", "yes", StateImplemented, true},
		{"relay_clientcerts", "hash:/etc/postfix/relay_clientcerts", StateImplemented, true},
		{"smtpd_client_new_tls_session_rate_limit", "10", StateImplemented, true},
		{"smtpd_tls_mandatory_ciphers", "null", StateImplemented, true},
		{"smtpd_tls_protocols", ">=TLSv1.3", StateImplemented, true},
		{"smtpd_tls_req_ccert", "yes", StateImplemented, true},
		{"smtpd_tls_cert_file", "/etc/ssl/certs/ssl-cert-snakeoil.pem", StateImplemented, true},
		{"smtpd_tls_chain_files", "/etc/ssl/mail.pem", StateImplemented, true},
		{"tls_session_ticket_cipher", "aes-256-cbc", StateImplemented, true},
		{"smtpd_tls_eecdh_grade", "auto", StateRefused, true},
		{"smtpd_tls_eecdh_grade", "strong", StateRefused, false},
		{"smtpd_tls_eecdh_grade", "ultra", StateRefused, false},
		{"tls_eecdh_auto_curves", "X25519 X448 prime256v1 secp521r1 secp384r1", StateRefused, true},
		{"tls_eecdh_auto_curves", "prime256v1", StateRefused, false},
		{"tls_high_cipherlist", "aNULL:-aNULL:HIGH:@STRENGTH", StateRefused, true},
		{"tls_high_cipherlist", "HIGH:!aNULL", StateRefused, false},
		{"tls_ssl_options", "NO_TICKET", StateRefused, false},
		{"smtpd_tls_dh1024_param_file", "/etc/ssl/dh2048.pem", StateNoEffect, true},
		{"tls_preempt_cipherlist", "yes", StateNoEffect, true},
		{"tls_fast_shutdown_enable", "yes", StateRefused, true},
		{"tls_fast_shutdown_enable", "no", StateRefused, false},
		{"smtpd_sasl_auth_enable", "yes", StateImplemented, true},
		{"smtpd_client_auth_rate_limit", "10", StateImplemented, true},
		{"smtpd_sender_login_maps", "hash:/etc/postfix/senders", StateImplemented, true},
		{"smtpd_sasl_mechanism_filter", "plain", StateImplemented, true},
		{"smtpd_tls_auth_only", "no", StateImplemented, true},
		{"cyrus_sasl_config_path", "/etc/sasl2", StateNoEffect, true},
		{"smtpd_sasl_path", "private/auth", StateImplemented, true},
		{"smtpd_milters", "inet:127.0.0.1:8891", StateImplemented, true},
		{"non_smtpd_milters", "unix:/run/opendkim.sock", StateImplemented, true},
		{"milter_default_action", "accept", StateImplemented, true},
		{"smtpd_milter_maps", "cidr:/etc/postfix/smtpd_milter_map", StateRefused, false},
		{"milter_header_checks", "regexp:/etc/postfix/milter_header_checks", StateRefused, false},
		{"milter_macro_defaults", "auth_type=TLS", StateImplemented, true},
		{"header_checks", "regexp:/etc/postfix/header_checks", StateRefused, false},
		{"smtpd_client_message_rate_limit", "100", StateImplemented, true},
		{"anvil_status_update_time", "60s", StateImplemented, true},
		{"anvil_ipv6_prefix_length", "56", StateImplemented, true},
		{"in_flow_delay", "1s", StateRefused, false},
		{"smtp_tls_CApath", "/etc/ssl/certs", StateRefused, true},
		{"smtp_tls_policy_maps", "hash:/etc/postfix/tls_policy", StateRefused, false},
		{"smtp_tls_mandatory_protocols", "!SSLv2,!SSLv3", StateRefused, true},
		{"smtp_tls_mandatory_protocols", ">=TLSv1.2", StateRefused, false},
		{"smtpd_reject_unlisted_recipient", "no", StateImplemented, true},
		{"mailbox_command", "/usr/bin/procmail", StateRefused, false},
		{"mailbox_command", "", StateRefused, true},
		// Not implemented: a re-injected message would be rewritten again.
		{"receive_override_options", "no_address_mappings", StateRefused, false},
		{"receive_override_options", "", StateRefused, true},
		{"lmtp_header_checks", "regexp:/x", StateRefused, false},
		{"fast_flush_domains", "example.com", StateUnimplemented, true},
		// Expanded by cleanup's rewriting (internal/rewrite).
		{"virtual_alias_maps", "hash:/etc/postfix/virtual", StateImplemented, true},
		{"canonical_maps", "hash:/etc/postfix/canonical", StateImplemented, true},
		{"virtual_mailbox_domains", "example.com", StateImplemented, true},
		{"relay_recipient_maps", "hash:/etc/postfix/relay_recipients", StateImplemented, true},
		{"smtpd_reject_unlisted_sender", "yes", StateImplemented, true},
		{"lmtp_tls_security_level", "encrypt", StateImplemented, true},
		{"lmtp_sasl_auth_enable", "yes", StateImplemented, true},
		{"lmtp_data_done_timeout", "60s", StateImplemented, true},
		{"lmtp_destination_recipient_limit", "10", StateImplemented, true},
		{"lmtp_use_tls", "yes", StateRefused, false},
		{"lmtp_tls_CApath", "/etc/ssl/certs", StateRefused, false},
		{"lmtp_tls_mandatory_ciphers", "high", StateRefused, true},
		{"lmtp_tls_policy_maps", "hash:/x", StateRefused, false},
		{"lmtp_tls_loglevel", "1", StateNoEffect, true},
		{"mailbox_transport", "lmtp:unix:private/dovecot-lmtp", StateImplemented, true},
		{"mailbox_transport_maps", "hash:/x", StateRefused, false},
		{"qmgr_message_active_limit", "20000", StateRefused, true},
		{"qmgr_message_active_limit", "1000", StateRefused, false},
		{"postscreen_client_connection_count_limit", "5", StateImplemented, true},
		{"postscreen_pre_queue_limit", "20", StateImplemented, true},
		{"postscreen_post_queue_limit", "20", StateImplemented, true},
		// Not implemented: refused unless at the default (review16 finding 6).
		{"postscreen_dnsbl_min_ttl", "60s", StateRefused, true},
		{"postscreen_dnsbl_min_ttl", "1h", StateRefused, false},
		{"postscreen_upstream_proxy_timeout", "9s", StateRefused, true},
		{"enable_long_queue_ids", "no", StateNoEffect, true},
		{"no_such_parameter", "x", StateUnknown, true},
		{"hopcount_limit", "20", StateImplemented, true},
		{"smtpd_forbidden_commands", "CONNECT", StateImplemented, true},
		{"allow_min_user", "yes", StateImplemented, true},
		{"smtpd_client_connection_limit_exceptions", "192.0.2.1", StateImplemented, true},
		{"local_command_shell", "/bin/bash", StateRefused, false},
		{"local_command_shell", "", StateRefused, true},
		{"command_expansion_filter", defaultCommandFilter, StateRefused, true},
		{"command_expansion_filter", strings.ToLower(defaultCommandFilter), StateRefused, false},
		{"command_execution_directory", "$home", StateRefused, false},
		{"execution_directory_expansion_filter", "abc", StateRefused, true},
		{"message_strip_characters", `\0`, StateRefused, false},
		{"message_drop_headers", "bcc content-length resent-bcc return-path", StateRefused, true},
		{"message_drop_headers", "bcc", StateRefused, false},
		{"smtpd_discard_ehlo_keywords", "silent-discard, dsn", StateRefused, false},
		{"smtpd_discard_ehlo_keyword_address_maps", "", StateRefused, true},
		{"always_bcc", "archive@example.com", StateRefused, false},
		{"sender_bcc_maps", "hash:/etc/postfix/bcc", StateRefused, false},
		{"recipient_bcc_maps", "", StateRefused, true},
		{"relocated_maps", "hash:/etc/postfix/relocated", StateRefused, false},
		{"sender_dependent_relayhost_maps", "hash:/x", StateRefused, false},
		{"header_address_token_limit", "10240", StateRefused, false},
		{"mime_nesting_limit", "20", StateRefused, false},
		{"mime_boundary_length_limit", "2048", StateRefused, false},
		{"queue_file_attribute_count_limit", "100", StateRefused, false},
		{"in_flow_delay", "1s", StateRefused, false},
		{"in_flow_delay", "0s", StateRefused, true},
		{"lmtp_discard_lhlo_keywords", "pipelining", StateRefused, false},
		{"lmtp_discard_lhlo_keywords", "", StateRefused, true},
		{"lmtp_generic_maps", "hash:/etc/postfix/generic", StateRefused, false},
		{"lmtp_assume_final", "yes", StateRefused, false},
		{"lmtp_delivery_status_filter", "pcre:/x", StateRefused, false},
		{"lmtp_delivery_status_filter", "$default_delivery_status_filter", StateRefused, true},
		{"lmtp_reply_filter", "pcre:/x", StateRefused, false},
		{"lmtp_bind_address", "127.0.0.2", StateRefused, false},
		{"lmtp_send_xforward_command", "yes", StateRefused, false},
		{"lmtp_per_record_deadline", "yes", StateRefused, false},
		{"lmtp_per_request_deadline", "no", StateRefused, true},
		{"lmtp_xforward_timeout", "300s", StateRefused, true},
		{"strict_mailbox_ownership", "no", StateRefused, false},
		{"strict_mailbox_ownership", "yes", StateRefused, true},
	} {
		st := StateOf(tc.name)
		if st.State != tc.state {
			t.Errorf("StateOf(%s) = %v, want %v", tc.name, st.State, tc.state)
			continue
		}
		if got := st.Harmless(tc.name, tc.value); got != tc.harmless {
			t.Errorf("Harmless(%s = %q) = %v, want %v", tc.name, tc.value, got, tc.harmless)
		}
	}
	if got := StateOf("mailbox_command").Problem("mailbox_command"); got != "postern does not implement mailbox_command (delivery through procmail or another command) yet: remove the setting; mail would be written to the mailbox without it" {
		t.Errorf("problem: %s", got)
	}
}

// The legacy smtpd_client_connection_limit_exceptions feeds only the
// default of smtpd_client_event_limit_exceptions, as in Postfix 3.7
// (postconf -x, measured): unset, $mynetworks; set, nothing.
func TestLegacyEventLimitExceptions(t *testing.T) {
	for main, want := range map[string]string{
		"mynetworks = 192.0.2.0/24\n": "192.0.2.0/24",
		"mynetworks = 192.0.2.0/24\nsmtpd_client_connection_limit_exceptions = 198.51.100.1\n": "",
		"smtpd_client_event_limit_exceptions = 203.0.113.1\n":                                  "203.0.113.1",
	} {
		c := New("", ParseMain("main.cf", main))
		if got, err := c.Get("smtpd_client_event_limit_exceptions"); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", main, got, err, want)
		}
	}
}

func TestCheckSMTPTLSLevel(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "may": true, "encrypt": true, "secure": true, "dane": false, "fingerprint": false, "bogus": false} {
		if err := checkSMTPTLSLevel(nil, v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}

package config

import (
	"fmt"
	"strconv"
)

// anvilParams are the per-client count and rate limits (internal/anvil,
// internal/smtpd); smtpd_client_connection_count_limit and
// smtpd_client_event_limit_exceptions are in paramList.
var anvilParams = []Param{
	// anvil_rate_time_unit: the window of every client rate.
	{Name: "anvil_rate_time_unit", Default: "60s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	// anvil_status_update_time: how often the peaks are logged
	// ("statistics: max connection rate …"), when there were any.
	{Name: "anvil_status_update_time", Default: "600s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	// anvil_ipv6_prefix_length (postern-only): the bits of an IPv6
	// client address that make one client for every per-client limit.
	{Name: "anvil_ipv6_prefix_length", Default: "64", Kind: Int, Min: 1, HasMin: true, Check: checkIPv6Prefix},
	{Name: "smtpd_client_connection_rate_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_client_message_rate_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_client_new_tls_session_rate_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_client_recipient_rate_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
}

func checkIPv6Prefix(_ *Config, v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 128 {
		return fmt.Errorf("%q is not a prefix length from 1 to 128", v)
	}
	return nil
}

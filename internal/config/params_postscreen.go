package config

import (
	"fmt"
	"strings"
)

// postscreenParams are the postscreen(8) settings postern implements
// (internal/postscreen), with Postfix 3.7's defaults. The rest of
// postscreen_* (DNSBL, deep protocol tests, the cache file) stays
// refused: see the postscreen feature in states_list.go.
var postscreenParams = []Param{
	{Name: "postscreen_access_list", Default: "permit_mynetworks", Kind: String},
	// postscreen_denylist_action is Postfix 3.6's name; the old one
	// still sets it.
	{Name: "postscreen_blacklist_action", Default: "ignore", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_denylist_action", Default: "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_greet_action", Default: "ignore", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_greet_banner", Default: "$smtpd_banner", Kind: String},
	{Name: "postscreen_greet_ttl", Default: "1d", Kind: Time, Unit: 'd', Min: 1, HasMin: true},
	{Name: "postscreen_greet_wait", Default: "${stress?{2}:{6}}s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "postscreen_dnsbl_sites", Default: "", Kind: String},
	{Name: "postscreen_dnsbl_threshold", Default: "1", Kind: Int, Min: 1, HasMin: true},
	{Name: "postscreen_dnsbl_allowlist_threshold", Default: "${postscreen_dnsbl_whitelist_threshold?{$postscreen_dnsbl_whitelist_threshold}:{0}}", Kind: Int},
	{Name: "postscreen_dnsbl_action", Default: "ignore", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_dnsbl_max_ttl", Default: "${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h", Kind: Time, Unit: 'h', Min: 1, HasMin: true},
	{Name: "postscreen_dnsbl_timeout", Default: "10s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "postscreen_client_connection_count_limit", Default: "$smtpd_client_connection_count_limit", Kind: Int, Min: 0, HasMin: true},
	{Name: "postscreen_pre_queue_limit", Default: "$default_process_limit", Kind: Int, Min: 10, HasMin: true},
	{Name: "postscreen_post_queue_limit", Default: "$default_process_limit", Kind: Int, Min: 5, HasMin: true},
	{Name: "postscreen_cache_retention_time", Default: "7d", Kind: Time, Unit: 'd', Min: 0, HasMin: true},
}

func checkPostscreenAction(_ *Config, v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "ignore", "enforce", "drop":
		return nil
	}
	return fmt.Errorf("%q is not one of ignore, enforce, drop", v)
}

package config

import (
	"fmt"
	"strings"
)

// postscreenDeepParams are postscreen(8)'s deep protocol tests and its
// dummy SMTP engine (internal/postscreen, engine.go), with Postfix 3.7's
// defaults (postconf -d).
var postscreenDeepParams = []Param{
	{Name: "postscreen_pipelining_enable", Default: "no", Kind: Bool},
	{Name: "postscreen_pipelining_action", Default: "enforce", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_pipelining_ttl", Default: "30d", Kind: Time, Unit: 'd', Min: 1, HasMin: true},
	{Name: "postscreen_non_smtp_command_enable", Default: "no", Kind: Bool},
	{Name: "postscreen_non_smtp_command_action", Default: "drop", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_non_smtp_command_ttl", Default: "30d", Kind: Time, Unit: 'd', Min: 1, HasMin: true},
	{Name: "postscreen_bare_newline_enable", Default: "no", Kind: Bool},
	{Name: "postscreen_bare_newline_action", Default: "ignore", Kind: String, Check: checkPostscreenAction},
	{Name: "postscreen_bare_newline_ttl", Default: "30d", Kind: Time, Unit: 'd', Min: 1, HasMin: true},
	{Name: "postscreen_forbidden_commands", Default: "$smtpd_forbidden_commands", Kind: List, Check: checkForbiddenCommands},
	{Name: "postscreen_command_count_limit", Default: "20", Kind: Int, Min: 1, HasMin: true},
	{Name: "postscreen_command_time_limit", Default: "${stress?{10}:{300}}s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "postscreen_helo_required", Default: "$smtpd_helo_required", Kind: Bool},
	{Name: "postscreen_disable_vrfy_command", Default: "$disable_vrfy_command", Kind: Bool},
	{Name: "postscreen_command_filter", Default: "", Kind: MapList, Check: checkOneTable},
	{Name: "postscreen_discard_ehlo_keywords", Default: "$smtpd_discard_ehlo_keywords", Kind: List},
}

// checkOneTable accepts nothing or one type:table.
func checkOneTable(_ *Config, v string) error {
	f := Fields(v)
	if len(f) > 1 {
		return fmt.Errorf("expected one type:table, not %d", len(f))
	}
	if len(f) == 1 && !strings.Contains(f[0], ":") {
		return fmt.Errorf("%q is not a type:table", f[0])
	}
	return nil
}

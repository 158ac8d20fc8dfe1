package config

import (
	"errors"
	"strings"
)

// policySvcParams are check_policy_service's client settings
// (internal/policyclient, internal/policy/policysvc.go), with Postfix
// 3.7's defaults. A per-restriction { inet:..., name=value } block
// overrides them for one service.
var policySvcParams = []Param{
	{Name: "smtpd_policy_service_default_action", Default: "451 4.3.5 Server configuration problem", Kind: String, Check: checkPolicyDefaultAction},
	{Name: "smtpd_policy_service_max_idle", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtpd_policy_service_max_ttl", Default: "1000s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtpd_policy_service_policy_context", Default: "", Kind: String},
	{Name: "smtpd_policy_service_request_limit", Default: "0", Kind: Int, Min: 0, HasMin: true},
	{Name: "smtpd_policy_service_retry_delay", Default: "1s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtpd_policy_service_timeout", Default: "100s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "smtpd_policy_service_try_limit", Default: "2", Kind: Int, Min: 1, HasMin: true},
}

func checkPolicyDefaultAction(_ *Config, v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("the default action must not be empty (Postfix's default is 451 4.3.5 Server configuration problem)")
	}
	return nil
}

package config

import (
	"fmt"

	"github.com/postern-mta/postern/internal/milter"
)

// milterParams are the milter client (internal/milter): Postfix's
// smtpd_milters, non_smtpd_milters and milter_* parameters, with
// Postfix 3.7's defaults. milter_header_checks and smtpd_milter_maps
// are not implemented (states_list.go).
var milterParams = []Param{
	{Name: "milter_command_timeout", Default: "30s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "milter_connect_macros", Default: milter.DefaultConnectMacros, Kind: String},
	{Name: "milter_connect_timeout", Default: "30s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "milter_content_timeout", Default: "300s", Kind: Time, Unit: 's', Min: 1, HasMin: true},
	{Name: "milter_data_macros", Default: milter.DefaultDataMacros, Kind: String},
	{Name: "milter_default_action", Default: "tempfail", Kind: String, Check: func(_ *Config, v string) error { return milter.CheckDefaultAction(v) }},
	{Name: "milter_end_of_data_macros", Default: milter.DefaultEOMMacros, Kind: String},
	{Name: "milter_end_of_header_macros", Default: milter.DefaultEOHMacros, Kind: String},
	{Name: "milter_helo_macros", Default: milter.DefaultHeloMacros, Kind: String},
	{Name: "milter_macro_daemon_name", Default: "$myhostname", Kind: String},
	{Name: "milter_macro_defaults", Default: "", Kind: List, Check: func(_ *Config, v string) error {
		_, err := milter.ParseMacroDefaults(Fields(v))
		return err
	}},
	{Name: "milter_macro_v", Default: "$mail_name $mail_version", Kind: String},
	{Name: "milter_mail_macros", Default: milter.DefaultMailMacros, Kind: String},
	{Name: "milter_protocol", Default: "6", Kind: String, Check: checkMilterProtocol},
	{Name: "milter_rcpt_macros", Default: milter.DefaultRcptMacros, Kind: String},
	{Name: "milter_unknown_command_macros", Default: milter.DefaultUnknownMacros, Kind: String},
	{Name: "non_smtpd_milters", Default: "", Kind: List, Check: checkMilters},
	{Name: "smtpd_milters", Default: "", Kind: List, Check: checkMilters},
}

func checkMilterProtocol(_ *Config, v string) error {
	_, err := milter.ParseProtocol(v)
	return err
}

// checkMilters checks the syntax of a milter list; the per-milter
// settings of a "{ … }" entry are checked here too.
func checkMilters(_ *Config, v string) error {
	if _, err := milter.ParseList(Fields(v), milter.DefaultSettings(), ""); err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}

// Milters returns the milters of a list parameter (smtpd_milters,
// non_smtpd_milters) with the milter_* settings of c.
func (c *Config) Milters(name string) ([]milter.Spec, error) {
	list, err := c.List(name)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	var def milter.Settings
	if def.ConnectTimeout, err = c.Duration("milter_connect_timeout"); err != nil {
		return nil, err
	}
	if def.CommandTimeout, err = c.Duration("milter_command_timeout"); err != nil {
		return nil, err
	}
	if def.ContentTimeout, err = c.Duration("milter_content_timeout"); err != nil {
		return nil, err
	}
	if def.DefaultAction, err = c.Get("milter_default_action"); err != nil {
		return nil, err
	}
	if def.Protocol, err = c.Get("milter_protocol"); err != nil {
		return nil, err
	}
	qdir, err := c.Get("queue_directory")
	if err != nil {
		return nil, err
	}
	specs, err := milter.ParseList(list, def, qdir)
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %w", name, err)
	}
	return specs, nil
}

// MilterMacros returns the milter_*_macros lists.
func (c *Config) MilterMacros() (milter.MacroLists, error) {
	var l milter.MacroLists
	for _, p := range []struct {
		name string
		dst  *[]string
	}{
		{"milter_connect_macros", &l.Connect}, {"milter_helo_macros", &l.Helo},
		{"milter_mail_macros", &l.Mail}, {"milter_rcpt_macros", &l.Rcpt},
		{"milter_data_macros", &l.Data}, {"milter_end_of_header_macros", &l.EOH},
		{"milter_end_of_data_macros", &l.EOM}, {"milter_unknown_command_macros", &l.Unknown},
	} {
		v, err := c.Get(p.name)
		if err != nil {
			return l, err
		}
		*p.dst = milter.MacroNames(v)
	}
	d, err := c.List("milter_macro_defaults")
	if err != nil {
		return l, err
	}
	l.Defaults, err = milter.ParseMacroDefaults(d)
	return l, err
}

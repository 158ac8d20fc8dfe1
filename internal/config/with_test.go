package config

import "testing"

// With sets an override on a copy: the ${stress?…} defaults expand both
// ways from one configuration, and an explicit main.cf value wins.
func TestWithStress(t *testing.T) {
	c := New("", ParseMain("main.cf", "smtpd_junk_command_limit = 7\n"))
	s := c.With("stress", "yes")
	for _, tc := range []struct {
		cfg        *Config
		name, want string
	}{
		{c, "smtpd_timeout", "300s"},
		{s, "smtpd_timeout", "10s"},
		{c, "smtpd_hard_error_limit", "20"},
		{s, "smtpd_hard_error_limit", "1"},
		{s, "smtpd_junk_command_limit", "7"},
		{c, "stress", ""},
	} {
		if got, err := tc.cfg.Get(tc.name); err != nil || got != tc.want {
			t.Errorf("%s (stress %q) = %q, %v; want %q", tc.name, tc.cfg.Overrides["stress"], got, err, tc.want)
		}
	}
}

package config

import "testing"

// smtpd_forbidden_commands: names and the default's table are enforced;
// any other table would be ignored, so it is refused.
func TestCheckForbiddenCommands(t *testing.T) {
	for v, ok := range map[string]bool{
		"":                                       true,
		"CONNECT GET POST " + ForbiddenNonLetter: true,
		"CONNECT, GET, xyzzy":                    true,
		"regexp:/etc/postfix/forbidden":          false,
		"GET regexp:{{/^X/ Bogus}}":              false,
		"!GET":                                   false,
	} {
		if err := checkForbiddenCommands(nil, v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
	if err := checkForbiddenCommands(nil, params["smtpd_forbidden_commands"].Default); err != nil {
		t.Errorf("default: %v", err)
	}
}

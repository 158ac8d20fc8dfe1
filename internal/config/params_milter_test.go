package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestMilterParams(t *testing.T) {
	for _, tc := range []struct {
		name, value, err string
	}{
		{"smtpd_milters", "inet:127.0.0.1:8891, unix:private/rspamd", ""},
		{"smtpd_milters", "{ inet:127.0.0.1:11332, default_action=accept, connect_timeout=5s }", ""},
		// as Postfix's attr_override: no blanks around "="
		{"smtpd_milters", "{ inet:127.0.0.1:11332, default_action = accept }", "want name=value"},
		{"smtpd_milters", "inet:127.0.0.1", "want inet:host:port"},
		{"non_smtpd_milters", "{ inet:127.0.0.1:1, default_action=bounce }", "unknown default action"},
		{"milter_default_action", "shutdown", ""},
		{"milter_default_action", "discard", "unknown default action"},
		{"milter_protocol", "6", ""},
		{"milter_protocol", "5", "bad protocol information"},
		{"milter_macro_defaults", "auth_type=none, { {mail_host} = a b }", ""},
		{"milter_macro_defaults", "auth_type", "want name=value"},
	} {
		c := New(t.TempDir(), ParseMain("main.cf", tc.name+" = "+tc.value+"\n"))
		err := c.Validate(tc.name)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s = %s: %v, want %q", tc.name, tc.value, err, tc.err)
		}
	}
	c := New(t.TempDir(), ParseMain("main.cf", "queue_directory = /q\nmilter_command_timeout = 7s\n"+
		"smtpd_milters = unix:private/m, { inet:h:1, command_timeout=1m }\nmilter_macro_defaults = auth_type=none\n"))
	specs, err := c.Milters("smtpd_milters")
	if err != nil || len(specs) != 2 || specs[0].Address != "/q/private/m" || specs[0].CommandTimeout != 7*time.Second ||
		specs[1].CommandTimeout != time.Minute || specs[1].ContentTimeout != 300*time.Second {
		t.Errorf("Milters: %+v, %v", specs, err)
	}
	l, err := c.MilterMacros()
	if err != nil || strings.Join(l.Connect, " ") != "j {daemon_name} {daemon_addr} v _" || l.Defaults["{auth_type}"] != "none" {
		t.Errorf("MilterMacros: %+v, %v", l, err)
	}
}

// The README's milter example is valid main.cf (read from README.md, so
// the test fails when the README drifts).
func TestREADMEMilterExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "per-milter settings in braces:\n\n")
	if !ok {
		t.Fatal("README lacks the milter example")
	}
	var b strings.Builder
	for _, l := range strings.Split(after, "\n") {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		b.WriteString(strings.TrimPrefix(l, "    ") + "\n")
	}
	c := New(t.TempDir(), ParseMain("main.cf", b.String()))
	for _, name := range []string{"smtpd_milters", "non_smtpd_milters"} {
		if err := c.Validate(name); err != nil {
			t.Errorf("README example %q: %v", b.String(), err)
		}
	}
	specs, err := c.Milters("smtpd_milters")
	if err != nil || len(specs) != 2 || specs[1].DefaultAction != "accept" || specs[1].ContentTimeout != 2*time.Minute {
		t.Errorf("README example %q: %+v, %v", b.String(), specs, err)
	}
}

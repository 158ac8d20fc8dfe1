package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/testperm"
)

// runCheck checks a main.cf and master.cf written to a fresh directory.
func runCheck(t *testing.T, mainCf, masterCf string) (*Report, string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCf), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(masterCf), 0o644)
	queue := t.TempDir()
	testperm.OpenDirs(queue)
	rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail", Overrides: map[string]string{
		"queue_directory": queue, "data_directory": queue, "alias_maps": "", "alias_database": ""}})
	var out bytes.Buffer
	rep.Write(&out, false)
	return rep, strings.ReplaceAll(out.String(), dir, "DIR")
}

// The submission warnings and the rules for -o values. Each case names
// what the report must contain ("DIR/master.cf:2: warning: ...") and
// what it must not. The cases set the TLS and AUTH parameters
// explicitly, so they hold whether or not those are implemented yet
// (until then they also draw "does not implement" errors).
func TestSubmissionChecks(t *testing.T) {
	const mainCf = "myhostname = mx.example.test\ninet_interfaces = all\nmynetworks = 127.0.0.0/8\n"
	const smtp = "smtp inet n - n - - smtpd\n"
	const authInClear = "SMTP AUTH is offered without TLS"
	const openRelay = "a submission service that lets unauthenticated clients relay"
	for _, tc := range []struct {
		name, main, master string
		want, not          []string
	}{
		{"main.cf AUTH before STARTTLS",
			mainCf + "smtpd_sasl_auth_enable = yes\nsmtpd_tls_auth_only = no\nsmtpd_tls_security_level = may\n", smtp,
			[]string{"DIR/main.cf:4: warning: parameter smtpd_sasl_auth_enable: " + authInClear}, nil},
		{"main.cf AUTH after STARTTLS only", mainCf + "smtpd_sasl_auth_enable = yes\nsmtpd_tls_auth_only = yes\nsmtpd_tls_security_level = may\n", smtp,
			nil, []string{authInClear}},
		{"service AUTH without TLS", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=no\n" +
				"  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n",
			[]string{"DIR/master.cf:2: warning: service submission/inet: " + authInClear}, []string{openRelay}},
		{"service AUTH with TLS required", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=no\n" +
				"  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n",
			nil, []string{authInClear, openRelay}},
		{"wrappermode", mainCf,
			smtp + "submissions inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_tls_auth_only=no\n" +
				"  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n",
			nil, []string{authInClear, openRelay}},
		{"submission open to everyone via -o mynetworks", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o mynetworks=0.0.0.0/0\n",
			[]string{"DIR/master.cf:2: warning: service submission/inet: " + openRelay}, nil},
		{"submission relay list ends in permit ($mua_relay_restrictions)", mainCf + "mua_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, permit, reject\n",
			smtp + "587 inet n - n - - smtpd\n  -o smtpd_relay_restrictions=$mua_relay_restrictions\n  -o smtpd_recipient_restrictions=reject_unauth_pipelining\n",
			[]string{"DIR/master.cf:2: warning: service 587/inet: " + openRelay}, nil},
		{"client restrictions reject strangers", mainCf + "mua_client_restrictions = permit_sasl_authenticated, reject\n",
			smtp + "submission inet n - n - - smtpd\n  -o mynetworks=0.0.0.0/0\n  -o smtpd_client_restrictions=$mua_client_restrictions\n",
			nil, []string{openRelay}},
		{"stock submission restrictions", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o smtpd_client_restrictions=$mua_client_restrictions\n  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n",
			nil, []string{openRelay, "refuses to run", "mua_client_restrictions"}},
		{"port 25 service opened by -o", mainCf,
			smtp + "2525 inet n - n - - smtpd\n  -o smtpd_relay_restrictions=permit_mynetworks,permit,reject\n",
			[]string{"DIR/master.cf:2: service 2525/inet: OPEN RELAY: "}, []string{openRelay}},
		{"loopback service opened by -o", mainCf,
			smtp + "127.0.0.1:2525 inet n - n - - smtpd\n  -o smtpd_relay_restrictions=permit_mynetworks,permit,reject\n",
			nil, []string{"OPEN RELAY", openRelay}},
		{"no relay protection at all", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=permit_sasl_authenticated\n",
			[]string{"DIR/master.cf:2: service submission/inet: neither smtpd_relay_restrictions nor smtpd_recipient_restrictions contains"}, nil},
		{"bad -o value", mainCf, smtp + "submission inet n - n - - smtpd\n  -o smtpd_timeout=soon\n",
			[]string{"DIR/master.cf:2: service submission/inet: -o smtpd_timeout=soon: "}, nil},
		{"unimplemented restriction in -o", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o { smtpd_client_restrictions = reject_rhsbl_sender rhsbl.example }\n",
			[]string{"DIR/master.cf:2: service submission/inet: -o smtpd_client_restrictions=reject_rhsbl_sender rhsbl.example: postern does not implement the restriction reject_rhsbl_sender"}, nil},
		{"policy service in -o", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o { smtpd_client_restrictions = check_policy_service { inet:127.0.0.1:9998, timeout=10s, default_action=DUNNO } }\n",
			nil, []string{"check_policy_service"}},
		{"bad policy service in -o", mainCf,
			smtp + "submission inet n - n - - smtpd\n  -o { smtpd_client_restrictions = check_policy_service { inet:127.0.0.1:9998, timeout=never } }\n",
			[]string{"DIR/master.cf:2: service submission/inet: -o smtpd_client_restrictions=check_policy_service { inet:127.0.0.1:9998, timeout=never }: check_policy_service inet:127.0.0.1:9998: timeout: "}, nil},
		{"refused -o stays an error", mainCf, smtp + "submission inet n - n - - smtpd\n  -o smtpd_milter_maps=cidr:/etc/postfix/milter_map\n",
			[]string{"DIR/master.cf:2: service submission/inet: -o smtpd_milter_maps=cidr:/etc/postfix/milter_map: postern does not implement these milter settings"}, nil},
		{"-o smtpd_milters is applied", mainCf, smtp + "submission inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:9999\n  -o milter_macro_daemon_name=ORIGINATING\n",
			nil, []string{"master.cf"}},
		{"bad -o smtpd_milters", mainCf, smtp + "submission inet n - n - - smtpd\n  -o smtpd_milters=tcp:127.0.0.1:9999\n",
			[]string{"DIR/master.cf:2: service submission/inet: -o smtpd_milters=tcp:127.0.0.1:9999: ", "invalid transport name: tcp"}, nil},
		{"qmgr parameter on smtpd", mainCf, smtp + "submission inet n - n - - smtpd\n  -o delay_warning_time=4h\n",
			[]string{"DIR/master.cf:2: warning: service submission/inet: -o delay_warning_time=4h: has no effect on this smtpd service"}, nil},
		{"applied -o is accepted", mainCf, smtp + "submission inet n - n - - smtpd\n  -o smtpd_banner=$myhostname\n  -o smtpd_timeout=20s\n",
			nil, []string{"master.cf"}},
		{"postscreen's engine settings apply", mainCf, "smtp inet n - n - 1 postscreen\n  -o myhostname=mx2.example.com\n  -o postscreen_pipelining_enable=yes\n  -o smtpd_timeout=20s\nsmtpd pass - - n - - smtpd\n",
			[]string{"-o smtpd_timeout=20s: has no effect on this postscreen service"}, []string{"-o myhostname", "-o postscreen_pipelining_enable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := runCheck(t, tc.main, tc.master)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("report has %q:\n%s", n, out)
				}
			}
		})
	}
}

// The bundled master.cf with submission and submissions uncommented, as
// the README says, draws nothing about the services themselves: their
// -o options are applied, their restrictions protect against relaying.
// What is left is the TLS and AUTH settings (errors while those are not
// implemented; a certificate to configure once they are).
func TestUncommentedSubmission(t *testing.T) {
	rep, out := runCheck(t, "myhostname = mx.example.test\ninet_interfaces = all\nmynetworks = 127.0.0.0/8\n",
		mastercf.UncommentSubmission(mastercf.Default()))
	for _, d := range rep.Diags {
		if d.Severity == config.Error || strings.Contains(d.File, "master.cf") {
			m := d.Msg
			if !strings.Contains(m, "smtpd_tls_") && !strings.Contains(m, "smtpd_sasl_") || strings.Contains(m, "has no effect") ||
				strings.Contains(m, "relay") || strings.Contains(m, "without TLS") {
				t.Errorf("unexpected: %s\n%s", d, out)
			}
		}
	}
}

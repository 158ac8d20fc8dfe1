package smtpd

import (
	"strings"
	"testing"
)

// Every exchange AUTH starts is closed exactly once, however it ends:
// an abandoned one ("*", bad base64, an over-long response, a timeout, a
// hang-up) would otherwise stay open in the backend (a Dovecot request
// never freed, ~6 KB of Dovecot's auth process each).
func TestAuthClosesExchange(t *testing.T) {
	long := strings.Repeat("QUFB", 3100) // 12400 bytes, over the limit below
	for _, tc := range []struct {
		name   string
		lines  []string // sent in turn; the last reply must start with want
		want   string
		hangUp bool // hang up after the lines instead of QUIT
		starts int64
	}{
		{"success", []string{"AUTH PLAIN AGFsaWNlAHNlY3JldA=="}, "235 ", false, 1},
		{"wrong password", []string{"AUTH LOGIN", "YWxpY2U=", "YmFk"}, "535 ", false, 1},
		{"backend error", []string{"AUTH PLAIN AHRlbXBmYWlsAHg="}, "454 ", false, 1},
		{"cancelled", []string{"AUTH LOGIN", "*"}, "501 5.7.0 ", false, 1},
		{"cancelled after the user", []string{"AUTH LOGIN", "YWxpY2U=", "*"}, "501 5.7.0 ", false, 1},
		{"bad base64", []string{"AUTH LOGIN", "!!!"}, "535 ", false, 1},
		{"response too long", []string{"AUTH LOGIN", long}, "500 5.5.6 ", false, 1},
		{"hang-up", []string{"AUTH LOGIN"}, "334 ", true, 1},
		{"timeout", []string{"AUTH LOGIN", ""}, "421 4.4.2 ", true, 1},
		{"bad initial response", []string{"AUTH PLAIN !!"}, "535 ", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log syncBuffer
			cf := "smtpd_tls_auth_only = no\nsmtpd_error_sleep_time = 0\nsmtpd_sasl_response_limit = 12288\n"
			if tc.name == "timeout" {
				cf += "smtpd_timeout = 1s\n"
			}
			srv := authServer(t, cf, &log)
			c, br, wait := serveOne(t, srv)
			talk(t, c, br, "EHLO x")
			lines := tc.lines
			if tc.name == "timeout" {
				lines = lines[:1] // then say nothing: the session times out
			}
			var got string
			for _, l := range lines {
				got = talk(t, c, br, l)
			}
			if tc.name == "timeout" {
				l, _ := br.ReadString('\n')
				got = strings.TrimRight(l, "\r\n")
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("reply %q, want %q", got, tc.want)
			}
			if tc.hangUp {
				c.Close()
			} else {
				talk(t, c, br, "QUIT")
			}
			wait() // the session is over: the exchange must be closed by now
			f := srv.SASL.(*FakeSASL)
			if n := f.Calls.Load(); n != tc.starts {
				t.Fatalf("%d exchanges started, want %d", n, tc.starts)
			}
			if n := f.Closes.Load(); n != tc.starts {
				t.Errorf("%d exchanges closed, want %d", n, tc.starts)
			}
			if n := f.DoubleCloses.Load(); n != 0 {
				t.Errorf("%d exchanges closed twice", n)
			}
		})
	}
}

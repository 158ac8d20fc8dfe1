package milter

import (
	"strings"
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	def := DefaultSettings()
	for _, tc := range []struct {
		in      string // one element, as config.Fields returns it
		network string
		addr    string
		check   func(s Spec) bool
		err     string
	}{
		{in: "inet:127.0.0.1:8891", network: "tcp", addr: "127.0.0.1:8891"},
		{in: "inet:localhost:8891", network: "tcp", addr: "localhost:8891"},
		{in: "inet:[::1]:8891", network: "tcp", addr: "[::1]:8891"},
		{in: "inet:8891@127.0.0.1", network: "tcp", addr: "127.0.0.1:8891"},
		{in: "unix:/run/opendkim/opendkim.sock", network: "unix", addr: "/run/opendkim/opendkim.sock"},
		{in: "unix:private/milter", network: "unix", addr: "/var/spool/postfix/private/milter"},
		{in: "local:private/milter", network: "unix", addr: "/var/spool/postfix/private/milter"},
		{in: "inet:127.0.0.1:11332, connect_timeout=10s, command_timeout=1m, content_timeout=2h, default_action=accept, protocol=4",
			network: "tcp", addr: "127.0.0.1:11332", check: func(s Spec) bool {
				return s.ConnectTimeout == 10*time.Second && s.CommandTimeout == time.Minute && s.ContentTimeout == 2*time.Hour &&
					s.DefaultAction == "accept" && s.Offer().Version == 4 && s.Offer().Protocol == protoV4
			}},
		{in: "inet:127.0.0.1:1", network: "tcp", addr: "127.0.0.1:1", check: func(s Spec) bool {
			return s.CommandTimeout == DefaultCommandTimeout && s.DefaultAction == "tempfail" && s.Offer().Version == 6 && s.Offer().Protocol == ProtoV6 && s.Offer().Actions == ActAll
		}},
		{in: "tcp:127.0.0.1:8891", err: "invalid transport name: tcp"},
		{in: "127.0.0.1:8891", err: "invalid transport name: 127.0.0.1"},
		{in: "inet:", err: "needs transport:endpoint"},
		{in: "inet:127.0.0.1", err: "want inet:host:port"},
		{in: "inet:127.0.0.1:0", err: "bad port"},
		{in: "inet:127.0.0.1:99999", err: "bad port"},
		{in: "inet:127.0.0.1:1, default_action=bounce", err: "unknown default action"},
		{in: "inet:127.0.0.1:1, protocol=5", err: "bad protocol information"},
		{in: "inet:127.0.0.1:1, command_timeout=0", err: "bad time value"},
		{in: "inet:127.0.0.1:1, command_timeout=5x", err: "bad time unit"},
		{in: "inet:127.0.0.1:1, colour=blue", err: "unknown setting"},
		{in: "inet:127.0.0.1:1, connect_timeout", err: "want name=value"},
	} {
		specs, err := ParseList([]string{tc.in}, def, "/var/spool/postfix")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(specs) != 1 {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		s := specs[0]
		if s.Network != tc.network || s.Address != tc.addr || (tc.check != nil && !tc.check(s)) {
			t.Errorf("%q: %+v", tc.in, s)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want OptNeg
		ok   bool
	}{
		{"6", OptNeg{6, ActAll, ProtoV6}, true},
		{"2", OptNeg{2, ActAll, protoV2}, true},
		{"3", OptNeg{3, ActAll, protoV3}, true},
		{"4 no_header_reply", OptNeg{4, ActAll, protoV4 | ProtoNRHeader}, true},
		{"", OptNeg{}, false},
		{"no_header_reply", OptNeg{}, false},
		{"6 4", OptNeg{}, false},
		{"7", OptNeg{}, false},
	} {
		got, err := ParseProtocol(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseProtocol(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestSanitizeReply(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"550 5.7.1 no", "550 5.7.1 no", true},
		{"451 4.7.1 100%% sure %s", "451 4.7.1 100% sure s", true},
		{"550-5.7.1 a\r\n550 5.7.1 b", "550-5.7.1 a\r\n550 5.7.1 b", true},
		{"550 4.7.1 mixed classes", "", false},
		{"250 ok", "", false},
		{"55", "", false},
		{"550x", "", false},
	} {
		got, ok := sanitizeReply(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("sanitizeReply(%q) = %q, %v", tc.in, got, ok)
		}
	}
}

// The list parser never panics and every accepted entry dials something.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:8891", "unix:private/x", "inet:1@h, connect_timeout=1s, protocol=2 no_header_reply",
		"inet:[::1]:1, default_action=quarantine", "local:", "{", "inet:h:1,,,=", "inet:h:1, command_timeout=99999999999w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseList([]string{s}, DefaultSettings(), "/q")
		if err != nil {
			return
		}
		for _, sp := range specs {
			if sp.Network == "" || sp.Address == "" || sp.Offer().Version == 0 || sp.CommandTimeout <= 0 {
				t.Errorf("%q: accepted %+v", s, sp)
			}
		}
	})
}

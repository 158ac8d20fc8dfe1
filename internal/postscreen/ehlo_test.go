package postscreen

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// The enforce engine's EHLO reply follows the settings Postfix's
// postscreen reads for it.
func TestEHLOReply(t *testing.T) {
	for _, tc := range []struct {
		main, want string
	}{
		{"", "250-mx.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING"},
		{"message_size_limit = 0\ndisable_vrfy_command = yes\nsmtputf8_enable = no\n",
			"250-mx.example\r\n250-SIZE\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING"},
	} {
		cfg := config.New("/nonexistent", config.ParseMain("main.cf", "compatibility_level = 3.6\n"+tc.main))
		got, err := ehloReply(cfg, "mx.example")
		if err != nil || got != tc.want {
			t.Errorf("%q: %q (%v), want %q", tc.main, got, err, tc.want)
		}
	}
}

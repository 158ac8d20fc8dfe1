package master

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver/smtp"
)

// The lmtp_* parameters reach the lmtp agent, with Postfix's lmtp
// defaults where unset, and the queue manager's limits for the lmtp
// transport are lmtp_destination_*.
func TestLMTPConfig(t *testing.T) {
	dir := t.TempDir()
	main := "queue_directory = /var/spool/postern\nmyhostname = mx.example.test\nlmtp_data_done_timeout = 42s\n" +
		"lmtp_tls_security_level = encrypt\nlmtp_sasl_auth_enable = yes\nlmtp_sasl_security_options = noanonymous\n" +
		"lmtp_destination_recipient_limit = 7\nlmtp_destination_concurrency_limit = 3\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := lmtpConfig(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !lc.LMTP || lc.SocketDir != "/var/spool/postern" || lc.HeloName != "mx.example.test" || lc.Port != 24 {
		t.Errorf("LMTP %v, SocketDir %q, HeloName %q, Port %d", lc.LMTP, lc.SocketDir, lc.HeloName, lc.Port)
	}
	want := smtp.Timeouts{Connect: 0, Helo: 300 * time.Second, StartTLS: 300 * time.Second, Mail: 300 * time.Second,
		Rcpt: 300 * time.Second, DataInit: 120 * time.Second, DataXfer: 180 * time.Second, DataDone: 42 * time.Second,
		Rset: 20 * time.Second, Quit: 300 * time.Second}
	if lc.Timeouts != want {
		t.Errorf("timeouts %+v, want %+v", lc.Timeouts, want)
	}
	if lc.TLSLevel != smtp.TLSEncrypt || !lc.SASLEnable || !lc.SASLPlaintext || !lc.ConnectionCache || lc.CacheTimeLimit != 2*time.Second {
		t.Errorf("TLS %v, SASL %v plaintext %v, cache %v %v", lc.TLSLevel, lc.SASLEnable, lc.SASLPlaintext, lc.ConnectionCache, lc.CacheTimeLimit)
	}
	if conc, rcpts := limits(cfg)("lmtp"); conc != 3 || rcpts != 7 {
		t.Errorf("lmtp limits %d, %d; want 3, 7", conc, rcpts)
	}
}

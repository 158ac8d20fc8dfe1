package lmtp

import (
	"time"

	"github.com/postern-mta/postern/internal/deliver/smtp"
)

// DefaultPort is lmtp_tcp_port.
const DefaultPort = 24

// DefaultConfig returns Postfix's lmtp_* defaults (postconf -d) in the
// smtp agent's terms.
func DefaultConfig() smtp.Config {
	c := smtp.DefaultConfig()
	c.LMTP = true
	c.Port = DefaultPort
	c.Timeouts = smtp.Timeouts{
		Connect:  0, // lmtp_connect_timeout = 0s: the kernel's
		Helo:     300 * time.Second,
		StartTLS: 300 * time.Second,
		Mail:     300 * time.Second,
		Rcpt:     300 * time.Second,
		DataInit: 120 * time.Second,
		DataXfer: 180 * time.Second,
		DataDone: 600 * time.Second,
		Rset:     20 * time.Second,
		Quit:     300 * time.Second,
	}
	return c
}

// New returns the lmtp agent for cfg (start from DefaultConfig). The
// settings LMTP has no use for (relayhost, fallback relays, HELO) are
// cleared.
func New(cfg smtp.Config) (*smtp.Agent, error) {
	cfg.LMTP = true
	cfg.Relayhost, cfg.FallbackRelay, cfg.NeverSendEHLO = "", nil, false
	if cfg.Port <= 0 {
		cfg.Port = DefaultPort
	}
	return smtp.New(cfg)
}

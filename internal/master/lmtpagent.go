package master

import (
	"log/slog"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver/lmtp"
	"github.com/postern-mta/postern/internal/deliver/smtp"
)

// lmtpAgent builds the lmtp transport from main.cf's lmtp_* parameters.
func lmtpAgent(cfg *config.Config, log *slog.Logger) (*smtp.Agent, error) {
	lc, err := lmtpConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	return lmtp.New(lc)
}

// lmtpConfig is the lmtp transport's part of main.cf. Relative unix:
// next hops are taken from queue_directory; its connection cache is
// capped as the smtp transport's (fdbudget.go).
func lmtpConfig(cfg *config.Config, log *slog.Logger) (smtp.Config, error) {
	p := params{cfg: cfg}
	lc := lmtp.DefaultConfig()
	lc.SocketDir = p.get("queue_directory")
	lc.MyHostname = p.get("myhostname")
	lc.HeloName = p.get("lmtp_lhlo_name")
	lc.Port = servicePort(p.get("lmtp_tcp_port"), lmtp.DefaultPort)
	protos, err := cfg.Protocols()
	p.keep(err)
	lc.Protocols = protos
	lc.MXAddressLimit = int(p.num("lmtp_mx_address_limit"))
	lc.MXSessionLimit = int(p.num("lmtp_mx_session_limit"))
	lc.LineLimit = int(p.num("lmtp_line_length_limit"))
	lc.MinBackoff = p.dur("minimal_backoff_time")
	lc.Timeouts = smtp.Timeouts{
		Connect: p.dur("lmtp_connect_timeout"), Helo: p.dur("lmtp_lhlo_timeout"),
		Mail: p.dur("lmtp_mail_timeout"), Rcpt: p.dur("lmtp_rcpt_timeout"), DataInit: p.dur("lmtp_data_init_timeout"),
		DataXfer: p.dur("lmtp_data_xfer_timeout"), DataDone: p.dur("lmtp_data_done_timeout"),
		Rset: p.dur("lmtp_rset_timeout"), Quit: p.dur("lmtp_quit_timeout"),
	}
	lc.Timeouts.StartTLS = p.dur("lmtp_starttls_timeout")
	level, err := smtp.ParseTLSLevel(p.get("lmtp_tls_security_level"))
	p.keep(err)
	lc.TLSLevel = level
	lc.TLSCAFile = p.get("lmtp_tls_CAfile")
	lc.TLSServerName = p.get("lmtp_tls_servername")
	lc.SASLEnable = p.bool("lmtp_sasl_auth_enable")
	for _, spec := range p.list("lmtp_sasl_password_maps") {
		lc.SASLMaps = append(lc.SASLMaps, openOrFail(spec))
	}
	lc.SASLPlaintext = smtp.SASLAllowsPlaintext(strings.Join(p.list("lmtp_sasl_security_options"), " "))
	lc.SASLPlaintextTLS = smtp.SASLAllowsPlaintext(strings.Join(p.list("lmtp_sasl_tls_security_options"), " "))
	lc.SASLPlaintextVerified = smtp.SASLAllowsPlaintext(strings.Join(p.list("lmtp_sasl_tls_verified_security_options"), " "))
	lc.SASLMechanismFilter = p.list("lmtp_sasl_mechanism_filter")
	lc.SASLSoftBounce = p.bool("lmtp_sasl_auth_soft_bounce")
	lc.ConnectionCache = p.bool("lmtp_connection_cache_on_demand")
	lc.CacheTimeLimit = p.dur("lmtp_connection_cache_time_limit")
	lc.ReuseTimeLimit = p.dur("lmtp_connection_reuse_time_limit")
	lc.ReuseCountLimit = int(p.num("lmtp_connection_reuse_count_limit"))
	lc.CacheMaxIdle = cacheMaxIdle(int(p.num("default_process_limit")))
	lc.Log = log.With("program", "postern/lmtp")
	return lc, p.err
}

package master

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver/smtp"
)

// smtpAgent builds the smtp (and relay) transport from main.cf.
func smtpAgent(cfg *config.Config, log *slog.Logger) (*smtp.Agent, error) {
	sc, err := smtpConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	return smtp.New(sc)
}

// smtpConfig is the smtp transport's part of main.cf. Its connection
// cache is capped by the file descriptor budget (fdbudget.go).
func smtpConfig(cfg *config.Config, log *slog.Logger) (smtp.Config, error) {
	p := params{cfg: cfg}
	sc := smtp.DefaultConfig()
	sc.MyHostname = p.get("myhostname")
	sc.HeloName = p.get("smtp_helo_name")
	sc.Port = servicePort(p.get("smtp_tcp_port"), 25)
	sc.Relayhost = p.get("relayhost")
	sc.FallbackRelay = p.list("smtp_fallback_relay")
	protos, err := cfg.Protocols()
	p.keep(err)
	sc.Protocols = protos
	own, err := cfg.OwnAddresses(context.Background())
	p.keep(err)
	sc.OwnAddrs = own
	for _, a := range p.list("proxy_interfaces") {
		if ip, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
			sc.ProxyAddrs = append(sc.ProxyAddrs, ip)
		}
	}
	sc.BindAddress4, _ = netip.ParseAddr(p.get("smtp_bind_address"))
	sc.BindAddress6, _ = netip.ParseAddr(strings.Trim(p.get("smtp_bind_address6"), "[]"))
	sc.BindAddressEnforce = p.bool("smtp_bind_address_enforce")
	sc.MXAddressLimit = int(p.num("smtp_mx_address_limit"))
	sc.MXSessionLimit = int(p.num("smtp_mx_session_limit"))
	sc.NeverSendEHLO = p.bool("smtp_never_send_ehlo")
	sc.LineLimit = int(p.num("smtp_line_length_limit"))
	sc.MinBackoff = p.dur("minimal_backoff_time")
	sc.Timeouts = smtp.Timeouts{
		Connect: p.dur("smtp_connect_timeout"), Helo: p.dur("smtp_helo_timeout"), StartTLS: p.dur("smtp_starttls_timeout"),
		Mail: p.dur("smtp_mail_timeout"), Rcpt: p.dur("smtp_rcpt_timeout"), DataInit: p.dur("smtp_data_init_timeout"),
		DataXfer: p.dur("smtp_data_xfer_timeout"), DataDone: p.dur("smtp_data_done_timeout"),
		Rset: p.dur("smtp_rset_timeout"), Quit: p.dur("smtp_quit_timeout"),
	}
	level, err := smtp.ParseTLSLevel(p.get("smtp_tls_security_level"))
	p.keep(err)
	sc.TLSLevel = level
	sc.TLSCAFile = p.get("smtp_tls_CAfile")
	sc.TLSServerName = p.get("smtp_tls_servername")
	sc.SASLEnable = p.bool("smtp_sasl_auth_enable")
	for _, spec := range p.list("smtp_sasl_password_maps") {
		sc.SASLMaps = append(sc.SASLMaps, openOrFail(spec))
	}
	sc.SASLPlaintext = smtp.SASLAllowsPlaintext(strings.Join(p.list("smtp_sasl_security_options"), " "))
	sc.SASLPlaintextTLS = smtp.SASLAllowsPlaintext(strings.Join(p.list("smtp_sasl_tls_security_options"), " "))
	sc.SASLPlaintextVerified = smtp.SASLAllowsPlaintext(strings.Join(p.list("smtp_sasl_tls_verified_security_options"), " "))
	sc.SASLMechanismFilter = p.list("smtp_sasl_mechanism_filter")
	sc.SASLSoftBounce = p.bool("smtp_sasl_auth_soft_bounce")
	sc.ConnectionCache = p.bool("smtp_connection_cache_on_demand")
	sc.CacheTimeLimit = p.dur("smtp_connection_cache_time_limit")
	sc.ReuseTimeLimit = p.dur("smtp_connection_reuse_time_limit")
	sc.ReuseCountLimit = int(p.num("smtp_connection_reuse_count_limit"))
	sc.CacheMaxIdle = cacheMaxIdle(int(p.num("default_process_limit")))
	sc.Log = log.With("program", "postern/smtp")
	return sc, p.err
}

// servicePort is smtp_tcp_port or lmtp_tcp_port: a number or a service
// name; def when neither.
func servicePort(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if n, err := net.LookupPort("tcp", s); err == nil {
		return n
	}
	return def
}

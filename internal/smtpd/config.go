package smtpd

import (
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/smtpio"
)

// Config is what the session needs from main.cf, read once per
// configuration generation.
type Config struct {
	Hostname         string
	Banner           string
	MailName         string
	MessageSizeLimit int64
	RecipientLimit   int
	// RecipientOvershoot: smtpd_recipient_overshoot_limit.
	RecipientOvershoot int
	Timeout            time.Duration
	HardErrorLimit     int
	SoftErrorLimit     int
	// JunkLimit: smtpd_junk_command_limit.
	JunkLimit int
	// Anvil: the per-client count and rate limits (anvil.go).
	Anvil AnvilConfig
	// PerRequestDeadline and MinDataRate: smtpd_per_request_deadline and
	// smtpd_min_data_rate (bytes per second), see connReader.
	PerRequestDeadline bool
	MinDataRate        int64
	ErrorSleep         time.Duration
	DelayReject        bool
	HeloRequired       bool
	DisableVRFY        bool
	SMTPUTF8           bool
	LineLimit          int
	// BareNewline is smtpd_forbid_bare_newline (Postfix 3.9 meanings:
	// normalize, note and yes normalize; reject refuses; no is legacy).
	BareNewline    smtpio.BareNewline
	BareRejectCode int
	// RelayFirst: smtpd_relay_before_recipient_restrictions.
	RelayFirst bool
	// ForbidUnauthPipelining: smtpd_forbid_unauth_pipelining (Postfix
	// 3.9 default yes): a pipelining violation gets 554 and a hang-up.
	ForbidUnauthPipelining bool
	// ReplaceStrayCRLF: cleanup_replace_stray_cr_lf (internal/straycrlf).
	ReplaceStrayCRLF bool
	// HopcountLimit: hopcount_limit. A message with this many Received:
	// lines, the server's own included, is refused as a mail loop.
	HopcountLimit int
	// Forbidden: smtpd_forbidden_commands, upper-cased names; and
	// ForbidNonLetter: its default regexp table (config.ForbiddenNonLetter).
	Forbidden       map[string]bool
	ForbidNonLetter bool
	// AllowMinUser: allow_min_user (address.Options.AllowMinUser).
	AllowMinUser bool
	// TLSLevel is smtpd_tls_security_level with the legacy
	// smtpd_use_tls/smtpd_enforce_tls folded in: "" (none), "may" or
	// "encrypt".
	TLSLevel string
	// TLSWrapper: smtpd_tls_wrappermode (port 465): the handshake comes
	// before the greeting, and TLSLevel is "encrypt".
	TLSWrapper bool
	// StartTLSTimeout: smtpd_starttls_timeout, the time the handshake
	// may take.
	StartTLSTimeout time.Duration
	// TLSLogLevel: smtpd_tls_loglevel (1 and more log each handshake).
	TLSLogLevel int
	// TLSReceivedHeader: smtpd_tls_received_header.
	TLSReceivedHeader bool
	// AskCCert: ask the client for a certificate (smtpd_tls_ask_ccert,
	// or smtpd_tls_req_ccert at encrypt). ReqCCert: smtpd_tls_req_ccert
	// at encrypt; Postfix ignores it at may.
	AskCCert, ReqCCert bool
	// FingerprintDigest: smtpd_tls_fingerprint_digest (md5, sha1, sha256).
	FingerprintDigest string
	// Auth: SMTP AUTH (authconfig.go).
	Auth AuthConfig
}

// StressConfigFrom is ConfigFrom with stress = yes, as Postfix's master
// sets it for the smtpd processes it starts while a service is at its
// process limit: ${stress?...} defaults give shorter timeouts and lower
// error limits. It is read once per configuration, next to ConfigFrom.
func StressConfigFrom(cfg *config.Config) (*Config, error) {
	return ConfigFrom(cfg.With("stress", "yes"))
}

// ConfigFrom reads the session settings, failing on the first bad value.
func ConfigFrom(cfg *config.Config) (*Config, error) {
	c := &Config{}
	var err error
	get := func(name string, dst *string) {
		if err == nil {
			*dst, err = cfg.Get(name)
		}
	}
	getInt := func(name string, dst *int) {
		if err == nil {
			var n int64
			n, err = cfg.Int(name)
			*dst = int(n)
		}
	}
	getBool := func(name string, dst *bool) {
		if err == nil {
			*dst, err = cfg.Bool(name)
		}
	}
	getDur := func(name string, dst *time.Duration) {
		if err == nil {
			*dst, err = cfg.Duration(name)
		}
	}
	get("myhostname", &c.Hostname)
	get("smtpd_banner", &c.Banner)
	get("mail_name", &c.MailName)
	var bare string
	get("smtpd_forbid_bare_newline", &bare)
	if err == nil {
		c.BareNewline, err = smtpio.ParseBareNewline(bare)
	}
	getInt("smtpd_forbid_bare_newline_reject_code", &c.BareRejectCode)
	var size int
	getInt("message_size_limit", &size)
	c.MessageSizeLimit = int64(size)
	getInt("smtpd_recipient_limit", &c.RecipientLimit)
	getInt("smtpd_recipient_overshoot_limit", &c.RecipientOvershoot)
	getInt("smtpd_hard_error_limit", &c.HardErrorLimit)
	getInt("smtpd_soft_error_limit", &c.SoftErrorLimit)
	getInt("smtpd_junk_command_limit", &c.JunkLimit)
	var rate int
	getInt("smtpd_min_data_rate", &rate)
	c.MinDataRate = int64(rate)
	getBool("smtpd_per_request_deadline", &c.PerRequestDeadline)
	getInt("line_length_limit", &c.LineLimit)
	getDur("smtpd_timeout", &c.Timeout)
	getDur("smtpd_error_sleep_time", &c.ErrorSleep)
	getBool("smtpd_delay_reject", &c.DelayReject)
	getBool("smtpd_helo_required", &c.HeloRequired)
	getBool("disable_vrfy_command", &c.DisableVRFY)
	getBool("smtputf8_enable", &c.SMTPUTF8)
	getBool("smtpd_relay_before_recipient_restrictions", &c.RelayFirst)
	getBool("smtpd_forbid_unauth_pipelining", &c.ForbidUnauthPipelining)
	getBool("cleanup_replace_stray_cr_lf", &c.ReplaceStrayCRLF)
	getInt("hopcount_limit", &c.HopcountLimit)
	getBool("allow_min_user", &c.AllowMinUser)
	if err == nil {
		err = c.readTLS(cfg)
	}
	if err == nil {
		var names []string
		names, err = cfg.List("smtpd_forbidden_commands")
		c.Forbidden = map[string]bool{}
		for _, n := range names {
			if n == config.ForbiddenNonLetter {
				c.ForbidNonLetter = true
			} else {
				c.Forbidden[strings.ToUpper(n)] = true
			}
		}
	}
	if err == nil {
		c.Auth, err = readAuthConfig(cfg)
	}
	if err == nil {
		c.Anvil, err = readAnvilConfig(cfg)
	}
	return c, err
}

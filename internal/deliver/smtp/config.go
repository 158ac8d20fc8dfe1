package smtp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/maps"
)

// Resolver is the DNS the agent uses; *net.Resolver implements it, so
// tests point the agent at a server of their own with a custom Dial.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// TLSLevel is smtp_tls_security_level.
type TLSLevel int

// The levels postern supports, weakest first.
const (
	TLSNone    TLSLevel = iota // no STARTTLS
	TLSMay                     // STARTTLS when offered, plaintext otherwise
	TLSEncrypt                 // STARTTLS required, certificate not checked
	TLSVerify                  // and the certificate must name the server host
	TLSSecure                  // and the certificate must name the next-hop domain
)

var tlsLevelNames = []string{"none", "may", "encrypt", "verify", "secure"}

func (l TLSLevel) String() string {
	if l >= 0 && int(l) < len(tlsLevelNames) {
		return tlsLevelNames[l]
	}
	return fmt.Sprintf("TLSLevel(%d)", int(l))
}

// ParseTLSLevel parses smtp_tls_security_level; empty is "none", as in
// Postfix. dane, fingerprint and the rest are not supported.
func ParseTLSLevel(s string) (TLSLevel, error) {
	if s == "" {
		return TLSNone, nil
	}
	for i, n := range tlsLevelNames {
		if strings.EqualFold(s, n) {
			return TLSLevel(i), nil
		}
	}
	return TLSNone, fmt.Errorf("unsupported smtp_tls_security_level %q", s)
}

// SASLAllowsPlaintext reports whether a smtp_sasl_*security_options value
// permits plaintext mechanisms (PLAIN, LOGIN): it does unless it names
// noplaintext. Postfix's default, "noplaintext, noanonymous", does not.
func SASLAllowsPlaintext(options string) bool {
	for _, f := range inetaddr.Fields(options) {
		if strings.EqualFold(f, "noplaintext") {
			return false
		}
	}
	return true
}

// Timeouts are the smtp_*_timeout parameters. Each applies to every read
// or write of its stage, as Postfix's do. A zero field takes Postfix's
// default.
type Timeouts struct {
	Connect  time.Duration // smtp_connect_timeout 30s
	Helo     time.Duration // smtp_helo_timeout 300s: greeting, EHLO/HELO, AUTH
	StartTLS time.Duration // smtp_starttls_timeout 300s
	Mail     time.Duration // smtp_mail_timeout 300s
	Rcpt     time.Duration // smtp_rcpt_timeout 300s
	DataInit time.Duration // smtp_data_init_timeout 120s
	DataXfer time.Duration // smtp_data_xfer_timeout 180s
	DataDone time.Duration // smtp_data_done_timeout 600s
	Rset     time.Duration // smtp_rset_timeout 20s
	Quit     time.Duration // smtp_quit_timeout 300s
}

// Config is the agent's share of main.cf. Start from DefaultConfig:
// zero numbers take Postfix's defaults, but zero booleans mean "no".
type Config struct {
	// LMTP makes the agent Postfix's lmtp(8) (smtp_mode off; see
	// internal/deliver/lmtp, which sets it): LHLO instead of EHLO, one
	// reply per accepted recipient after the end of data, next hops
	// "unix:path" (relative to SocketDir) or "[inet:]host[:port]" (Port
	// by default, no MX lookup, no mail-loop detection, no relayhost or
	// fallback relay), and a zero Timeouts.Connect means no timeout (the
	// kernel's), as lmtp_connect_timeout = 0s does.
	LMTP      bool
	SocketDir string // queue_directory: base of relative unix: paths

	MyHostname string // myhostname: an EHLO reply naming it is a mail loop; relay= host of unix: next hops
	HeloName   string // smtp_helo_name (default MyHostname, else "localhost")
	Port       int    // smtp_tcp_port (25); loops are detected only on 25
	// Relayhost and FallbackRelay (smtp_fallback_relay, tried after the
	// next hop) are the configured relays: a hard failure to reach them
	// is a configuration problem and defers (4.3.5) instead of bouncing.
	Relayhost     string
	FallbackRelay []string

	Protocols inetaddr.Protocols // inet_protocols: which of A and AAAA to use
	// OwnAddrs (inet_interfaces, expanded) and ProxyAddrs
	// (proxy_interfaces) are this host: an MX among them is a loop. When
	// OwnAddrs has exactly one non-loopback address of a family and no
	// bind address is set for it, connections of that family come from it.
	OwnAddrs           []netip.Addr
	ProxyAddrs         []netip.Addr
	BindAddress4       netip.Addr // smtp_bind_address
	BindAddress6       netip.Addr // smtp_bind_address6
	BindAddressEnforce bool       // smtp_bind_address_enforce: defer when the bind fails

	MXAddressLimit int  // smtp_mx_address_limit (5)
	MXSessionLimit int  // smtp_mx_session_limit (2)
	NeverSendEHLO  bool // smtp_never_send_ehlo
	LineLimit      int  // smtp_line_length_limit (998): longer lines are folded
	Timeouts       Timeouts
	// MinBackoff is minimal_backoff_time (300s): at level "may", a message
	// at least this old is retried in plaintext after a failed TLS
	// handshake (Postfix's PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_FAILURE).
	MinBackoff time.Duration

	TLSLevel TLSLevel // smtp_tls_security_level
	// TLSCAFile is smtp_tls_CAfile (PEM); empty: the system's roots.
	TLSCAFile string
	// TLSServerName is smtp_tls_servername, the SNI sent: "" (none, the
	// Postfix default), "hostname" (the server's host name), "nexthop"
	// (the next-hop domain) or a literal name.
	TLSServerName string

	SASLEnable bool         // smtp_sasl_auth_enable
	SASLMaps   []maps.Table // smtp_sasl_password_maps: "user:password" by host, then by next hop
	// SASLPlaintext* say whether PLAIN and LOGIN may be used on a
	// plaintext session (smtp_sasl_security_options), a TLS session
	// (smtp_sasl_tls_security_options) and a verified TLS session
	// (smtp_sasl_tls_verified_security_options); see SASLAllowsPlaintext.
	SASLPlaintext         bool
	SASLPlaintextTLS      bool
	SASLPlaintextVerified bool
	SASLMechanismFilter   []string // smtp_sasl_mechanism_filter; empty: any
	SASLSoftBounce        bool     // smtp_sasl_auth_soft_bounce: 5xx AUTH replies defer

	// ConnectionCache keeps idle sessions for reuse
	// (smtp_connection_cache_on_demand); CacheTimeLimit is how long one
	// stays idle (smtp_connection_cache_time_limit, 2s), ReuseTimeLimit
	// how old a session may be to take another message
	// (smtp_connection_reuse_time_limit, 300s), ReuseCountLimit how many
	// times it may be reused (smtp_connection_reuse_count_limit, 0: any).
	// CacheMaxIdle bounds the idle sessions kept in all
	// (DefaultCacheMaxIdle); each holds a descriptor outside any
	// delivery, which the master's file descriptor budget counts.
	ConnectionCache bool
	CacheTimeLimit  time.Duration
	ReuseTimeLimit  time.Duration
	ReuseCountLimit int
	CacheMaxIdle    int

	Resolver Resolver     // nil: net.DefaultResolver
	Dialer   *net.Dialer  // nil: a plain one; tests may set Control
	Log      *slog.Logger // info lines (skipped hosts, TLS); nil: none

	tlsMaxVersion uint16 // tests: make handshakes fail
}

// DefaultCacheMaxIdle is the default bound on idle cached sessions.
const DefaultCacheMaxIdle = 100

// FDsPerDelivery is the most file descriptors one delivery holds at
// once, besides the queue file: its connection, and while an address
// lookup runs the sockets of the parallel A and AAAA queries
// (LookupNetIP "ip") and /etc/hosts. The master's file descriptor
// budget reserves this many per delivery.
const FDsPerDelivery = 4

// DefaultConfig returns Postfix's defaults.
func DefaultConfig() Config {
	return Config{
		Port:            25,
		Protocols:       inetaddr.Protocols{IPv4: true, IPv6: true},
		MXAddressLimit:  5,
		MXSessionLimit:  2,
		LineLimit:       998,
		Timeouts:        defaultTimeouts,
		MinBackoff:      300 * time.Second,
		SASLSoftBounce:  true,
		ConnectionCache: true,
		CacheTimeLimit:  2 * time.Second,
		ReuseTimeLimit:  300 * time.Second,
		CacheMaxIdle:    DefaultCacheMaxIdle,
	}
}

var defaultTimeouts = Timeouts{
	Connect:  30 * time.Second,
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

// withDefaults fills zero numbers with Postfix's defaults.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt(&c.Port, def.Port)
	setInt(&c.MXAddressLimit, def.MXAddressLimit)
	setInt(&c.MXSessionLimit, def.MXSessionLimit)
	setInt(&c.LineLimit, def.LineLimit)
	setInt(&c.CacheMaxIdle, def.CacheMaxIdle)
	t, d := &c.Timeouts, defaultTimeouts
	for _, p := range []struct {
		v *time.Duration
		d time.Duration
	}{{&t.Helo, d.Helo}, {&t.StartTLS, d.StartTLS}, {&t.Mail, d.Mail},
		{&t.Rcpt, d.Rcpt}, {&t.DataInit, d.DataInit}, {&t.DataXfer, d.DataXfer},
		{&t.DataDone, d.DataDone}, {&t.Rset, d.Rset}, {&t.Quit, d.Quit}} {
		setDur(p.v, p.d)
	}
	if !c.LMTP {
		setDur(&t.Connect, d.Connect)
	}
	setDur(&c.MinBackoff, def.MinBackoff)
	setDur(&c.CacheTimeLimit, def.CacheTimeLimit)
	setDur(&c.ReuseTimeLimit, def.ReuseTimeLimit)
	if c.HeloName == "" {
		c.HeloName = c.MyHostname
	}
	if c.HeloName == "" {
		c.HeloName = "localhost"
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Dialer == nil {
		c.Dialer = &net.Dialer{}
	}
	return c
}

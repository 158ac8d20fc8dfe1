package postscreen

import (
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// Action is what a failed test leads to.
type Action int

// The actions of postscreen_*_action.
const (
	Ignore Action = iota
	Enforce
	Drop
)

func (a Action) String() string {
	return [...]string{"ignore", "enforce", "drop"}[a]
}

// ParseAction reads ignore, enforce or drop.
func ParseAction(v string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "ignore":
		return Ignore, nil
	case "enforce":
		return Enforce, nil
	case "drop":
		return Drop, nil
	}
	return Ignore, fmt.Errorf("%q is not one of ignore, enforce, drop", v)
}

// Config is a postscreen service's settings.
type Config struct {
	AccessList      []string // permit_mynetworks or type:table, in order
	BlacklistAction Action
	GreetAction     Action
	GreetWait       time.Duration
	GreetBanner     string // "": no 220- line
	GreetTTL        time.Duration
	CacheRetention  time.Duration
	CacheMap        CacheMap      // postscreen_cache_map
	CacheCleanup    time.Duration // postscreen_cache_cleanup_interval; 0: never
	CacheLimit      int           // postscreen_cache_size_limit; 0: none
	SMTPBanner      string        // smtpd_banner, the dummy engine's 220 line
	DNSBLSites      []Site
	DNSBLThreshold  int
	DNSBLAllowlist  int // postscreen_dnsbl_allowlist_threshold; 0: off
	DNSBLAction     Action
	DNSBLTTL        time.Duration // postscreen_dnsbl_max_ttl
	DNSBLTimeout    time.Duration
	Timeout         time.Duration
	// The deep protocol tests (deep.go) and the dummy SMTP engine
	// that runs them (engine.go).
	Pipelining, NonSMTP, BareNewline DeepTest
	Engine                           Engine
	ConnLimit                        int // postscreen_client_connection_count_limit; 0: none
	PreQueueLimit                    int // postscreen_pre_queue_limit; 0: none
	PostQueueLimit                   int // postscreen_post_queue_limit; 0: none
}

// OtherParams are the parameters besides postscreen_* that a postscreen
// service reads (its dummy SMTP engine's greeting, EHLO reply and
// limits): a master.cf -o of one of them applies to the service.
var OtherParams = []string{"smtpd_banner", "myhostname", "line_length_limit", "message_size_limit", "smtputf8_enable"}

// ConfigFrom reads the settings from cfg (main.cf overridden by the
// service's -o options).
func ConfigFrom(cfg *config.Config) (*Config, error) {
	c := &Config{}
	var err error
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"postscreen_greet_wait", &c.GreetWait}, {"postscreen_greet_ttl", &c.GreetTTL},
		{"postscreen_cache_retention_time", &c.CacheRetention}, {"smtpd_timeout", &c.Timeout},
		{"postscreen_cache_cleanup_interval", &c.CacheCleanup},
		{"postscreen_dnsbl_max_ttl", &c.DNSBLTTL}, {"postscreen_dnsbl_timeout", &c.DNSBLTimeout}} {
		if *p.dst, err = cfg.Duration(p.name); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		name string
		dst  *Action
	}{{"postscreen_denylist_action", &c.BlacklistAction}, {"postscreen_greet_action", &c.GreetAction},
		{"postscreen_dnsbl_action", &c.DNSBLAction}} {
		v, err := cfg.Get(p.name)
		if err == nil {
			*p.dst, err = ParseAction(v)
		}
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.name, err)
		}
	}
	if c.AccessList, err = cfg.List("postscreen_access_list"); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"postscreen_dnsbl_threshold", &c.DNSBLThreshold}, {"postscreen_dnsbl_allowlist_threshold", &c.DNSBLAllowlist},
		{"postscreen_client_connection_count_limit", &c.ConnLimit}, {"postscreen_pre_queue_limit", &c.PreQueueLimit},
		{"postscreen_post_queue_limit", &c.PostQueueLimit},
		{"postscreen_cache_size_limit", &c.CacheLimit}} {
		n, err := cfg.Int(p.name)
		if err != nil {
			return nil, err
		}
		*p.dst = int(n)
	}
	sites, err := cfg.List("postscreen_dnsbl_sites")
	if err != nil {
		return nil, err
	}
	if c.DNSBLSites, err = ParseSites(sites); err != nil {
		return nil, err
	}
	m, err := cfg.Get("postscreen_cache_map")
	if err == nil {
		c.CacheMap, err = ParseCacheMap(m)
	}
	if err != nil {
		return nil, fmt.Errorf("parameter postscreen_cache_map: %w", err)
	}
	if c.GreetBanner, err = cfg.Get("postscreen_greet_banner"); err != nil {
		return nil, err
	}
	if c.SMTPBanner, err = cfg.Get("smtpd_banner"); err != nil {
		return nil, err
	}
	if err := c.readDeep(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

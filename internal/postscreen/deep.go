package postscreen

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// DeepTest is one of the deep protocol tests the dummy SMTP engine runs
// after the 220 greeting: postscreen_pipelining_*,
// postscreen_non_smtp_command_* or postscreen_bare_newline_*.
type DeepTest struct {
	Enable bool
	Action Action
	TTL    time.Duration // how long a pass counts
}

// Engine is the dummy SMTP engine's settings (engine.go).
type Engine struct {
	MyHostname        string
	CommandCountLimit int           // postscreen_command_count_limit
	CommandTimeLimit  time.Duration // postscreen_command_time_limit
	LineLimit         int           // line_length_limit
	HeloRequired      bool          // postscreen_helo_required
	DisableVRFY       bool          // postscreen_disable_vrfy_command
	// Forbidden are postscreen_forbidden_commands, upper case;
	// ForbidNonLetter: the default regexp table (a command that does
	// not start with a letter).
	Forbidden       map[string]bool
	ForbidNonLetter bool
	CommandFilter   string          // postscreen_command_filter: "" or one type:table
	DiscardEHLO     map[string]bool // postscreen_discard_ehlo_keywords, upper case
	MessageSize     int64           // message_size_limit, for the SIZE keyword
	SMTPUTF8        bool            // smtputf8_enable
}

// The bits of a test set.
type tests uint8

const (
	tPregreet tests = 1 << iota
	tDNSBL
	tPipelining
	tNonSMTP
	tBareNewline
	tDeep = tPipelining | tNonSMTP | tBareNewline
)

// dnsblMinTTL is Postfix's postscreen_dnsbl_min_ttl default: it takes
// part in the lifetime of an ignored deep test failure.
const dnsblMinTTL = 60 * time.Second

// readDeep reads the deep tests and the engine settings.
func (c *Config) readDeep(cfg *config.Config) error {
	for _, d := range []struct {
		name string
		dst  *DeepTest
	}{{"pipelining", &c.Pipelining}, {"non_smtp_command", &c.NonSMTP}, {"bare_newline", &c.BareNewline}} {
		p := "postscreen_" + d.name
		var err error
		if d.dst.Enable, err = cfg.Bool(p + "_enable"); err != nil {
			return err
		}
		if d.dst.TTL, err = cfg.Duration(p + "_ttl"); err != nil {
			return err
		}
		v, err := cfg.Get(p + "_action")
		if err == nil {
			d.dst.Action, err = ParseAction(v)
		}
		if err != nil {
			return fmt.Errorf("parameter %s_action: %w", p, err)
		}
	}
	e := &c.Engine
	var err error
	if e.MyHostname, err = cfg.Get("myhostname"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"postscreen_command_count_limit", &e.CommandCountLimit}, {"line_length_limit", &e.LineLimit}} {
		n, err := cfg.Int(p.name)
		if err != nil {
			return err
		}
		*p.dst = int(n)
	}
	if e.MessageSize, err = cfg.Int("message_size_limit"); err != nil {
		return err
	}
	if e.CommandTimeLimit, err = cfg.Duration("postscreen_command_time_limit"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"postscreen_helo_required", &e.HeloRequired}, {"postscreen_disable_vrfy_command", &e.DisableVRFY}, {"smtputf8_enable", &e.SMTPUTF8}} {
		if *p.dst, err = cfg.Bool(p.name); err != nil {
			return err
		}
	}
	names, err := cfg.List("postscreen_forbidden_commands")
	if err != nil {
		return err
	}
	e.Forbidden = map[string]bool{}
	for _, n := range names {
		if n == config.ForbiddenNonLetter {
			e.ForbidNonLetter = true
		} else {
			e.Forbidden[strings.ToUpper(n)] = true
		}
	}
	if e.CommandFilter, err = cfg.Get("postscreen_command_filter"); err != nil {
		return err
	}
	e.CommandFilter = strings.TrimSpace(e.CommandFilter)
	words, err := cfg.List("postscreen_discard_ehlo_keywords")
	if err != nil {
		return err
	}
	e.DiscardEHLO = map[string]bool{}
	for _, w := range words {
		e.DiscardEHLO[strings.ToUpper(w)] = true
	}
	return nil
}

// enabled is the set of tests this service runs.
func (s *Screen) enabled() tests {
	t := tPregreet
	if len(s.Config.DNSBLSites) > 0 {
		t |= tDNSBL
	}
	for _, d := range []struct {
		d   DeepTest
		bit tests
	}{{s.Config.Pipelining, tPipelining}, {s.Config.NonSMTP, tNonSMTP}, {s.Config.BareNewline, tBareNewline}} {
		if d.d.Enable {
			t |= d.bit
		}
	}
	return t
}

// stamp is the field of r that keeps test's expiry.
func stamp(r *Record, test tests) *time.Time {
	switch test {
	case tPregreet:
		return &r.Pregreet
	case tDNSBL:
		return &r.DNSBL
	case tPipelining:
		return &r.Pipelining
	case tNonSMTP:
		return &r.NonSMTP
	}
	return &r.BareNewline
}

// todo is the set of enabled tests whose pass in r is not valid at now,
// and whether one of them was never passed (a "new" client).
func (s *Screen) todo(r Record, now time.Time) (todo tests, fresh bool) {
	enabled := s.enabled()
	for t := tPregreet; t <= tBareNewline; t <<= 1 {
		if enabled&t == 0 {
			continue
		}
		at := *stamp(&r, t)
		if !now.Before(at) {
			todo |= t
		}
		fresh = fresh || at.IsZero()
	}
	return todo, fresh
}

// ttl is how long a pass of test counts.
func (s *Screen) ttl(test tests) time.Duration {
	switch test {
	case tPregreet:
		return s.Config.GreetTTL
	case tDNSBL:
		return s.Config.DNSBLTTL
	}
	return s.deep(test).TTL
}

// deep is the settings of a deep test.
func (s *Screen) deep(test tests) DeepTest {
	switch test {
	case tPipelining:
		return s.Config.Pipelining
	case tNonSMTP:
		return s.Config.NonSMTP
	}
	return s.Config.BareNewline
}

// minTTL is the lifetime of an ignored deep test failure: the shortest
// of the tests' lifetimes, as Postfix's psc_min_ttl.
func (s *Screen) minTTL() time.Duration {
	m := min(s.Config.GreetTTL, dnsblMinTTL)
	for _, t := range []tests{tPipelining, tNonSMTP, tBareNewline} {
		m = min(m, s.deep(t).TTL)
	}
	return m
}

// tally is one session's test results, Postfix's per-session flags.
type tally struct {
	todo   tests  // the tests this session runs
	pass   tests  // passed (deep tests: tentatively, until RCPT)
	fail   tests  // failed (drop or enforce)
	skip   tests  // deep tests decided already (failed or ignored)
	fresh  bool   // some enabled test was never passed: "PASS NEW"
	denied bool   // denylisted, or a failure that was not ignored
	rec    Record // the cache record, updated as tests pass
}

// passTest records that test passed, valid until until.
func (t *tally) passTest(test tests, until time.Time) {
	t.pass |= test
	*stamp(&t.rec, test) = until
}

// failTest records a failure that is not ignored.
func (t *tally) failTest(test tests) {
	t.fail |= test
	t.pass &^= test
	t.skip |= test
	t.denied = true
	*stamp(&t.rec, test) = time.Time{}
}

// conclude logs PASS NEW (or OLD) when every test of the session passed
// and none failed, and caches what passed.
func (s *session) conclude(client netip.AddrPort, t *tally) {
	if t.denied {
		return
	}
	if t.pass != 0 && t.pass&t.todo == t.todo {
		word := "OLD"
		if t.fresh {
			word = "NEW"
		}
		s.Log.Info(fmt.Sprintf("PASS %s %s", word, bracket(client)))
	}
	if t.pass != 0 {
		s.Cache.Put(client.Addr(), t.rec, s.now(), s.Config.CacheRetention)
	}
}

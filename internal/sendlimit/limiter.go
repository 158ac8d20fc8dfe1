package sendlimit

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/config"
)

// Table is a lookup table (internal/maps.Table).
type Table interface {
	Lookup(key string) (value string, found bool, err error)
}

// Limiter applies sender_rate_limit_maps: Tables map a sender key to
// its rules (the first table that has the key decides), Counter
// counts. Every service of a process shares one Counter, across
// reloads.
type Limiter struct {
	Spec    string // the parameter's value, for messages
	Tables  []Table
	Counter *Counter

	parsed sync.Map // table value → []Rule
}

// Keys of the table (see the package doc for their order).
const (
	// NullSender is the key of the null sender (MAIL FROM:<>), as
	// Postfix's smtpd_null_access_lookup_key.
	NullSender = "<>"
	// CatchAll is the entry of every sender that no other key finds:
	// one budget that all of them share.
	CatchAll = "*"
)

// UIDKey is the key of a local submitter (sendmail): "uid:N".
func UIDKey(uid int) string { return "uid:" + strconv.Itoa(uid) }

// ClientKey is the key of an SMTP client that did not authenticate:
// "client:" and its address; an IPv6 address counts by its /64
// network as anvil does ("client:2001:db8:1:2::/64"), an IPv4-mapped
// one as IPv4.
func ClientKey(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "client:" + p.String()
	}
	return "client:" + addr.String()
}

// SenderKey is the key of a sender address: its domain in lower case,
// NullSender for the null sender; "" (not looked up: the sender counts
// as unlisted) for an address without a domain or with one that could
// pass for another kind of key ("*", "uid:0", "client:…").
func SenderKey(sender string) string {
	if sender == "" {
		return NullSender
	}
	i := strings.LastIndexByte(sender, '@')
	if i < 0 {
		return ""
	}
	d := strings.ToLower(sender[i+1:])
	if strings.ContainsAny(d, "*<>") || (strings.Contains(d, ":") && !strings.HasPrefix(d, "[")) {
		return ""
	}
	return d
}

// Match looks the keys up in order, skipping empty ones, then
// CatchAll, and returns the first key found with its rules; key is ""
// when none is. A table error or a bad value is an error: the caller
// defers the mail.
func (l *Limiter) Match(keys ...string) (key string, rules []Rule, err error) {
	for i := 0; i <= len(keys); i++ {
		k := CatchAll
		if i < len(keys) {
			k = keys[i]
		}
		if k == "" {
			continue
		}
		v, found, err := l.lookup(k)
		if err != nil {
			return "", nil, fmt.Errorf("%s lookup of %q: %w", l.Spec, k, err)
		}
		if !found {
			continue
		}
		if r, ok := l.parsed.Load(v); ok {
			return k, r.([]Rule), nil
		}
		rules, err := ParseRules(v)
		if err != nil {
			return "", nil, fmt.Errorf("%s: key %q: %w", l.Spec, k, err)
		}
		l.parsed.Store(v, rules)
		return k, rules, nil
	}
	return "", nil, nil
}

// Verdict is the outcome of Message or Recipient.
type Verdict struct {
	Key  string // the table key counted, "" if none matched
	Over bool   // over Rule
	Rule Rule
}

// Message counts one message of the first matching key.
func (l *Limiter) Message(keys ...string) (Verdict, error) { return l.take(1, 0, keys) }

// Recipients counts n recipients of the first matching key.
func (l *Limiter) Recipients(n int, keys ...string) (Verdict, error) { return l.take(0, n, keys) }

// Submission counts one message and its n recipients of the first
// matching key at once, all or nothing (pickup: a whole message).
func (l *Limiter) Submission(n int, keys ...string) (Verdict, error) { return l.take(1, n, keys) }

func (l *Limiter) take(msgs, rcpts int, keys []string) (Verdict, error) {
	key, rules, err := l.Match(keys...)
	if err != nil || key == "" {
		return Verdict{}, err
	}
	r, ok := l.Counter.Take(key, msgs, rcpts, rules)
	return Verdict{Key: key, Over: !ok, Rule: r}, nil
}

func (l *Limiter) lookup(k string) (string, bool, error) {
	for _, t := range l.Tables {
		if v, found, err := t.Lookup(k); err != nil || found {
			return v, found, err
		}
	}
	return "", false, nil
}

// New opens sender_rate_limit_maps with open; nil when the parameter
// is empty (no limits). The limiter counts in c.
func New(cfg *config.Config, open func(spec string) (Table, error), c *Counter) (*Limiter, error) {
	specs, err := cfg.List("sender_rate_limit_maps")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	l := &Limiter{Spec: strings.Join(specs, ", "), Counter: c}
	for _, s := range specs {
		t, err := open(s)
		if err != nil {
			return nil, fmt.Errorf("sender_rate_limit_maps: %w", err)
		}
		l.Tables = append(l.Tables, t)
	}
	return l, nil
}

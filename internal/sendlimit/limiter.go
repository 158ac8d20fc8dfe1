package sendlimit

import (
	"fmt"
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

// Keys of the table: a SASL login name as it is, a sender domain
// (lower case), or UIDKey of a local submitter.
func UIDKey(uid int) string { return "uid:" + strconv.Itoa(uid) }

// SenderDomain is the table key of a sender address: its domain, in
// lower case; "" for the null sender or an address without one.
func SenderDomain(sender string) string {
	i := strings.LastIndexByte(sender, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(sender[i+1:])
}

// Match looks the keys up in order, skipping empty ones, and returns
// the first key found with its rules; key is "" when none is. A table
// error or a bad value is an error: the caller defers the mail.
func (l *Limiter) Match(keys ...string) (key string, rules []Rule, err error) {
	for _, k := range keys {
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

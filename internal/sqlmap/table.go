package sqlmap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/maps"
)

// queryTimeout bounds one attempt on one server: connecting (when no
// pooled connection is idle) and the query.
var queryTimeout = 10 * time.Second

// backend is one database server (or the SQLite file).
type backend interface {
	// query runs the query that build expands with this server's
	// quoting and returns every column of every row, in order, a NULL as
	// nil. noSet reports a statement that returned no result set.
	query(ctx context.Context, build func(quoter) (string, error)) (values []*string, noSet bool, err error)
	close()
}

// serverError is an error the database answered with (bad SQL, missing
// table, no permission): the server works, so it is not marked down.
type serverError struct{ error }

func (e serverError) Unwrap() error { return e.error }

// staleError is a failure on a pooled connection the server may have
// closed since (a restart): the query is tried once more, on a new
// connection, before the server counts as failed.
type staleError struct{ error }

func (e staleError) Unwrap() error { return e.error }

// server is a backend with Postfix's failover state.
type server struct {
	label string
	b     backend
	mu    sync.Mutex
	down  time.Time // failed at; skipped until down + retry_interval
}

// core is an open table file: its settings and connection pools. A
// proxy: table shares one core across the daemon.
type core struct {
	s       *settings
	domains *domainList
	servers []*server
	secrets []string // what error texts must never show
	cache   cache
}

// The answers of the database (found or not, never a failure) are kept
// for cacheTTL: the lookups of one message (smtpd's RCPT checks,
// cleanup's virtual alias expansion, the resolver and the delivery
// agent ask for the same address within seconds) then cost one query
// per table and address. A change in the database is seen after at most
// cacheTTL.
var (
	cacheTTL = 5 * time.Second
	now      = time.Now
)

const cacheMax = 10000

type cache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	v     string
	found bool
	at    time.Time
}

func (c *cache) get(key string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now().Sub(e.at) >= cacheTTL {
		return cached{}, false
	}
	return e, true
}

func (c *cache) put(key, v string, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := now()
	if len(c.m) >= cacheMax {
		for k, e := range c.m {
			if t.Sub(e.at) >= cacheTTL {
				delete(c.m, k)
			}
		}
		if len(c.m) >= cacheMax {
			c.m = nil
		}
	}
	if c.m == nil {
		c.m = map[string]cached{}
	}
	c.m[key] = cached{v: v, found: found, at: t}
}

func newCore(typ, path string) (*core, error) {
	s, probs := readSettings(typ, path)
	if len(probs) > 0 {
		return nil, probs[0]
	}
	c := &core{s: s}
	if s.password != "" {
		c.secrets = append(c.secrets, s.password)
	}
	if s.domain != "" {
		d, err := parseDomainList(s.domain)
		if err != nil {
			return nil, Problem{File: path, Line: s.lines["domain"], Param: "domain", Msg: err.Error()}
		}
		c.domains = d
	}
	if typ == "sqlite" {
		b, err := openSQLite(s.dbpath)
		if err != nil {
			c.close()
			return nil, err
		}
		c.servers = []*server{{label: s.dbpath, b: b}}
		return c, nil
	}
	for _, h := range s.hosts {
		ep, err := parseHost(typ, h)
		if err != nil {
			c.close()
			return nil, Problem{File: path, Line: s.lines["hosts"], Param: "hosts", Msg: err.Error()}
		}
		if ep.uri != "" {
			if u, err := url.Parse(ep.uri); err == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && pw != "" {
					c.secrets = append(c.secrets, pw)
				}
			}
		}
		var b backend
		if typ == "pgsql" {
			b, err = openPostgres(ep, s)
		} else {
			b, err = openMySQL(ep, s)
		}
		if err != nil {
			c.close()
			return nil, fmt.Errorf("%s: %s", ep.label(), c.scrub(err))
		}
		c.servers = append(c.servers, &server{label: ep.label(), b: b})
	}
	return c, nil
}

func (c *core) close() {
	for _, sv := range c.servers {
		sv.b.close()
	}
	if c.domains != nil {
		c.domains.close()
	}
}

// scrub removes the passwords from an error text.
func (c *core) scrub(err error) string {
	msg := err.Error()
	for _, p := range c.secrets {
		msg = strings.ReplaceAll(msg, p, "*****")
		msg = strings.ReplaceAll(msg, url.QueryEscape(p), "*****")
		msg = strings.ReplaceAll(msg, url.PathEscape(p), "*****")
	}
	return msg
}

// lookup finds key as Postfix's dict_pgsql, dict_mysql and dict_sqlite
// do: the key is folded; with "domain", only user@domain keys in a listed
// domain are queried; a key without what the query template needs finds
// nothing without a query; each non-empty value of each row, formatted
// with result_format, joins the result, comma-separated.
func (c *core) lookup(key string) (string, bool, error) {
	if checkQuotable(key) != nil {
		return "", false, nil
	}
	key = maps.FoldKey(key)
	if c.domains != nil {
		local, domain, ok := cutLast(key, "@")
		if !ok || local == "" || domain == "" {
			return "", false, nil
		}
		in, err := c.domains.match(domain)
		if err != nil {
			return "", false, fmt.Errorf("domain list: %v", err)
		}
		if !in {
			return "", false, nil
		}
	}
	if !c.s.tmpl.keyApplies(key) {
		return "", false, nil
	}
	if e, ok := c.cache.get(key); ok {
		return e.v, e.found, nil
	}
	v, found, err := c.query(key)
	if err == nil {
		c.cache.put(key, v, found)
	}
	return v, found, err
}

// query asks the database for key.
func (c *core) query(key string) (string, bool, error) {
	build := func(q quoter) (string, error) {
		s, _, err := c.s.tmpl.expandQuery(key, q)
		return s, err
	}
	values, noSet, err := c.run(build)
	if err != nil {
		return "", false, err
	}
	if noSet {
		if c.s.requireResult {
			return "", false, errors.New("the query returned no result set (require_result_set = yes)")
		}
		return "", false, nil
	}
	var out []string
	for _, v := range values {
		if v == nil {
			continue
		}
		r, ok := c.s.tmpl.expandResult(*v, key)
		if !ok {
			continue
		}
		if c.s.expansionLimit > 0 && len(out) >= c.s.expansionLimit {
			return "", false, fmt.Errorf("expansion limit exceeded for key: '%s'", key)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return "", false, nil
	}
	return strings.Join(out, ","), true, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// run tries the servers that have not failed within retry_interval, in
// random order (MySQL: unix sockets first), until one answers.
func (c *core) run(build func(quoter) (string, error)) ([]*string, bool, error) {
	now := time.Now()
	var live []*server
	for _, sv := range c.servers {
		sv.mu.Lock()
		if sv.down.IsZero() || now.Sub(sv.down) >= c.s.retry {
			live = append(live, sv)
		}
		sv.mu.Unlock()
	}
	if len(live) == 0 {
		return nil, false, fmt.Errorf("no database server available: each failed within the last %v (retry_interval)", c.s.retry)
	}
	rand.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	if c.s.typ == "mysql" {
		unixFirst(live)
	}
	var errs []string
	for _, sv := range live {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		values, noSet, err := sv.b.query(ctx, build)
		if _, stale := err.(staleError); stale {
			values, noSet, err = sv.b.query(ctx, build)
		}
		cancel()
		if err == nil {
			sv.mu.Lock()
			sv.down = time.Time{}
			sv.mu.Unlock()
			return values, noSet, nil
		}
		var se serverError
		if errors.As(err, &se) || errors.Is(err, errUnquotable) {
			return nil, false, fmt.Errorf("%s: %s", sv.label, c.scrub(err))
		}
		if c.s.typ != "sqlite" {
			sv.mu.Lock()
			sv.down = time.Now()
			sv.mu.Unlock()
		}
		errs = append(errs, sv.label+": "+c.scrub(err))
	}
	return nil, false, errors.New(strings.Join(errs, "; "))
}

func unixFirst(l []*server) {
	i := 0
	for j, sv := range l {
		if strings.HasPrefix(sv.label, "unix:") {
			l[i], l[j] = l[j], l[i]
			i++
		}
	}
}

package sqlmap

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/maps"
)

func init() {
	for _, typ := range []string{"pgsql", "mysql", "sqlite"} {
		maps.Register(typ, open)
	}
}

// Table is an open pgsql:, mysql: or sqlite: table.
type Table struct {
	spec string
	*handle
}

// handle is a Table's hold on its core. A Table that is dropped without
// Close (the old configuration's tables after a reload) releases it
// when it is garbage collected, so its pool does not linger.
type handle struct {
	c    *core
	key  string // the shared core's key; "" when not shared
	once sync.Once
}

func newTable(spec string, c *core, key string) *Table {
	t := &Table{spec: spec, handle: &handle{c: c, key: key}}
	runtime.AddCleanup(t, (*handle).release, t.handle)
	return t
}

// Name is the table's reference as it was opened ("proxy:pgsql:/x.cf").
func (t *Table) Name() string { return t.spec }

// Lookup finds key; err (a temporary failure for Postfix's callers)
// names the table and the server, never the password.
func (t *Table) Lookup(key string) (string, bool, error) {
	v, ok, err := t.c.lookup(key)
	if err != nil {
		return "", false, fmt.Errorf("table %s: %w", t.spec, err)
	}
	return v, ok, nil
}

// Close releases the table's connections (a shared core when its last
// user closes it).
func (t *Table) Close() error {
	t.release()
	return nil
}

func (h *handle) release() {
	h.once.Do(func() {
		if h.key == "" {
			h.c.close()
			return
		}
		shared.mu.Lock()
		defer shared.mu.Unlock()
		e := shared.cores[h.key]
		if e.refs--; e.refs == 0 {
			delete(shared.cores, h.key)
			e.c.close()
		}
	})
}

// shared holds the cores of proxy: tables, by type, file and content:
// as Postfix's proxymap serves one connection set to all daemons,
// "proxy:pgsql:/x.cf" opened by smtpd, cleanup and the delivery agents
// shares one pool. An edited file (reload) gets a new core.
var shared = struct {
	mu    sync.Mutex
	cores map[string]*sharedCore
}{cores: map[string]*sharedCore{}}

type sharedCore struct {
	c    *core
	refs int
}

// open is registered with maps for the three types.
func open(spec string, proxied bool) (maps.Table, error) {
	typ, path, _ := strings.Cut(spec, ":")
	if typ == "proxy" {
		typ, path, _ = strings.Cut(path, ":")
	}
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, ".") {
		return nil, fmt.Errorf("%s: the main.cf form (%s_hosts, %s_query, ...) is not supported: name a table file (%s:/etc/postern/%s.cf)",
			spec, path, path, typ, path)
	}
	if !proxied {
		c, err := newCore(typ, path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", spec, err)
		}
		return newTable(spec, c, ""), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, Problem{File: path, Msg: fmt.Sprintf("cannot read the table file: %v", unwrapPath(err))})
	}
	sum := sha256.Sum256(data)
	key := typ + "\x00" + path + "\x00" + string(sum[:])
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if e, ok := shared.cores[key]; ok {
		e.refs++
		return newTable(spec, e.c, key), nil
	}
	c, err := newCore(typ, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	shared.cores[key] = &sharedCore{c: c, refs: 1}
	return newTable(spec, c, key), nil
}

// CheckFile reports every problem of the table file of a pgsql:, mysql:
// or sqlite: reference (without connecting to the database), for
// postern check. Other references give nil.
func CheckFile(spec string) []Problem {
	typ, path, _ := strings.Cut(spec, ":")
	if typ == "proxy" {
		typ, path, _ = strings.Cut(path, ":")
	}
	switch typ {
	case "pgsql", "mysql", "sqlite":
	default:
		return nil
	}
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, ".") {
		return []Problem{{File: spec, Msg: "the main.cf form of SQL table parameters is not supported: name a table file"}}
	}
	s, probs := readSettings(typ, path)
	if s != nil && s.domain != "" && len(probs) == 0 {
		if d, err := parseDomainList(s.domain); err != nil {
			probs = append(probs, Problem{File: path, Line: s.lines["domain"], Param: "domain", Msg: err.Error()})
		} else {
			d.close()
		}
	}
	return probs
}

// Files returns the files the daemon reads for a pgsql:, mysql: or
// sqlite: reference: the table file and, for SQLite, the database file
// (nil for other references or an unreadable table file).
func Files(spec string) []string {
	typ, path, _ := strings.Cut(strings.TrimPrefix(spec, "proxy:"), ":")
	switch typ {
	case "pgsql", "mysql", "sqlite":
	default:
		return nil
	}
	s, _ := readSettings(typ, path)
	if s == nil {
		return nil
	}
	if s.dbpath != "" {
		return []string{path, s.dbpath}
	}
	return []string{path}
}

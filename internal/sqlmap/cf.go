package sqlmap

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// Problem is one fault of a table file, located at its line (0: the
// file as a whole) and parameter.
type Problem struct {
	File  string
	Line  int
	Param string
	Msg   string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ", line %d", p.Line)
	}
	b.WriteString(": ")
	if p.Param != "" {
		fmt.Fprintf(&b, "parameter %s: ", p.Param)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// settings is a parsed table file.
type settings struct {
	typ, path      string
	hosts          []string
	user, password string
	dbname, dbpath string
	tmpl           templates
	domain         string
	expansionLimit int
	idle, retry    time.Duration
	requireResult  bool
	lines          map[string]int // parameter → line
}

// Parameters of the table files (pgsql_table(5), mysql_table(5),
// sqlite_table(5) of Postfix 3.7; idle_interval and retry_interval from
// 3.9).
var (
	commonParams = []string{"query", "result_format", "domain", "expansion_limit",
		"select_field", "table", "where_field", "additional_conditions"}
	serverParams = []string{"hosts", "user", "password", "dbname", "idle_interval", "retry_interval"}
	typeParams   = map[string][]string{
		"pgsql":  {"select_function", "encoding"},
		"mysql":  {"require_result_set"},
		"sqlite": {"dbpath"},
	}
	// notImplemented are documented parameters postern refuses rather
	// than ignore.
	notImplemented = map[string]string{
		"option_file":     "reading my.cnf option files is not implemented",
		"option_group":    "reading my.cnf option files is not implemented",
		"tls_cert_file":   "TLS to the database is not implemented: use a unix socket or loopback",
		"tls_key_file":    "TLS to the database is not implemented: use a unix socket or loopback",
		"tls_CAfile":      "TLS to the database is not implemented: use a unix socket or loopback",
		"tls_CApath":      "TLS to the database is not implemented: use a unix socket or loopback",
		"tls_ciphers":     "TLS to the database is not implemented: use a unix socket or loopback",
		"tls_verify_cert": "TLS to the database is not implemented: use a unix socket or loopback",
		"charset":         "only the default character set utf8mb4 is implemented",
		"statement_mode":  "only the default statement_mode (legacy) is implemented",
	}
)

func known(typ, name string) bool {
	return slices.Contains(commonParams, name) || slices.Contains(typeParams[typ], name) ||
		(typ != "sqlite" && slices.Contains(serverParams, name))
}

// readSettings reads and checks a table file. Every problem is
// returned; settings is usable only when there are none.
func readSettings(typ, path string) (*settings, []Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{File: path, Msg: fmt.Sprintf("cannot read the table file: %v", unwrapPath(err))}}
	}
	return parseSettings(typ, path, string(data))
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func parseSettings(typ, path, data string) (*settings, []Problem) {
	mf := config.ParseMain(path, data)
	var probs []Problem
	// The parser's messages quote the line; a table file holds a
	// password, so its faults are told without the text.
	for _, d := range mf.Diags {
		msg := "malformed line: expected \"name = value\""
		switch {
		case d.Param != "":
			msg = "set twice: the last setting wins"
		case d.Severity == config.Warning:
			msg = "a logical line must not start with whitespace"
		}
		probs = append(probs, Problem{File: path, Line: d.Line, Param: d.Param, Msg: msg})
	}
	s := &settings{typ: typ, path: path, requireResult: true, idle: 60 * time.Second, retry: 60 * time.Second}
	s.lines = map[string]int{}
	for _, e := range mf.Entries {
		s.lines[e.Name] = e.Line
	}
	line := func(name string) int { return s.lines[name] }
	bad := func(name, format string, args ...any) {
		probs = append(probs, Problem{File: path, Line: line(name), Param: name, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range mf.Entries {
		if why, ok := notImplemented[e.Name]; ok {
			bad(e.Name, "%s", why)
		} else if !known(typ, e.Name) {
			bad(e.Name, "unknown parameter for a %s table (see %s_table(5))", typ, typ)
		}
	}
	get := func(name string) (string, bool) {
		e, ok := mf.Values[name]
		return e.Value, ok
	}
	seconds := func(name string, into *time.Duration) {
		if v, ok := get(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				bad(name, "%q is not a number of seconds", v)
				return
			}
			*into = time.Duration(n) * time.Second
		}
	}
	if typ == "sqlite" {
		if s.dbpath, _ = get("dbpath"); s.dbpath == "" {
			bad("dbpath", "missing: the SQLite database file")
		}
	} else {
		hosts, _ := get("hosts")
		s.hosts = strings.FieldsFunc(hosts, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) })
		if len(s.hosts) == 0 {
			s.hosts = []string{"localhost"}
		}
		for _, h := range s.hosts {
			if err := checkHost(typ, h); err != nil {
				shown := h
				if isURI(h) {
					shown = "a connection URI" // it may hold a password
				}
				bad("hosts", "%q: %v", shown, err)
			}
		}
		s.user, _ = get("user")
		s.password, _ = get("password")
		s.dbname, _ = get("dbname")
		if s.dbname == "" && !allURIs(s.hosts) {
			bad("dbname", "missing: the database name")
		}
		seconds("idle_interval", &s.idle)
		seconds("retry_interval", &s.retry)
	}
	if v, ok := get("encoding"); ok && !strings.EqualFold(strings.ReplaceAll(v, "-", ""), "utf8") {
		bad("encoding", "%q: only UTF8 is implemented", v)
	}
	if v, ok := get("require_result_set"); ok {
		b, err := parseBool(v)
		if err != nil {
			bad("require_result_set", "%v", err)
		}
		s.requireResult = b
	}
	if v, ok := get("expansion_limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad("expansion_limit", "%q is not a number (0: no limit)", v)
		}
		s.expansionLimit = n
	}
	s.domain, _ = get("domain")
	s.tmpl.query, _ = get("query")
	if s.tmpl.query == "" {
		q, missing := legacyQuery(typ, get)
		if missing != "" {
			bad("query", "missing (or the legacy %s)", missing)
		}
		s.tmpl.query = q
	}
	if err := s.tmpl.parseTemplate(s.tmpl.query, true); err != nil && s.tmpl.query != "" {
		bad("query", "%v", err)
	}
	s.tmpl.result = "%s"
	if v, ok := get("result_format"); ok && v != "" {
		s.tmpl.result = v
	}
	if err := s.tmpl.parseTemplate(s.tmpl.result, false); err != nil {
		bad("result_format", "%v", err)
	}
	return s, probs
}

// legacyQuery builds the query of Postfix before 2.2: select_function
// (pgsql), else SELECT select_field FROM table WHERE where_field = '%s'
// additional_conditions. missing names what is not set.
func legacyQuery(typ string, get func(string) (string, bool)) (query, missing string) {
	if f, _ := get("select_function"); f != "" && typ == "pgsql" {
		return "SELECT " + f + "('%s')", ""
	}
	table, _ := get("table")
	field, _ := get("select_field")
	where, _ := get("where_field")
	if table == "" || field == "" || where == "" {
		return "", "table, select_field and where_field"
	}
	q := "SELECT " + field + " FROM " + table + " WHERE " + where + " = '%s'"
	if more, _ := get("additional_conditions"); more != "" {
		q += " " + more
	}
	return q, ""
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "1":
		return true, nil
	case "no", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", v)
}

package sqlmap

import (
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		typ, text string
		problems  []string // "line:param:substring"
	}{
		{"pgsql", "hosts = unix:/run/postgresql, db.example:5433\nuser = u\npassword = p\ndbname = d\nquery = SELECT x FROM t WHERE k='%s'\n", nil},
		{"pgsql", "hosts = postgresql://u:hunter2@db.example/mail\nquery = SELECT 1\n", nil}, // dbname from the URI
		{"mysql", "hosts = localhost\ndbname = d\nquery = SELECT '%s'\nrequire_result_set = no\n", nil},
		{"sqlite", "dbpath = /x.db\nselect_field = a\ntable = t\nwhere_field = k\n", nil},
		{"pgsql", "dbname = d\nselect_function = f\n", nil},
		{"sqlite", "dbpath = /x.db\nhosts = h\nquery = q\n", []string{"2:hosts:unknown parameter"}},
		{"mysql", "dbname = d\nquer = x\n", []string{"2:quer:unknown", "0:query:missing"}},
		{"pgsql", "query = q\n", []string{"0:dbname:missing"}},
		{"sqlite", "query = q\n", []string{"0:dbpath:missing"}},
		{"mysql", "dbname = d\nquery = '%x'\n", []string{"2:query:unknown expansion %x"}},
		{"mysql", "dbname = d\nquery = q\nresult_format = %Q\n", []string{"3:result_format:unknown expansion"}},
		{"mysql", "dbname = d\nquery = q\nexpansion_limit = -1\nidle_interval = x\n", []string{"3:expansion_limit:", "4:idle_interval:"}},
		{"mysql", "dbname = d\nquery = q\ntls_CAfile = /ca.pem\noption_file = /my.cnf\n", []string{"3:tls_CAfile:TLS", "4:option_file:my.cnf"}},
		{"pgsql", "dbname = d\nquery = q\nencoding = LATIN1\n", []string{"3:encoding:UTF8"}},
		{"pgsql", "dbname = d\nquery = q\nhosts = inet:h:99999\n", []string{"3:hosts:bad port"}},
		{"mysql", "dbname = d\nquery = q\npassword secret-value\n", []string{"3::malformed"}},
		{"pgsql", "hosts = postgresql://u:hunter2@db.example:port/mail\nquery = q\n", []string{"1:hosts:not a valid connection URI"}},
	}
	for _, tc := range tests {
		_, probs := parseSettings(tc.typ, "/t.cf", tc.text)
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line > 0 && (probs[j].Line == 0 || probs[i].Line < probs[j].Line) })
		var got []string
		for _, p := range probs {
			got = append(got, p.Error())
			if strings.Contains(p.Error(), "secret-value") || strings.Contains(p.Error(), "hunter2") {
				t.Errorf("%q: a problem shows the password: %v", tc.text, p)
			}
		}
		if len(probs) != len(tc.problems) {
			t.Errorf("%s %q: problems %q, want %q", tc.typ, tc.text, got, tc.problems)
			continue
		}
		for i, want := range tc.problems {
			parts := strings.SplitN(want, ":", 3)
			p := probs[i]
			if parts[0] != strconv.Itoa(p.Line) || parts[1] != p.Param || !strings.Contains(p.Msg, parts[2]) {
				t.Errorf("%s %q: problem %d = %v, want %s", tc.typ, tc.text, i, p, want)
			}
		}
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		typ, in string
		want    endpoint
		bad     bool
	}{
		{"pgsql", "unix:/run/postgresql", endpoint{unix: true, path: "/run/postgresql", port: 5432}, false},
		{"pgsql", "db.example", endpoint{host: "db.example", port: 5432}, false},
		{"pgsql", "inet:db.example:6432", endpoint{host: "db.example", port: 6432}, false},
		{"pgsql", "[::1]:6432", endpoint{host: "::1", port: 6432}, false},
		{"pgsql", "[::1]", endpoint{host: "::1", port: 5432}, false},
		{"mysql", "localhost", endpoint{unix: true, path: mysqlDefaultSocket}, false},
		{"mysql", "inet:localhost:3307", endpoint{unix: true, path: mysqlDefaultSocket}, false},
		{"mysql", "127.0.0.1", endpoint{host: "127.0.0.1", port: 3306}, false},
		{"mysql", "unix:/run/mysqld/mysqld.sock", endpoint{unix: true, path: "/run/mysqld/mysqld.sock", port: 3306}, false},
		{"mysql", "unix:relative", endpoint{}, true},
		{"mysql", "h:0", endpoint{}, true},
		{"mysql", ":3306", endpoint{}, true},
	}
	for _, tc := range tests {
		got, err := parseHost(tc.typ, tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("parseHost(%s, %q) = %+v, %v", tc.typ, tc.in, got, err)
		}
	}
	if l := (endpoint{uri: "postgresql://u:hunter2@db.example:5/mail"}).label(); strings.Contains(l, "hunter2") || !strings.Contains(l, "db.example") {
		t.Errorf("label = %q", l)
	}
}

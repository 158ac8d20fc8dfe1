package sqlmap

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

// A postfixadmin-like schema and data, in SQL that PostgreSQL, MariaDB
// and SQLite all take. concat is the dialect's string concatenation of
// its arguments.
func schema(concat func(...string) string) []string {
	_ = concat
	return []string{
		`CREATE TABLE domain (domain VARCHAR(255) NOT NULL, transport VARCHAR(255), active SMALLINT NOT NULL)`,
		`CREATE TABLE mailbox (username VARCHAR(255) NOT NULL, maildir VARCHAR(255) NOT NULL, domain VARCHAR(255) NOT NULL, active SMALLINT NOT NULL)`,
		`CREATE TABLE alias (address VARCHAR(255) NOT NULL, goto TEXT, domain VARCHAR(255) NOT NULL, active SMALLINT NOT NULL)`,
		`CREATE TABLE alias_domain (alias_domain VARCHAR(255) NOT NULL, target_domain VARCHAR(255) NOT NULL, active SMALLINT NOT NULL)`,
		`INSERT INTO domain VALUES ('example.com', 'lmtp:unix:private/dovecot-lmtp', 1), ('old.example', NULL, 0), ('empty.example', '', 1)`,
		`INSERT INTO mailbox VALUES ('alice@example.com', 'example.com/alice/', 'example.com', 1),
			('bob@example.com', 'example.com/bob/', 'example.com', 1),
			('old@example.com', 'example.com/old/', 'example.com', 0),
			('o''brien@example.com', 'example.com/obrien/', 'example.com', 1),
			('tab	x@example.com', 'example.com/tab/', 'example.com', 1),
			('jürgen@example.com', 'example.com/juergen/', 'example.com', 1)`,
		`INSERT INTO alias VALUES ('alice@example.com', 'alice@example.com', 'example.com', 1),
			('info@example.com', 'alice@example.com,bob@example.com', 'example.com', 1),
			('team@example.com', 'alice@example.com', 'example.com', 1),
			('team@example.com', 'bob@example.com', 'example.com', 1),
			('@example.com', 'catchall@example.com', 'example.com', 1)`,
		`INSERT INTO alias_domain VALUES ('alias.example', 'example.com', 1)`,
	}
}

// backslashRow holds a backslash: inserted apart because its literal
// differs between the dialects (MySQL: backslash escapes).
const backslashKey = `back\slash@example.com`

// tableFiles writes the .cf files of the lookups (header: hosts, user,
// password, dbname or dbpath) and returns their paths by name.
func tableFiles(t testing.TB, dir, header string, concat func(...string) string) map[string]string {
	t.Helper()
	files := map[string]string{
		"domains":   "query = SELECT domain FROM domain WHERE domain='%s' AND active = '1'",
		"mailboxes": "query = SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'",
		"aliases":   "query = SELECT goto FROM alias WHERE address='%s' AND active = '1'",
		"aliasdomain": "query = SELECT goto FROM alias, alias_domain\n" +
			"  WHERE alias_domain.alias_domain = '%d'\n" +
			"  AND alias.address = " + concat("'%u'", "'@'", "alias_domain.target_domain") + "\n" +
			"  AND alias.active = 1 AND alias_domain.active = '1'",
		"transport": "query = SELECT transport FROM domain WHERE domain='%s'",
		"limited":   "query = SELECT goto FROM alias WHERE address='%s'\nexpansion_limit = 1",
		"format":    "query = SELECT maildir FROM mailbox WHERE username='%s'\nresult_format = /var/mail/vhosts/%s",
		"onlydom":   "query = SELECT maildir FROM mailbox WHERE username='%s'\ndomain = example.net, example.com",
		"legacy":    "select_field = maildir\ntable = mailbox\nwhere_field = username\nadditional_conditions = AND active = '1'",
		"badsql":    "query = SELECT nosuchcolumn FROM mailbox WHERE username='%s'",
	}
	paths := map[string]string{}
	for name, body := range files {
		p := filepath.Join(dir, name+".cf")
		if err := os.WriteFile(p, []byte("# "+name+"\n"+header+"\n"+body+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

type lookupCase struct {
	table, key string
	want       string
	found      bool
	err        bool
}

var lookupCases = []lookupCase{
	{"domains", "example.com", "example.com", true, false},
	{"domains", "EXAMPLE.Com", "example.com", true, false},
	{"domains", "old.example", "", false, false},
	{"domains", "example.net", "", false, false},
	{"mailboxes", "alice@example.com", "example.com/alice/", true, false},
	{"mailboxes", "Alice@Example.COM", "example.com/alice/", true, false},
	{"mailboxes", "old@example.com", "", false, false},
	{"mailboxes", "o'brien@example.com", "example.com/obrien/", true, false},
	{"mailboxes", backslashKey, "example.com/backslash/", true, false},
	{"mailboxes", "tab\tx@example.com", "example.com/tab/", true, false},
	{"mailboxes", "Jürgen@example.com", "example.com/juergen/", true, false},
	{"aliases", "info@example.com", "alice@example.com,bob@example.com", true, false},
	{"aliases", "@example.com", "catchall@example.com", true, false},
	{"aliasdomain", "alice@alias.example", "alice@example.com", true, false},
	{"aliasdomain", "alice@example.net", "", false, false},
	{"aliasdomain", "alias.example", "", false, false}, // %d needs user@domain: no query
	{"transport", "example.com", "lmtp:unix:private/dovecot-lmtp", true, false},
	{"transport", "old.example", "", false, false},   // NULL is skipped
	{"transport", "empty.example", "", false, false}, // so is ''
	{"limited", "alice@example.com", "alice@example.com", true, false},
	{"limited", "team@example.com", "", false, true}, // two results, limit 1
	{"format", "bob@example.com", "/var/mail/vhosts/example.com/bob/", true, false},
	{"onlydom", "alice@example.com", "example.com/alice/", true, false},
	{"onlydom", "alice@example.org", "", false, false},
	{"onlydom", "alice", "", false, false},
	{"legacy", "bob@example.com", "example.com/bob/", true, false},
	{"legacy", "old@example.com", "", false, false},
	{"badsql", "bob@example.com", "", false, true},
}

// runLookups runs lookupCases and the hostile keys on the tables of
// typ in paths.
func runLookups(t *testing.T, typ string, paths map[string]string) {
	t.Helper()
	tables := map[string]maps.Table{}
	for name, p := range paths {
		tb, err := maps.Open(typ + ":" + p)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		t.Cleanup(func() { maps.Close(tb) })
		tables[name] = tb
	}
	for _, tc := range lookupCases {
		v, found, err := tables[tc.table].Lookup(tc.key)
		if v != tc.want || found != tc.found || (err != nil) != tc.err {
			t.Errorf("%s %s: Lookup(%q) = %q, %v, %v; want %q, %v, error %v", typ, tc.table, tc.key, v, found, err, tc.want, tc.found, tc.err)
		}
	}
	// Hostile keys find nothing and fail nothing: each stays inside its
	// literal (a broken quote would be an SQL error or a match).
	for _, k := range append(slices.Clone(hostile), "x\x00y@example.com", "\xff@example.com", "alice@example.com' OR '1'='1") {
		for _, name := range []string{"mailboxes", "aliasdomain", "aliases"} {
			v, found, err := tables[name].Lookup(k)
			if (k == "o'brien@example.com" || k == backslashKey) && name == "mailboxes" {
				continue
			}
			if found || err != nil {
				t.Errorf("%s %s: hostile key %q: %q, %v, %v", typ, name, k, v, found, err)
			}
		}
	}
}

func concatPipes(parts ...string) string { return strings.Join(parts, " || ") }
func concatFunc(parts ...string) string  { return "CONCAT(" + strings.Join(parts, ", ") + ")" }

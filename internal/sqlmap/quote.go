package sqlmap

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// The quoting of values substituted into a query, for the string
// literals the templates put them in ('%s'), as Postfix quotes them:
//
//   - PostgreSQL: PQescapeStringConn doubles ' and, only when the server
//     has standard_conforming_strings = off, doubles \ too;
//   - MySQL/MariaDB: mysql_real_escape_string puts a backslash before
//     NUL, \n, \r, \, ', " and Ctrl-Z, or, when the session's sql_mode
//     has NO_BACKSLASH_ESCAPES, only doubles ';
//   - SQLite: sqlite3_mprintf("%q") doubles '.
//
// A value that is not valid UTF-8, or holds a NUL byte (Postfix's keys
// are C strings and cannot), is never quoted: the lookup fails instead.
var errUnquotable = errors.New("key cannot be quoted safely (NUL byte or invalid UTF-8)")

func checkQuotable(s string) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return errUnquotable
	}
	return nil
}

// quotePostgres quotes for PostgreSQL; standard is the connection's
// standard_conforming_strings.
func quotePostgres(standard bool) quoter {
	return func(s string) (string, error) {
		if err := checkQuotable(s); err != nil {
			return "", err
		}
		s = strings.ReplaceAll(s, "'", "''")
		if !standard {
			s = strings.ReplaceAll(s, `\`, `\\`)
		}
		return s, nil
	}
}

// quoteMySQL quotes for MySQL and MariaDB; noBackslash is the session's
// NO_BACKSLASH_ESCAPES.
func quoteMySQL(noBackslash bool) quoter {
	return func(s string) (string, error) {
		if err := checkQuotable(s); err != nil {
			return "", err
		}
		if noBackslash {
			return strings.ReplaceAll(s, "'", "''"), nil
		}
		return mysqlEscaper.Replace(s), nil
	}
}

var mysqlEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, `\`, `\\`, "'", `\'`, `"`, `\"`, "\x1a", `\Z`)

// quoteSQLite quotes for SQLite.
func quoteSQLite(s string) (string, error) {
	if err := checkQuotable(s); err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, "'", "''"), nil
}

// Package sqlmap implements Postfix's SQL lookup tables: pgsql:/file.cf
// (PostgreSQL, through pgx), mysql:/file.cf (MySQL and MariaDB, through
// go-sql-driver/mysql) and sqlite:/file.cf (SQLite, through the pure-Go
// modernc.org/sqlite), each configured by a table file in Postfix's
// format (pgsql_table(5), mysql_table(5), sqlite_table(5)): hosts, user,
// password, dbname (dbpath for SQLite), query with the %s %u %d %S %U %D
// %1-%9 %% expansions (or the legacy select_field, table, where_field,
// additional_conditions, and pgsql's select_function), result_format,
// domain, expansion_limit, and Postfix 3.9's idle_interval and
// retry_interval. The package registers the three types with
// maps.Register; importing it is enough.
//
// Values substituted into a query are quoted the way Postfix's clients
// quote them (quote.go), taking the server's mode into account
// (standard_conforming_strings, NO_BACKSLASH_ESCAPES); a key with a NUL
// byte or invalid UTF-8 finds nothing and never reaches the database.
//
// Each table has a connection pool per server; "proxy:pgsql:/x.cf"
// shares one pool among all the daemon's users of that file, as
// proxymap(8) does. The servers of "hosts" are tried in random order
// (MySQL: unix sockets first); one that fails is skipped for
// retry_interval (default 60 s). Every attempt has a deadline
// (queryTimeout, 10 s: connecting and the query). A database that cannot
// answer makes the lookup fail (an error, which Postfix's callers turn
// into a temporary failure: 451 4.3.0, mail deferred), and the error
// names the table and the server; the password never appears in an
// error text.
//
// Answers (found or not; never failures) are cached per table for
// cacheTTL (5 s), so that the lookups of one message cost one query per
// table and address; Postfix asks every time.
//
// Unlike Postfix, which ignores unknown names in a table file, an
// unknown or unimplemented parameter is an error (a typo would
// otherwise silently change what is looked up); CheckFile reports them
// all for postern check.
package sqlmap

package sqlmap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/sqltest"
)

// The password of the tables' database user: the tests check that it
// never shows in an error.
const dbPassword = "S3cr3t-'pw\\-xyzzy"

func setupPostgres(t testing.TB) (*sqltest.Postgres, string) {
	s := sqltest.StartPostgres(t)
	s.Exec(t, "postgres", "CREATE ROLE postfix LOGIN PASSWORD 'S3cr3t-''pw\\-xyzzy'", "CREATE DATABASE mail")
	s.Exec(t, "mail", append(schema(concatPipes),
		`INSERT INTO mailbox VALUES ('back\slash@example.com', 'example.com/backslash/', 'example.com', 1)`,
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO postfix")...)
	header := fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.SockDir, dbPassword)
	return s, header
}

// TestPostgres runs the lookups on one private cluster (initdb is slow),
// then stops it.
func TestPostgres(t *testing.T) {
	s, header := setupPostgres(t)
	t.Run("lookups", func(t *testing.T) {
		runLookups(t, "pgsql", tableFiles(t, t.TempDir(), header, concatPipes))
	})
	t.Run("failover", func(t *testing.T) { testPostgresFailover(t, s) })
	t.Run("wrong password", func(t *testing.T) { testPostgresWrongPassword(t, s) })
	t.Run("standard_conforming_strings off", func(t *testing.T) {
		// Backslashes are doubled too.
		s.Exec(t, "postgres", "ALTER ROLE postfix SET standard_conforming_strings = off")
		defer s.Exec(t, "postgres", "ALTER ROLE postfix RESET standard_conforming_strings")
		runLookups(t, "pgsql", tableFiles(t, t.TempDir(), header, concatPipes))
	})
	t.Run("restart", func(t *testing.T) {
		// The pooled connection died with the server: the next lookup
		// reconnects instead of failing.
		tb, err := maps.Open("pgsql:" + tableFiles(t, t.TempDir(), header, concatPipes)["mailboxes"])
		if err != nil {
			t.Fatal(err)
		}
		defer maps.Close(tb)
		if _, ok, err := tb.Lookup("alice@example.com"); !ok || err != nil {
			t.Fatalf("before: %v %v", ok, err)
		}
		s.Stop()
		s.Start(t)
		if v, ok, err := tb.Lookup("bob@example.com"); !ok || err != nil {
			t.Fatalf("after a restart: %q %v %v", v, ok, err)
		}
	})
	t.Run("down", func(t *testing.T) { testPostgresDown(t, s, header) })
}

// testPostgresDown: a stopped server fails the lookup with an error that
// names the table and the server and never the password.
func testPostgresDown(t *testing.T, s *sqltest.Postgres, header string) {
	dir := t.TempDir()
	paths := tableFiles(t, dir, header, concatPipes)
	spec := "pgsql:" + paths["mailboxes"]
	tb, err := open(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.(*Table).Close()
	if v, ok, err := tb.Lookup("alice@example.com"); !ok || err != nil {
		t.Fatalf("before: %q %v %v", v, ok, err)
	}
	s.Stop()
	_, found, err := tb.Lookup("bob@example.com")
	if err == nil || found {
		t.Fatalf("lookup with the server down: %v, %v; want an error", found, err)
	}
	checkErrorText(t, err, spec, "unix:"+s.SockDir)
	// Within retry_interval the server is not tried again.
	if _, _, err := tb.Lookup("o'brien@example.com"); err == nil {
		t.Fatal("second lookup: no error")
	}
}

func testPostgresWrongPassword(t *testing.T, s *sqltest.Postgres) {
	dir := t.TempDir()
	bad := "wrong-" + dbPassword
	header := fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.SockDir, bad)
	paths := tableFiles(t, dir, header, concatPipes)
	tb, err := maps.Open("pgsql:" + paths["mailboxes"])
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	_, _, err = tb.Lookup("alice@example.com")
	if err == nil {
		t.Fatal("no error with a wrong password")
	}
	checkErrorText(t, err, "pgsql:"+paths["mailboxes"])
	if bytes.Contains([]byte(err.Error()), []byte(bad)) {
		t.Errorf("the error shows the password: %v", err)
	}
}

// testPostgresFailover: a dead server in hosts is passed over.
func testPostgresFailover(t *testing.T, s *sqltest.Postgres) {
	defer func(ttl time.Duration) { cacheTTL = ttl }(cacheTTL)
	cacheTTL = 0 // every lookup a query
	dir := t.TempDir()
	dead := filepath.Join(dir, "nothing-here")
	header := fmt.Sprintf("hosts = unix:%s, unix:%s\nuser = postfix\npassword = %s\ndbname = mail", dead, s.SockDir, dbPassword)
	paths := tableFiles(t, dir, header, concatPipes)
	tb, err := maps.Open("pgsql:" + paths["mailboxes"])
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	for range 8 { // random order: both orders, almost surely
		if v, ok, err := tb.Lookup("alice@example.com"); v != "example.com/alice/" || !ok || err != nil {
			t.Fatalf("lookup: %q %v %v", v, ok, err)
		}
	}
}

// checkErrorText: a lookup error names the table (and the servers given)
// and never shows the password.
func checkErrorText(t *testing.T, err error, want ...string) {
	t.Helper()
	msg := err.Error()
	for _, w := range want {
		if !bytes.Contains([]byte(msg), []byte(w)) {
			t.Errorf("error %q does not name %q", msg, w)
		}
	}
	for _, secret := range []string{dbPassword, "xyzzy"} {
		if bytes.Contains([]byte(msg), []byte(secret)) {
			t.Errorf("error shows the password: %q", msg)
		}
	}
}

func setupMariaDB(t testing.TB) (*sqltest.MariaDB, string) {
	s := sqltest.StartMariaDB(t)
	s.Exec(t, "", "CREATE DATABASE mail CHARACTER SET utf8mb4",
		"CREATE USER 'postfix'@'localhost' IDENTIFIED BY 'S3cr3t-''pw\\\\-xyzzy'",
		"GRANT SELECT ON mail.* TO 'postfix'@'localhost'")
	s.Exec(t, "mail", append(schema(concatFunc),
		`INSERT INTO mailbox VALUES ('back\\slash@example.com', 'example.com/backslash/', 'example.com', 1)`)...)
	return s, fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.Sock, dbPassword)
}

// TestMariaDB runs the lookups on one private server, then stops it.
func TestMariaDB(t *testing.T) {
	s, header := setupMariaDB(t)
	t.Run("lookups", func(t *testing.T) {
		runLookups(t, "mysql", tableFiles(t, t.TempDir(), header, concatFunc))
	})
	t.Run("NO_BACKSLASH_ESCAPES", func(t *testing.T) {
		// Quotes are doubled, backslashes left alone.
		s.Exec(t, "", "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')")
		runLookups(t, "mysql", tableFiles(t, t.TempDir(), header, concatFunc))
	})
	t.Run("down", func(t *testing.T) { testMariaDBDown(t, s, header) })
}

func testMariaDBDown(t *testing.T, s *sqltest.MariaDB, header string) {
	paths := tableFiles(t, t.TempDir(), header, concatFunc)
	spec := "mysql:" + paths["mailboxes"]
	tb, err := maps.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	if v, ok, err := tb.Lookup("alice@example.com"); !ok || err != nil {
		t.Fatalf("before: %q %v %v", v, ok, err)
	}
	s.Stop()
	_, found, err := tb.Lookup("bob@example.com")
	if err == nil || found {
		t.Fatalf("lookup with the server down: %v, %v; want an error", found, err)
	}
	checkErrorText(t, err, spec, "unix:"+s.Sock)
}

// TestQueryTimeout: a server that accepts and never answers fails the
// lookup at the deadline.
func TestQueryTimeout(t *testing.T) {
	ln, err := netListen(t)
	if err != nil {
		t.Fatal(err)
	}
	old := queryTimeout
	queryTimeout = 300 * time.Millisecond
	defer func() { queryTimeout = old }()
	for _, typ := range []string{"pgsql", "mysql"} {
		dir := t.TempDir()
		header := fmt.Sprintf("hosts = inet:%s\nuser = postfix\npassword = %s\ndbname = mail", ln, dbPassword)
		paths := tableFiles(t, dir, header, concatPipes)
		tb, err := maps.Open(typ + ":" + paths["mailboxes"])
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _, err = tb.Lookup("alice@example.com")
		maps.Close(tb)
		if err == nil {
			t.Fatalf("%s: no error from a silent server", typ)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: the lookup took %v", typ, d)
		}
		checkErrorText(t, err, typ+":"+paths["mailboxes"])
		if !errors.Is(err, context.DeadlineExceeded) && !bytes.Contains([]byte(err.Error()), []byte("timeout")) &&
			!bytes.Contains([]byte(err.Error()), []byte("deadline")) {
			t.Logf("%s: error %v", typ, err)
		}
	}
}

// netListen listens on loopback, accepts connections and never answers.
func netListen(t *testing.T) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String(), nil
}

// BenchmarkPostgresLookup: one lookup of a new key (a query over the
// unix socket, pooled connection) per iteration.
func BenchmarkPostgresLookup(b *testing.B) {
	_, header := setupPostgres(b)
	tb, err := maps.Open("pgsql:" + tableFiles(b, b.TempDir(), header, concatPipes)["mailboxes"])
	if err != nil {
		b.Fatal(err)
	}
	defer maps.Close(tb)
	defer func(ttl time.Duration) { cacheTTL = ttl }(cacheTTL)
	cacheTTL = 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, err := tb.Lookup(fmt.Sprintf("user%d@example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMariaDBLookup: the same against MariaDB.
func BenchmarkMariaDBLookup(b *testing.B) {
	_, header := setupMariaDB(b)
	tb, err := maps.Open("mysql:" + tableFiles(b, b.TempDir(), header, concatFunc)["mailboxes"])
	if err != nil {
		b.Fatal(err)
	}
	defer maps.Close(tb)
	defer func(ttl time.Duration) { cacheTTL = ttl }(cacheTTL)
	cacheTTL = 0
	for i := 0; b.Loop(); i++ {
		if _, _, err := tb.Lookup(fmt.Sprintf("user%d@example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
}

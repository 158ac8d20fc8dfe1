package sqlmap

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/postern-mta/postern/internal/maps"
)

// The real servers the tests start: a private PostgreSQL cluster or
// MariaDB server in a temporary directory, on a unix socket only. They
// skip, saying why, only when the server programs are not installed
// (scripts/install-test-deps installs them).

// findProgram looks in PATH, then in the given directories (globs).
func findProgram(name string, globs ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, g := range globs {
		m, _ := filepath.Glob(filepath.Join(g, name))
		sort.Strings(m)
		if len(m) > 0 {
			return m[len(m)-1]
		}
	}
	return ""
}

// serverDir makes a temporary directory that the server's user owns;
// /tmp keeps unix socket paths short.
func serverDir(t *testing.T, owner string) (string, *user.User) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sqlmap")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir, nil
	}
	u, err := user.Lookup(owner)
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir, u
}

// asUser runs a program as u (nil: as this process).
func asUser(u *user.User, prog string, args ...string) *exec.Cmd {
	if u == nil {
		return exec.Command(prog, args...)
	}
	return exec.Command("runuser", append([]string{"-u", u.Username, "--", prog}, args...)...)
}

type pgServer struct {
	sockDir string
	stop    func()
}

// startPostgres starts a private cluster: the superuser "postgres" is
// trusted on the socket, every other role needs its password (SCRAM).
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	libs := "/usr/lib/postgresql/*/bin"
	initdb, pgctl := findProgram("initdb", libs), findProgram("pg_ctl", libs)
	if initdb == "" || pgctl == "" {
		t.Skip("PostgreSQL is not installed (initdb, pg_ctl): run scripts/install-test-deps")
	}
	dir, u := serverDir(t, "postgres")
	data := filepath.Join(dir, "data")
	if out, err := asUser(u, initdb, "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	hba := "local all postgres trust\nlocal all all scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(filepath.Join(data, "pg_hba.conf"), uid, gid)
	}
	opts := fmt.Sprintf("-c listen_addresses='' -k %s -c fsync=off", dir)
	start := func() {
		if out, err := asUser(u, pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "120", "start").CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	start()
	s := &pgServer{sockDir: dir}
	s.stop = func() { asUser(u, pgctl, "-D", data, "-m", "immediate", "-w", "stop").Run() }
	t.Cleanup(s.stop)
	return s
}

func (s *pgServer) exec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s user=postgres dbname=%s", s.sockDir, db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The password of the tables' database user: the tests check that it
// never shows in an error.
const dbPassword = "S3cr3t-'pw\\-xyzzy"

func setupPostgres(t *testing.T) (*pgServer, string) {
	s := startPostgres(t)
	s.exec(t, "postgres", "CREATE ROLE postfix LOGIN PASSWORD 'S3cr3t-''pw\\-xyzzy'", "CREATE DATABASE mail")
	s.exec(t, "mail", append(schema(concatPipes),
		`INSERT INTO mailbox VALUES ('back\slash@example.com', 'example.com/backslash/', 'example.com', 1)`,
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO postfix")...)
	header := fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.sockDir, dbPassword)
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
		s.exec(t, "postgres", "ALTER ROLE postfix SET standard_conforming_strings = off")
		defer s.exec(t, "postgres", "ALTER ROLE postfix RESET standard_conforming_strings")
		runLookups(t, "pgsql", tableFiles(t, t.TempDir(), header, concatPipes))
	})
	t.Run("down", func(t *testing.T) { testPostgresDown(t, s, header) })
}

// testPostgresDown: a stopped server fails the lookup with an error that
// names the table and the server and never the password.
func testPostgresDown(t *testing.T, s *pgServer, header string) {
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
	s.stop()
	_, found, err := tb.Lookup("alice@example.com")
	if err == nil || found {
		t.Fatalf("lookup with the server down: %v, %v; want an error", found, err)
	}
	checkErrorText(t, err, spec, "unix:"+s.sockDir)
	// Within retry_interval the server is not tried again.
	if _, _, err := tb.Lookup("bob@example.com"); err == nil {
		t.Fatal("second lookup: no error")
	}
}

func testPostgresWrongPassword(t *testing.T, s *pgServer) {
	dir := t.TempDir()
	bad := "wrong-" + dbPassword
	header := fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.sockDir, bad)
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
func testPostgresFailover(t *testing.T, s *pgServer) {
	dir := t.TempDir()
	dead := filepath.Join(dir, "nothing-here")
	header := fmt.Sprintf("hosts = unix:%s, unix:%s\nuser = postfix\npassword = %s\ndbname = mail", dead, s.sockDir, dbPassword)
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

type myServer struct {
	sock string
	stop func()
}

// startMariaDB starts a private server on a unix socket, no TCP.
func startMariaDB(t *testing.T) *myServer {
	t.Helper()
	installDB := findProgram("mariadb-install-db", "/usr/bin")
	mariadbd := findProgram("mariadbd", "/usr/sbin")
	if installDB == "" || mariadbd == "" {
		t.Skip("MariaDB is not installed (mariadb-install-db, mariadbd): run scripts/install-test-deps")
	}
	dir, u := serverDir(t, "mysql")
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	userArg := []string{}
	if u != nil {
		userArg = []string{"--user=" + u.Username}
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, userArg...)
	if out, err := exec.Command(installDB, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	cmd := exec.Command(mariadbd, append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + sock,
		"--skip-networking", "--pid-file=" + filepath.Join(dir, "pid"), "--log-error=" + filepath.Join(dir, "err.log"),
		"--innodb-buffer-pool-size=8M", "--skip-log-bin"}, userArg...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s := &myServer{sock: sock}
	s.stop = func() {
		select {
		case <-exited:
			return
		default:
		}
		cmd.Process.Kill()
		<-exited
	}
	t.Cleanup(s.stop)
	// Wait for the server to answer on its socket.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		db := s.rootDB(t, "")
		err := db.Ping()
		db.Close()
		if err == nil {
			return s
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Fatalf("mariadbd exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd does not answer: %v", err)
		}
	}
}

func (s *myServer) rootDB(t *testing.T, db string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "unix", s.sock, db
	cfg.Logger = nopLogger{}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sql.OpenDB(c)
}

func (s *myServer) exec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	d := s.rootDB(t, db)
	defer d.Close()
	for _, q := range stmts {
		if _, err := d.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func setupMariaDB(t *testing.T) (*myServer, string) {
	s := startMariaDB(t)
	s.exec(t, "", "CREATE DATABASE mail CHARACTER SET utf8mb4",
		"CREATE USER 'postfix'@'localhost' IDENTIFIED BY 'S3cr3t-''pw\\\\-xyzzy'",
		"GRANT SELECT ON mail.* TO 'postfix'@'localhost'")
	s.exec(t, "mail", append(schema(concatFunc),
		`INSERT INTO mailbox VALUES ('back\\slash@example.com', 'example.com/backslash/', 'example.com', 1)`)...)
	return s, fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = mail", s.sock, dbPassword)
}

// TestMariaDB runs the lookups on one private server, then stops it.
func TestMariaDB(t *testing.T) {
	s, header := setupMariaDB(t)
	t.Run("lookups", func(t *testing.T) {
		runLookups(t, "mysql", tableFiles(t, t.TempDir(), header, concatFunc))
	})
	t.Run("NO_BACKSLASH_ESCAPES", func(t *testing.T) {
		// Quotes are doubled, backslashes left alone.
		s.exec(t, "", "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')")
		runLookups(t, "mysql", tableFiles(t, t.TempDir(), header, concatFunc))
	})
	t.Run("down", func(t *testing.T) { testMariaDBDown(t, s, header) })
}

func testMariaDBDown(t *testing.T, s *myServer, header string) {
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
	s.stop()
	_, found, err := tb.Lookup("alice@example.com")
	if err == nil || found {
		t.Fatalf("lookup with the server down: %v, %v; want an error", found, err)
	}
	checkErrorText(t, err, spec, "unix:"+s.sock)
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

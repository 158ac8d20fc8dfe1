// Package sqltest runs private database servers for tests: a PostgreSQL
// cluster (initdb, pg_ctl) and a MariaDB server (mariadb-install-db,
// mariadbd), each in its own temporary directory, on a unix socket in
// it and no TCP port, stopped when the test ends. As root the servers
// run as their own users ("postgres", "mysql"; else "nobody"). A test
// skips, saying why, only when the server programs are not installed
// (scripts/install-test-deps installs them).
package sqltest

import (
	"context"
	"database/sql"
	"fmt"
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
)

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
func serverDir(t testing.TB, owner string) (string, *user.User) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sqltest")
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
	chown(t, dir, u)
	return dir, u
}

func chown(t testing.TB, path string, u *user.User) {
	if u == nil {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// asUser runs a program as u (nil: as this process).
func asUser(u *user.User, prog string, args ...string) *exec.Cmd {
	if u == nil {
		return exec.Command(prog, args...)
	}
	return exec.Command("runuser", append([]string{"-u", u.Username, "--", prog}, args...)...)
}

// Postgres is a running private cluster. The superuser "postgres" is
// trusted on the socket; every other role must give its password
// (SCRAM).
type Postgres struct {
	SockDir string // the socket directory: "hosts = unix:" + SockDir
	data    string
	u       *user.User
	pgctl   string
	opts    string
	log     string
}

// StartPostgres initializes and starts a cluster.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	libs := "/usr/lib/postgresql/*/bin"
	initdb, pgctl := findProgram("initdb", libs), findProgram("pg_ctl", libs)
	if initdb == "" || pgctl == "" {
		t.Skip("PostgreSQL is not installed (initdb, pg_ctl): run scripts/install-test-deps")
	}
	dir, u := serverDir(t, "postgres")
	s := &Postgres{SockDir: dir, data: filepath.Join(dir, "data"), u: u, pgctl: pgctl,
		opts: fmt.Sprintf("-c listen_addresses='' -k %s -c fsync=off", dir), log: filepath.Join(dir, "log")}
	if out, err := asUser(u, initdb, "-D", s.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	hba := filepath.Join(s.data, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all postgres trust\nlocal all all scram-sha-256\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chown(t, hba, u)
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// Start starts the (stopped) cluster and returns once it accepts
// connections.
func (s *Postgres) Start(t testing.TB) {
	t.Helper()
	if out, err := asUser(s.u, s.pgctl, "-D", s.data, "-o", s.opts, "-l", s.log, "-w", "-t", "120", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(s.log)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster at once (no shutdown checkpoint).
func (s *Postgres) Stop() {
	asUser(s.u, s.pgctl, "-D", s.data, "-m", "immediate", "-w", "stop").Run()
}

// Exec runs statements as the superuser in database db.
func (s *Postgres) Exec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s user=postgres dbname=%s", s.SockDir, db))
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

// MariaDB is a running private server; root has no password on its
// socket.
type MariaDB struct {
	Sock string // "hosts = unix:" + Sock
	stop func()
}

type nopLogger struct{}

func (nopLogger) Print(...any) {}

// StartMariaDB initializes and starts a server.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	installDB := findProgram("mariadb-install-db", "/usr/bin")
	mariadbd := findProgram("mariadbd", "/usr/sbin")
	if installDB == "" || mariadbd == "" {
		t.Skip("MariaDB is not installed (mariadb-install-db, mariadbd): run scripts/install-test-deps")
	}
	dir, u := serverDir(t, "mysql")
	data := filepath.Join(dir, "data")
	var userArg []string
	if u != nil {
		userArg = []string{"--user=" + u.Username}
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, userArg...)
	if out, err := exec.Command(installDB, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	s := &MariaDB{Sock: filepath.Join(dir, "sock")}
	cmd := exec.Command(mariadbd, append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + s.Sock,
		"--skip-networking", "--pid-file=" + filepath.Join(dir, "pid"), "--log-error=" + filepath.Join(dir, "err.log"),
		"--innodb-buffer-pool-size=8M", "--skip-log-bin"}, userArg...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
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
	deadline := time.Now().Add(2 * time.Minute)
	for {
		db := s.root(t, "")
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

// Stop kills the server.
func (s *MariaDB) Stop() { s.stop() }

func (s *MariaDB) root(t testing.TB, db string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "unix", s.Sock, db
	cfg.Logger = nopLogger{}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sql.OpenDB(c)
}

// Exec runs statements as root in database db ("" for none).
func (s *MariaDB) Exec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	d := s.root(t, db)
	defer d.Close()
	for _, q := range stmts {
		if _, err := d.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

package sqlmap

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// myBackend is one MySQL or MariaDB server, through a database/sql pool
// whose connections know their session's sql_mode (see modeConn): the
// quoting of keys depends on NO_BACKSLASH_ESCAPES, as
// mysql_real_escape_string's does.
type myBackend struct {
	db *sql.DB
}

type nopLogger struct{}

func (nopLogger) Print(...any) {}

func openMySQL(ep endpoint, s *settings) (backend, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = s.user, s.password, s.dbname
	if ep.unix {
		cfg.Net, cfg.Addr = "unix", ep.path
	} else {
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(ep.host, strconv.Itoa(ep.port))
	}
	cfg.Timeout = queryTimeout
	cfg.ReadTimeout, cfg.WriteTimeout = queryTimeout, queryTimeout
	cfg.Logger = nopLogger{} // errors reach the caller; the driver would print to stderr
	if err := cfg.Apply(mysql.Charset("utf8mb4", "")); err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(modeConnector{conn})
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(max(s.idle, 1))
	return &myBackend{db: db}, nil
}

func (b *myBackend) query(ctx context.Context, build func(quoter) (string, error)) ([]*string, bool, error) {
	c, err := b.db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	var noBackslash bool
	if err := c.Raw(func(dc any) error {
		mc, ok := dc.(*modeConn)
		if !ok {
			return errors.New("unexpected connection type")
		}
		noBackslash = mc.noBackslash
		return nil
	}); err != nil {
		return nil, false, err
	}
	q, err := build(quoteMySQL(noBackslash))
	if err != nil {
		return nil, false, err
	}
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, false, myClassify(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, myClassify(err)
	}
	if len(cols) == 0 {
		return nil, true, nil
	}
	var values []*string
	row := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, myClassify(err)
		}
		for _, v := range row {
			if !v.Valid {
				values = append(values, nil)
				continue
			}
			s := v.String
			values = append(values, &s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, myClassify(err)
	}
	return values, false, nil
}

// myClassify tells errors the server answered with from failures of
// the (pooled) connection.
func myClassify(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return serverError{err}
	}
	return staleError{err}
}

func (b *myBackend) close() { b.db.Close() }

// modeConnector reads each new connection's sql_mode.
type modeConnector struct{ driver.Connector }

func (m modeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := m.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	mode, err := sessionMode(ctx, dc)
	if err != nil {
		dc.Close()
		return nil, fmt.Errorf("reading sql_mode: %w", err)
	}
	return &modeConn{Conn: dc, noBackslash: strings.Contains(","+mode+",", ",NO_BACKSLASH_ESCAPES,")}, nil
}

func sessionMode(ctx context.Context, dc driver.Conn) (string, error) {
	qc, ok := dc.(driver.QueryerContext)
	if !ok {
		return "", errors.New("driver cannot query")
	}
	rows, err := qc.QueryContext(ctx, "SELECT @@SESSION.sql_mode", nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil && err != io.EOF {
		return "", err
	}
	switch s := v[0].(type) {
	case []byte:
		return strings.ToUpper(string(s)), nil
	case string:
		return strings.ToUpper(s), nil
	}
	return "", nil
}

// modeConn is a driver connection and its session's quoting mode. It
// passes on what database/sql looks for beyond driver.Conn.
type modeConn struct {
	driver.Conn
	noBackslash bool
}

func (m *modeConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return m.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (m *modeConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return m.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (m *modeConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return m.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (m *modeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return m.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (m *modeConn) Ping(ctx context.Context) error {
	return m.Conn.(driver.Pinger).Ping(ctx)
}

func (m *modeConn) ResetSession(ctx context.Context) error {
	return m.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (m *modeConn) IsValid() bool {
	return m.Conn.(driver.Validator).IsValid()
}

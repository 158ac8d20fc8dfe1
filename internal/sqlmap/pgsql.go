package sqlmap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgBackend is one PostgreSQL server, through a pgx connection pool.
type pgBackend struct {
	pool *pgxpool.Pool
}

// pgConnString builds a libpq keyword/value connection string; values
// are quoted, so a password may hold any character.
func pgConnString(ep endpoint, s *settings) string {
	if ep.uri != "" {
		return ep.uri
	}
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	host := ep.host
	if ep.unix {
		host = ep.path
	}
	parts := []string{"host=" + q(host), "port=" + strconv.Itoa(ep.port), "dbname=" + q(s.dbname),
		"connect_timeout=" + strconv.Itoa(int(queryTimeout.Seconds()))}
	if s.user != "" {
		parts = append(parts, "user="+q(s.user))
	}
	if s.password != "" {
		parts = append(parts, "password="+q(s.password))
	}
	return strings.Join(parts, " ")
}

func openPostgres(ep endpoint, s *settings) (backend, error) {
	cfg, err := pgxpool.ParseConfig(pgConnString(ep, s))
	if err != nil {
		return nil, err
	}
	// Results are read as text, as libpq gives them to Postfix; the
	// extended protocol without a prepared statement carries one
	// statement only, whatever the key holds.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.ConnConfig.RuntimeParams["client_encoding"] = "UTF8"
	cfg.MinConns = 0
	cfg.MaxConns = 8
	cfg.MaxConnIdleTime = s.idle
	if s.idle <= 0 {
		cfg.MaxConnIdleTime = 1 // closed at the next health check
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return &pgBackend{pool: pool}, nil
}

func (b *pgBackend) query(ctx context.Context, build func(quoter) (string, error)) ([]*string, bool, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	if enc := pc.ParameterStatus("client_encoding"); enc != "UTF8" {
		return nil, false, serverError{fmt.Errorf("client_encoding is %q, not UTF8", enc)}
	}
	sql, err := build(quotePostgres(pc.ParameterStatus("standard_conforming_strings") == "on"))
	if err != nil {
		return nil, false, err
	}
	rows, err := conn.Conn().Query(ctx, sql)
	if err != nil {
		return nil, false, pgClassify(err)
	}
	defer rows.Close()
	var values []*string
	for rows.Next() {
		for _, v := range rows.RawValues() {
			if v == nil {
				values = append(values, nil)
				continue
			}
			s := string(v)
			values = append(values, &s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, pgClassify(err)
	}
	return values, false, nil
}

// pgClassify tells errors the server answered with from failures of
// the (pooled) connection.
func pgClassify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return serverError{err}
	}
	return staleError{err}
}

func (b *pgBackend) close() { b.pool.Close() }

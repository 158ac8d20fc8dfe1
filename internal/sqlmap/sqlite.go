package sqlmap

import (
	"context"
	"database/sql"
	"net/url"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// liteBackend is the SQLite database file, opened read-only: unlike
// Postfix's sqlite3_open, a missing file is not created (the lookups
// fail until it exists).
type liteBackend struct {
	db *sql.DB
}

func openSQLite(path string) (backend, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return &liteBackend{db: db}, nil
}

func (b *liteBackend) query(ctx context.Context, build func(quoter) (string, error)) ([]*string, bool, error) {
	q, err := build(quoteSQLite)
	if err != nil {
		return nil, false, err
	}
	rows, err := b.db.QueryContext(ctx, q)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, err
	}
	var values []*string
	row := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, err
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
	return values, false, rows.Err()
}

func (b *liteBackend) close() { b.db.Close() }

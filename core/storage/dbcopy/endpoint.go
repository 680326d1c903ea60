package dbcopy

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
)

// endpoint is one side of a copy: an open database of either dialect, through the one door.
type endpoint struct {
	dialect string
	target  string
	h       *factory.Handle
	// db runs SQLite statements: the writer of a target, the read-only pool of a source.
	db *sql.DB
	// pool runs PostgreSQL statements.
	pool *pgxpool.Pool
}

// openSource opens the source read-only: a SQLite source must exist, and nothing is created
// beside it.
func openSource(ctx context.Context, db config.Database) (*endpoint, error) {
	if db.Driver == config.DriverSQLite && (db.Path == "" || db.Path == config.MemoryPath) {
		return nil, fmt.Errorf("open source: SQLite path %q is not a database file", db.Path)
	}
	return openEndpoint(ctx, db, factory.ReadOnly, "source")
}

// openTarget opens the target for writing (creating a SQLite file when missing).
func openTarget(ctx context.Context, db config.Database) (*endpoint, error) {
	if db.Driver == config.DriverSQLite && (db.Path == "" || db.Path == config.MemoryPath) {
		return nil, fmt.Errorf("open target: SQLite path %q is not a database file", db.Path)
	}
	return openEndpoint(ctx, db, factory.ReadWrite, "target")
}

func openEndpoint(ctx context.Context, db config.Database, mode factory.Mode, role string) (*endpoint, error) {
	h, err := factory.Open(ctx, db, mode)
	if err != nil {
		return nil, fmt.Errorf("open %s %s: %w", role, factory.Target(db), err)
	}
	e := &endpoint{dialect: h.Dialect, target: h.Target, h: h, pool: h.Pool}
	if e.pool == nil {
		e.db = h.SQL
	}
	return e, nil
}

func (e *endpoint) close() error { return e.h.Close() }

// exec runs a statement without arguments.
func (e *endpoint) exec(ctx context.Context, q string) error {
	if e.pool != nil {
		_, err := e.pool.Exec(ctx, q)
		return err
	}
	_, err := e.db.ExecContext(ctx, q)
	return err
}

// queryInt64 runs a query returning one integer.
func (e *endpoint) queryInt64(ctx context.Context, q string) (int64, error) {
	var n int64
	var err error
	if e.pool != nil {
		err = e.pool.QueryRow(ctx, q).Scan(&n)
	} else {
		err = e.db.QueryRowContext(ctx, q).Scan(&n)
	}
	return n, err
}

// count returns the number of rows of a table.
func (e *endpoint) count(ctx context.Context, t string) (int64, error) {
	n, err := e.queryInt64(ctx, "SELECT count(*) FROM "+t)
	if err != nil {
		return 0, fmt.Errorf("count %s rows in %s: %w", t, e.target, err)
	}
	return n, nil
}

// hasTable reports whether the table exists.
func (e *endpoint) hasTable(ctx context.Context, name string) (bool, error) {
	q := "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = " + literal(name)
	if e.dialect == config.DriverPostgres {
		q = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = " + literal(name)
	}
	n, err := e.queryInt64(ctx, q)
	if err != nil {
		return false, fmt.Errorf("look for table %s in %s: %w", name, e.target, err)
	}
	return n > 0, nil
}

// literal is a SQL string literal, the same in both dialects (standard_conforming_strings).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// colExpr is how a column is selected: jsonb as its text, everything else as it is.
func (e *endpoint) colExpr(prefix string, c column) string {
	if e.dialect == config.DriverPostgres && c.kind == kJSON {
		return prefix + c.name + "::text"
	}
	return prefix + c.name
}

// scan streams every row of t, in foreign-key order, to fn.
func (e *endpoint) scan(ctx context.Context, t table, fn func(row) error) error {
	for _, q := range readQueries(t, e.colExpr) {
		var err error
		if e.pool != nil {
			err = e.scanPostgres(ctx, t, q, fn)
		} else {
			err = e.scanSQLite(ctx, t, q, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *endpoint) scanSQLite(ctx context.Context, t table, q string, fn func(row) error) error {
	rows, err := e.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
	}
	defer rows.Close()
	raw := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
		}
		r := make(row, len(t.cols))
		for i, c := range t.cols {
			v, err := fromSQLite(c.kind, raw[i])
			if err != nil {
				return fmt.Errorf("read %s.%s from %s: %w", t.name, c.name, e.target, err)
			}
			r[i] = v
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
	}
	return nil
}

// fromSQLite converts a value read from SQLite into the neutral form.
func fromSQLite(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kText, kJSON:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64, float64:
			return fmt.Sprint(x), nil
		}
	case kTime:
		switch x := v.(type) {
		case string:
			return storage.ParseTimeText(x)
		case []byte:
			return storage.ParseTimeText(string(x))
		case time.Time:
			return x.UTC(), nil
		}
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return append([]byte{}, x...), nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("unexpected %T value", v)
}

func (e *endpoint) scanPostgres(ctx context.Context, t table, q string, fn func(row) error) error {
	rows, err := e.pool.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
	}
	defer rows.Close()
	dst := make([]any, len(t.cols))
	texts := make([]*string, len(t.cols))
	times := make([]*time.Time, len(t.cols))
	blobs := make([][]byte, len(t.cols))
	for i, c := range t.cols {
		switch c.kind {
		case kText, kJSON:
			dst[i] = &texts[i]
		case kTime:
			dst[i] = &times[i]
		case kBytes:
			dst[i] = &blobs[i]
		}
	}
	for rows.Next() {
		for i := range blobs {
			blobs[i] = nil
		}
		if err := rows.Scan(dst...); err != nil {
			return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
		}
		r := make(row, len(t.cols))
		for i, c := range t.cols {
			switch c.kind {
			case kText, kJSON:
				if texts[i] != nil {
					r[i] = *texts[i]
				}
			case kTime:
				if times[i] != nil {
					r[i] = times[i].UTC()
				}
			case kBytes:
				if blobs[i] != nil {
					r[i] = blobs[i]
				}
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s from %s: %w", t.name, e.target, err)
	}
	return nil
}

// sqliteBatch is the number of rows per SQLite write transaction.
const sqliteBatch = 2000

// write stores the rows of next (nil when exhausted) into t, and returns the number written.
// PostgreSQL gets one COPY; SQLite gets prepared inserts in transactions of sqliteBatch rows.
func (e *endpoint) write(ctx context.Context, t table, next func() (row, error)) (int64, error) {
	if e.pool != nil {
		src := &copySource{next: next}
		n, err := e.pool.CopyFrom(ctx, pgx.Identifier{t.name}, t.colNames(), src)
		if err == nil {
			err = src.err
		}
		if err != nil {
			return n, fmt.Errorf("write %s to %s: %w", t.name, e.target, err)
		}
		return n, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ")
	q := "INSERT INTO " + t.name + " (" + t.selectList() + ") VALUES (" + marks + ")"
	var written int64
	for {
		n, done, err := e.writeSQLiteBatch(ctx, t, q, next)
		written += n
		if err != nil {
			return written, fmt.Errorf("write %s to %s: %w", t.name, e.target, err)
		}
		if done {
			return written, nil
		}
	}
}

func (e *endpoint) writeSQLiteBatch(ctx context.Context, t table, q string, next func() (row, error)) (n int64, done bool, err error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return 0, false, err
	}
	defer st.Close()
	args := make([]any, len(t.cols))
	for n < sqliteBatch {
		r, err := next()
		if err != nil {
			return 0, false, err
		}
		if r == nil {
			done = true
			break
		}
		for i, c := range t.cols {
			args[i] = toSQLite(c.kind, r[i])
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return 0, false, err
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	return n, done, nil
}

// toSQLite converts a neutral value for SQLite: timestamps as the driver writes them.
func toSQLite(k kind, v any) any {
	if t, ok := v.(time.Time); ok && k == kTime {
		return storage.FormatTimeText(t)
	}
	return v
}

// copySource feeds pgx's CopyFrom from next.
type copySource struct {
	next func() (row, error)
	cur  row
	err  error
}

func (s *copySource) Next() bool {
	if s.err != nil {
		return false
	}
	s.cur, s.err = s.next()
	return s.err == nil && s.cur != nil
}

func (s *copySource) Values() ([]any, error) { return s.cur, nil }

func (s *copySource) Err() error { return s.err }

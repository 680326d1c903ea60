package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"compozy.dev/setup/core/storage"
)

// runner runs the repositories' SQL: on the DB (tx == nil: reads on the reader pool, each write
// through the writer's group commit, see group.go) or inside one writer transaction.
type runner struct {
	db *DB
	tx *sql.Tx
}

// query runs a read.
func (r runner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if r.tx != nil {
		ctx = r.txContext(ctx)
		if st := r.db.wstmts[q]; st != nil {
			return r.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
		return r.tx.QueryContext(ctx, q, args...)
	}
	st, err := r.db.rstmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs one write statement.
func (r runner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if r.tx != nil {
		ctx = r.txContext(ctx)
		if st := r.db.wstmts[q]; st != nil {
			return r.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
		return r.tx.ExecContext(ctx, q, args...)
	}
	if r.db.naive {
		st, err := r.db.rstmts.get(ctx, q)
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, args...)
	}
	return r.db.groupExec(ctx, q, args)
}

// txContext is the context of a statement inside a transaction: in a group transaction
// (see group.go) one without cancellation, because an interrupted statement would roll back the
// whole transaction, other callers' writes with it.
func (r runner) txContext(ctx context.Context) context.Context {
	if r.db.naive {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// atomic runs fn in a writer transaction: the current one, or a new one.
func (r runner) atomic(ctx context.Context, fn func(r runner) error) error {
	if r.tx != nil {
		return fn(r)
	}
	return r.db.inTx(ctx, fn)
}

// stmtCache prepares each query once per pool.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.m[q]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// mapErr turns SQLite constraint errors into the storage errors, keeping the driver error in the
// chain. It uses the extended result codes, never the message.
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_ROWID:
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	}
	if se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		// CHECK, FOREIGNKEY, NOTNULL, TRIGGER and the rest.
		return fmt.Errorf("%w: %w", storage.ErrInvalid, err)
	}
	return err
}

// IsCorrupt reports whether err is SQLite's "database disk image is malformed" (SQLITE_CORRUPT)
// or "file is not a database" (SQLITE_NOTADB).
func IsCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

// IsBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY, including
// BUSY_SNAPSHOT and BUSY_TIMEOUT) or "database table is locked" (SQLITE_LOCKED).
func IsBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

func formatTime(t time.Time) string { return storage.FormatTimeText(t) }

func parseTime(s string) (time.Time, error) { return storage.ParseTimeText(s) }

// now is the current time in UTC, in microseconds like PostgreSQL's timestamptz, so that both
// drivers return the same values.
func (r runner) now() time.Time { return r.db.now().UTC().Truncate(time.Microsecond) }

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// jsonArg binds raw JSON as TEXT (a BLOB would be read as JSONB by SQLite's json functions),
// nil as NULL.
func jsonArg(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// textArg binds "" as NULL.
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// limitArg is SQLite's LIMIT for limit <= 0: none.
func limitArg(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// jsonCol scans a nullable JSON TEXT column.
type jsonCol struct{ v *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	switch s := src.(type) {
	case nil:
		*c.v = nil
	case string:
		*c.v = json.RawMessage(s)
	case []byte:
		*c.v = append(json.RawMessage{}, s...)
	default:
		return fmt.Errorf("scan JSON column: unexpected %T", src)
	}
	return nil
}

// timeCol scans a timestamp TEXT column; NULL leaves a nil *time.Time (ptr) or zero time.
type timeCol struct {
	v   *time.Time
	ptr **time.Time
}

func (c timeCol) Scan(src any) error {
	var s string
	switch x := src.(type) {
	case nil:
		if c.ptr != nil {
			*c.ptr = nil
		}
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	case time.Time:
		t := x.UTC()
		c.set(t)
		return nil
	default:
		return fmt.Errorf("scan timestamp column: unexpected %T", src)
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	c.set(t)
	return nil
}

func (c timeCol) set(t time.Time) {
	if c.ptr != nil {
		*c.ptr = &t
		return
	}
	*c.v = t
}

// textCol scans a nullable TEXT column into a string, NULL as "".
type textCol struct{ v *string }

func (c textCol) Scan(src any) error {
	switch s := src.(type) {
	case nil:
		*c.v = ""
	case string:
		*c.v = s
	case []byte:
		*c.v = string(s)
	default:
		return fmt.Errorf("scan text column: unexpected %T", src)
	}
	return nil
}

// rowsAffected returns ErrNotFound (wrapped by the caller) when the statement changed nothing.
func rowsAffected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// Conn is the configured database opened read-only, as the checks ask it. handleConn, over a
// read-only handle from the one door, is the real one; the unit tests use fakes. Each group of
// checks uses one of the interfaces it is made of.
type Conn interface {
	SQLiteConn
	PostgresConn
	MigrationConn
}

// SQLiteConn is what the SQLite checks ask the read-only connection.
type SQLiteConn interface {
	// Pragma reads a setting back from the connection, as SQLite prints it: busy_timeout
	// ("5000"), journal_mode ("wal"), synchronous ("1").
	Pragma(ctx context.Context, name string) (string, error)
	// QuickCheck runs PRAGMA quick_check(limit): "ok", or up to limit lines of damage.
	QuickCheck(ctx context.Context, limit int) ([]string, error)
	// Unchanged is nil unless another process wrote to the file since an immutable read
	// opened it (see factory.Handle.Unchanged): then what was read is no snapshot.
	Unchanged() error
}

// PostgresConn is what the PostgreSQL checks ask the server over the read-only connection.
type PostgresConn interface {
	// Show reads a run-time setting of the session: SHOW name.
	Show(ctx context.Context, name string) (string, error)
	// InRecovery is pg_is_in_recovery(): true on a hot standby.
	InRecovery(ctx context.Context) (bool, error)
	// Privileges says who the role is and whether it may create tables.
	Privileges(ctx context.Context) (Privileges, error)
	// ClientBackends counts the client connections the server has now.
	ClientBackends(ctx context.Context) (int, error)
	// Clock is the server's clock_timestamp().
	Clock(ctx context.Context) (time.Time, error)
	// RoundTrip runs SELECT 1.
	RoundTrip(ctx context.Context) error
}

// Privileges are the role's rights in the schema it would migrate.
type Privileges struct {
	// Schema is current_schema(); "" when no schema of the search_path exists.
	Schema string
	// Role is current_user.
	Role string
	// CanCreate says whether the role may create tables in Schema.
	CanCreate bool
	// Migrated is set when goose_db_version exists (someone migrated the database).
	Migrated bool
}

// MigrationConn is what the migrations and storage checks read.
type MigrationConn interface {
	doctor.MigrationState
	doctor.TableProber
	// CopyMark reads the mark of an unfinished compozy db copy into this database.
	CopyMark(ctx context.Context) (CopyMark, error)
	// CopyTarget is this database as db copy's --to, quoted for a shell (a SQLite file, or a
	// PostgreSQL URL without its password), and whether it is PostgreSQL.
	CopyTarget() (arg string, postgres bool)
}

// CopyMark is the mark `compozy db copy` leaves on its target until the copy is verified.
type CopyMark struct {
	Marked bool
	// Source and Started say what the copy was from and when it began (what the mark holds).
	Source, Started string
}

// handleConn is Conn over a read-only handle of the one door.
type handleConn struct{ h *factory.Handle }

var _ Conn = handleConn{}

// identifier reports whether s may follow PRAGMA or SHOW: letters, digits and underscores.
func identifier(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	}) < 0
}

func (c handleConn) Pragma(ctx context.Context, name string) (string, error) {
	if !identifier(name) {
		return "", fmt.Errorf("pragma %q: not a setting name", name)
	}
	var v string
	if err := c.h.SQL.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
		return "", fmt.Errorf("PRAGMA %s: %w", name, err)
	}
	return v, nil
}

func (c handleConn) QuickCheck(ctx context.Context, limit int) ([]string, error) {
	rows, err := c.h.SQL.QueryContext(ctx, fmt.Sprintf("PRAGMA quick_check(%d)", max(limit, 1)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	return lines, rows.Err()
}

func (c handleConn) Unchanged() error { return c.h.Unchanged() }

func (c handleConn) Show(ctx context.Context, name string) (string, error) {
	if !identifier(name) {
		return "", fmt.Errorf("show %q: not a setting name", name)
	}
	var v string
	if err := c.h.SQL.QueryRowContext(ctx, "SHOW "+name).Scan(&v); err != nil {
		return "", fmt.Errorf("SHOW %s: %w", name, err)
	}
	return v, nil
}

func (c handleConn) InRecovery(ctx context.Context) (bool, error) {
	var b bool
	err := c.h.SQL.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&b)
	return b, err
}

func (c handleConn) Privileges(ctx context.Context) (Privileges, error) {
	var schema, role sql.NullString
	var p Privileges
	err := c.h.SQL.QueryRowContext(ctx, `SELECT current_schema(), current_user::text,
		COALESCE(has_schema_privilege(current_schema(), 'CREATE'), false),
		to_regclass('goose_db_version') IS NOT NULL`).Scan(&schema, &role, &p.CanCreate, &p.Migrated)
	p.Schema, p.Role = schema.String, role.String
	return p, err
}

func (c handleConn) ClientBackends(ctx context.Context) (int, error) {
	var n int
	err := c.h.SQL.QueryRowContext(ctx, "SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend'").Scan(&n)
	return n, err
}

func (c handleConn) Clock(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := c.h.SQL.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&t)
	return t, err
}

func (c handleConn) RoundTrip(ctx context.Context) error {
	_, err := c.h.SQL.ExecContext(ctx, "SELECT 1")
	return err
}

func (c handleConn) Check(ctx context.Context) (*migrate.CheckResult, error) {
	return c.h.Migrator.Check(ctx)
}

func (c handleConn) MissingTables(ctx context.Context, names []string) ([]string, error) {
	return sqlTables{db: c.h.SQL, dialect: c.h.Dialect}.MissingTables(ctx, names)
}

func (c handleConn) CopyMark(ctx context.Context) (CopyMark, error) {
	src, started, marked, err := copyMark(ctx, c.h)
	return CopyMark{Marked: marked, Source: src, Started: started}, err
}

func (c handleConn) CopyTarget() (string, bool) { return copyArgForTarget(c.h) }

// source opens the configured database read-only once per run, for every check that reads it.
// Nothing is created or changed: not a -wal, -shm or lock file.
type source struct {
	// connect opens the database; release closes what it opened.
	connect func(ctx context.Context) (Conn, error)
	release func()

	mu     sync.Mutex
	conn   Conn
	err    error
	opened bool
}

// doorSource is the source of the database db describes, opened read-only through door.
func doorSource(door Opener, db config.Database) *source {
	var h *factory.Handle
	return &source{
		connect: func(ctx context.Context) (Conn, error) {
			var err error
			if h, err = door.Open(ctx, db, factory.ReadOnly); err != nil {
				return nil, err
			}
			return handleConn{h: h}, nil
		},
		release: func() {
			if h != nil {
				_ = h.Close()
				h = nil
			}
		},
	}
}

// get returns the connection, opening it on first use. A failure caused by the check's own
// deadline is not kept, so a later check with more time tries again.
func (s *source) get(ctx context.Context) (Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened {
		return s.conn, s.err
	}
	c, err := s.connect(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	s.conn, s.err, s.opened = c, err, true
	return c, err
}

// current returns the connection an earlier get opened, without opening.
func (s *source) current() (Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.opened:
		return nil, errors.New("not connected")
	case s.err != nil:
		return nil, s.err
	}
	return s.conn, nil
}

func (s *source) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		s.release()
	}
}

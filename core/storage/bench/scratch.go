package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/workload"
)

// Scratch is a temporary database of the same kind and place as a configured one: a SQLite file
// in the same folder, or a PostgreSQL database (or, without the right to create one, a schema)
// on the same server. Drop removes it.
type Scratch struct {
	// DB is the configuration of the scratch database: the configured one with only the
	// location changed.
	DB config.Database
	// Target is the scratch database in printable form, secrets redacted.
	Target string
	// Kind is "file", "database" or "schema".
	Kind string

	drop func(ctx context.Context) error
}

// NewScratch creates a scratch database beside the one db describes. It never opens the
// configured SQLite file; on PostgreSQL it connects to the configured database only to create
// and later drop the scratch one.
func NewScratch(ctx context.Context, db config.Database) (*Scratch, error) {
	switch db.Driver {
	case config.DriverSQLite:
		return sqliteScratch(db)
	case config.DriverPostgres:
		return postgresScratch(ctx, db)
	default:
		return nil, fmt.Errorf("scratch database: unknown driver %q", db.Driver)
	}
}

// Drop removes the scratch database.
func (s *Scratch) Drop(ctx context.Context) error { return s.drop(ctx) }

func sqliteScratch(db config.Database) (*Scratch, error) {
	dir := os.TempDir()
	if db.Path != "" && db.Path != config.MemoryPath {
		abs, err := filepath.Abs(db.Path)
		if err != nil {
			return nil, fmt.Errorf("scratch database: resolve %s: %w", db.Path, err)
		}
		dir = filepath.Dir(abs)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("scratch database: create folder %s: %w", dir, err)
		}
	}
	f, err := os.CreateTemp(dir, ".compozy-bench-*.db")
	if err != nil {
		return nil, fmt.Errorf("scratch database: create a file in %s: %w", dir, err)
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("scratch database: create %s: %w", path, err)
	}
	s := db
	s.Path = path
	return &Scratch{DB: s, Target: "sqlite " + path, Kind: "file", drop: func(context.Context) error {
		var errs []error
		for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal", path + migrate.LockSuffix} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("drop scratch database %s: %w", path, err)
		}
		return nil
	}}, nil
}

func postgresScratch(ctx context.Context, db config.Database) (*Scratch, error) {
	cfg, err := postgres.PoolConfig(factory.PostgresOptions(db))
	if err != nil {
		return nil, fmt.Errorf("scratch database: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("scratch database: connect to %s: %w", factory.Target(db), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "compozy_bench_" + randomHex(6)
	ident := pgx.Identifier{name}.Sanitize()
	admin := cfg.ConnConfig.Copy()
	s := &Scratch{}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err == nil {
		s.Kind, s.DB = "database", withConnSetting(db, "dbname", name)
		s.drop = func(ctx context.Context) error {
			return adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		}
	} else {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" { // insufficient_privilege
			return nil, fmt.Errorf("scratch database: create database %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
			return nil, fmt.Errorf("scratch database: no right to create a database, and create schema %s: %w", name, err)
		}
		s.Kind, s.DB = "schema", withConnSetting(db, "search_path", name)
		s.drop = func(ctx context.Context) error {
			return adminExec(ctx, admin, "DROP SCHEMA IF EXISTS "+ident+" CASCADE")
		}
	}
	s.Target = factory.Target(s.DB)
	if s.Kind == "schema" {
		s.Target += " (schema " + name + ")"
	}
	return s, nil
}

func adminExec(ctx context.Context, cc *pgx.ConnConfig, sql string) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("drop scratch database: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("drop scratch database: %w", err)
	}
	return nil
}

// withConnSetting returns db with one connection setting (dbname, or a run-time parameter such
// as search_path) set, whichever form the settings have.
func withConnSetting(db config.Database, key, value string) config.Database {
	cs := db.ConnString
	switch {
	case cs == "" && key == "dbname":
		db.Name = value
		return db
	case cs == "":
		// Fields only: carry them over into a keyword/value string that can hold the setting
		// (the password stays apart, in db.Password, which wins when the store opens).
		cs = postgres.DSN(postgres.Options{Host: db.Host, Port: db.Port, User: db.User, Name: db.Name, SSLMode: db.SSLMode})
	case strings.HasPrefix(cs, "postgres://") || strings.HasPrefix(cs, "postgresql://"):
		if u, err := url.Parse(cs); err == nil {
			if key == "dbname" {
				u.Path = "/" + value
			} else {
				q := u.Query()
				q.Set(key, value)
				u.RawQuery = q.Encode()
			}
			db.ConnString = u.String()
			return db
		}
	}
	// Keyword/value: a later setting wins.
	db.ConnString = strings.TrimSpace(cs + " " + key + "=" + postgres.QuoteValue(value))
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("bench: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// Variant is one database setup to measure.
type Variant struct {
	// Name labels the variant in reports, e.g. "sqlite (as configured)".
	Name string
	// DB is the configuration to measure (on a scratch database beside it).
	DB config.Database
	// Naive opens SQLite with database/sql's defaults (sqlite.Options.Naive).
	Naive bool
}

// Measure creates a scratch database for v, applies the migrations, runs the workload with o,
// and drops the scratch database.
func Measure(ctx context.Context, v Variant, o Options) (*Result, error) {
	sc, err := NewScratch(ctx, v.DB)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sc.Drop(context.WithoutCancel(ctx)) }()
	store, closeStore, err := openMigrated(ctx, sc.DB, v.Naive)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	if o.IDPrefix == "" {
		o.IDPrefix = "bench-" + randomHex(4)
	}
	return Run(ctx, store, o)
}

// openMigrated opens the scratch database and applies every migration.
func openMigrated(ctx context.Context, db config.Database, naive bool) (storage.Store, func(), error) {
	h, err := factory.Open(ctx, db)
	if err != nil {
		return nil, nil, fmt.Errorf("open scratch database: %w", err)
	}
	if err := migrateUp(ctx, h); err != nil {
		_ = h.Close()
		return nil, nil, err
	}
	if !naive || db.Driver != config.DriverSQLite {
		return h.Store, func() { _ = h.Close() }, nil
	}
	if err := h.Close(); err != nil {
		return nil, nil, fmt.Errorf("close scratch database: %w", err)
	}
	o := factory.SQLiteOptions(db)
	o.Naive = true
	d, err := sqlite.Open(ctx, o)
	if err != nil {
		return nil, nil, fmt.Errorf("open scratch database (naive): %w", err)
	}
	return d, func() { _ = d.Close() }, nil
}

func migrateUp(ctx context.Context, h *factory.Handle) error {
	m, err := migrate.New(h.SQL, h.Dialect, migrate.Options{Path: h.Path})
	if err != nil {
		return fmt.Errorf("migrate scratch database: %w", err)
	}
	if _, err := m.Up(ctx); err != nil {
		return fmt.Errorf("migrate scratch database: %w", err)
	}
	return nil
}

// Ceiling measures the one-row-per-commit rate of a SQLite database configured as db, on a
// migrated scratch file beside it: one connection inserting one task_states row (about 1 KB of
// JSON, the real table with its indexes and checks) per transaction for d. It is what a store
// that commits each write on its own can reach at best on this file and machine.
func Ceiling(ctx context.Context, db config.Database, d time.Duration) (float64, error) {
	if db.Driver != config.DriverSQLite {
		return 0, errors.New("ceiling: SQLite only")
	}
	sc, err := NewScratch(ctx, db)
	if err != nil {
		return 0, err
	}
	defer func() { _ = sc.Drop(context.WithoutCancel(ctx)) }()
	h, err := factory.Open(ctx, sc.DB)
	if err != nil {
		return 0, fmt.Errorf("ceiling: open scratch database: %w", err)
	}
	defer h.Close()
	if err := migrateUp(ctx, h); err != nil {
		return 0, err
	}
	w := h.SQL // the one writer connection
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
	if _, err := w.ExecContext(ctx, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, created_at, updated_at)
		VALUES ('ceiling', 'ceiling', 'RUNNING', ?, ?)`, now, now); err != nil {
		return 0, fmt.Errorf("ceiling: insert workflow: %w", err)
	}
	st, err := w.PrepareContext(ctx, `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id,
		workflow_id, execution_type, input, created_at, updated_at) VALUES ('task', 'PENDING', ?, 'task', 'ceiling', 'ceiling', 'basic', ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("ceiling: prepare: %w", err)
	}
	defer st.Close()
	doc := string(workload.DefaultPayloads().TaskOutput)
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := st.ExecContext(ctx, "ceiling-"+strconv.Itoa(n), doc, now, now); err != nil {
			return 0, fmt.Errorf("ceiling: insert: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

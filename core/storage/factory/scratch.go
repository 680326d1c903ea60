package factory

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
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/sqlitefile"
)

// scratchPrefix starts the name of a scratch SQLite file: ".compozy-scratch-PID-RANDOM.db".
const scratchPrefix = ".compozy-scratch-"

// OpenScratch creates a new database beside the one db describes (a SQLite file in the same
// folder, or a PostgreSQL database on the same server, or, without the right to create one, a
// schema in the configured database), applies every migration, and opens it read-write. Close
// drops it. It never opens the configured SQLite file. naive opens a SQLite scratch file the
// way compozy avoids (sqlite.Options.Naive), for `compozy db bench` to show the difference.
func OpenScratch(ctx context.Context, db config.Database, naive bool) (*Handle, error) {
	var (
		sdb        config.Database
		kind, name string
		drop       func(context.Context) error
		err        error
	)
	switch db.Driver {
	case config.DriverSQLite:
		sdb, drop, err = sqliteScratch(db)
		kind = "file"
	case config.DriverPostgres:
		sdb, kind, name, drop, err = postgresScratch(ctx, db)
	default:
		return nil, fmt.Errorf("scratch database: unknown driver %q", db.Driver)
	}
	if err != nil {
		return nil, err
	}
	dropNow := func() { _ = drop(context.WithoutCancel(ctx)) }
	var h *Handle
	if sdb.Driver == config.DriverPostgres {
		h, err = openPostgres(ctx, sdb, ReadWrite, true)
	} else {
		h, err = Open(ctx, sdb, ReadWrite)
	}
	if err != nil {
		dropNow()
		return nil, fmt.Errorf("open scratch database: %w", err)
	}
	if _, err := h.Migrator.Up(ctx); err != nil {
		_ = h.Close()
		dropNow()
		return nil, fmt.Errorf("migrate scratch database: %w", err)
	}
	if naive && sdb.Driver == config.DriverSQLite {
		if err := h.Close(); err != nil {
			dropNow()
			return nil, fmt.Errorf("close scratch database: %w", err)
		}
		if h, err = openSQLite(ctx, sdb, ReadWrite, true); err != nil {
			dropNow()
			return nil, fmt.Errorf("open scratch database (naive): %w", err)
		}
	}
	h.Mode, h.ScratchKind = Scratch, kind
	if kind == "schema" {
		h.Target += " (schema " + name + ")"
	}
	h.closers = append([]func() error{func() error { return drop(context.WithoutCancel(ctx)) }}, h.closers...)
	return h, nil
}

// sqliteScratch creates an empty scratch file in the folder of db's real file, after removing
// the scratch files of processes that no longer run (a killed `db bench`).
func sqliteScratch(db config.Database) (config.Database, func(context.Context) error, error) {
	dir := os.TempDir()
	if db.Path != "" && db.Path != config.MemoryPath {
		real, err := sqlitefile.Resolve(db.Path)
		if err != nil {
			return db, nil, fmt.Errorf("scratch database: %w", err)
		}
		dir = filepath.Dir(real)
		if err := atomicfile.MkdirAll(dir, 0o750); err != nil {
			return db, nil, fmt.Errorf("scratch database: create folder %s: %w", dir, err)
		}
	}
	sweepScratch(dir)
	f, err := os.CreateTemp(dir, scratchPrefix+strconv.Itoa(os.Getpid())+"-*.db")
	if err != nil {
		return db, nil, fmt.Errorf("scratch database: create a file in %s: %w", dir, err)
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		return db, nil, fmt.Errorf("scratch database: create %s: %w", path, err)
	}
	s := db
	s.Path = path
	return s, func(context.Context) error { return removeSQLite(path) }, nil
}

// removeSQLite removes a SQLite file and the files SQLite and the migrator keep beside it.
func removeSQLite(path string) error {
	var errs []error
	for _, p := range []string{path, path + sqlitefile.WALSuffix, path + sqlitefile.SHMSuffix, path + sqlitefile.JournalSuffix, path + migrate.LockSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("drop scratch database %s: %w", path, err)
	}
	return nil
}

// sweepScratch removes scratch files whose process no longer runs.
func sweepScratch(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), scratchPrefix)
		if !ok || !strings.HasSuffix(rest, ".db") {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // alive (or another user's)
		}
		_ = removeSQLite(filepath.Join(dir, e.Name()))
	}
}

// postgresScratch creates a scratch database (or schema) on db's server and returns its
// settings, its kind, its name and how to drop it.
func postgresScratch(ctx context.Context, db config.Database) (config.Database, string, string, func(context.Context) error, error) {
	cfg, err := postgres.PoolConfig(PostgresOptions(db))
	if err != nil {
		return db, "", "", nil, fmt.Errorf("scratch database: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return db, "", "", nil, fmt.Errorf("scratch database: %w", PasswordError(db, postgres.ConnectError(Target(db), cfg.ConnConfig, err)))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "compozy_scratch_" + randomHex(6)
	ident := pgx.Identifier{name}.Sanitize()
	admin := cfg.ConnConfig.Copy()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident)
	if err == nil {
		return withConnSetting(db, "dbname", name), "database", name, func(ctx context.Context) error {
			return adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		}, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" { // insufficient_privilege
		return db, "", "", nil, fmt.Errorf("scratch database: create database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return db, "", "", nil, fmt.Errorf("scratch database: no right to create a database, and create schema %s: %w", name, err)
	}
	return withConnSetting(db, "search_path", name), "schema", name, func(ctx context.Context) error {
		return adminExec(ctx, admin, "DROP SCHEMA IF EXISTS "+ident+" CASCADE")
	}, nil
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
		cs = postgres.DSN(postgres.Options{Host: db.Host, Port: db.Port, User: db.User, Name: db.Name, SSLMode: db.SSLMode,
			ConnectTimeout: db.ConnectTimeout})
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
		panic(fmt.Sprintf("factory: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// MemoryCopy returns an in-memory database with the schema (tables, indexes, triggers) of the
// SQLite database h and none of its rows, opened read-write: a place to try writes against the
// real schema without touching the file (the doctor's round trip). h may be read-only.
func MemoryCopy(ctx context.Context, h *Handle) (*Handle, error) {
	if h.Dialect != config.DriverSQLite {
		return nil, errors.New("memory copy: SQLite only")
	}
	rows, err := h.SQL.QueryContext(ctx, `SELECT sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
		ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid`)
	if err != nil {
		return nil, fmt.Errorf("memory copy: read the schema of %s: %w", h.Target, err)
	}
	var stmts []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("memory copy: read the schema of %s: %w", h.Target, err)
		}
		stmts = append(stmts, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memory copy: read the schema of %s: %w", h.Target, err)
	}
	db := h.db
	db.Path = sqlite.MemoryPath
	m, err := openSQLite(ctx, db, ReadWrite, false)
	if err != nil {
		return nil, fmt.Errorf("memory copy: %w", err)
	}
	for _, s := range stmts {
		if _, err := m.SQL.ExecContext(ctx, s); err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("memory copy: recreate the schema of %s: %w", h.Target, err)
		}
	}
	m.Target = "an in-memory copy of the schema of " + h.Target
	return m, nil
}

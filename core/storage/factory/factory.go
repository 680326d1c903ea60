// Package factory opens the storage driver a configuration names. It is the one place that
// imports both drivers, so that core/storage stays free of them and callers stay free of
// driver switches.
package factory

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
)

// Handle is an open database: the repositories plus what migrations and diagnostics need.
type Handle struct {
	// Store is the repositories.
	Store storage.Store
	// SQL is a database/sql handle for goose: the SQLite writer, or a pgx stdlib handle over
	// the PostgreSQL pool. Close closes it; do not close it yourself.
	SQL *sql.DB
	// Dialect is config.DriverSQLite or config.DriverPostgres (also the migrations' dialect
	// names).
	Dialect string
	// Path is the absolute SQLite file (or ":memory:"); "" for PostgreSQL.
	Path string
	// Target is the database in printable form, secrets redacted (see Target).
	Target string
}

// Close closes the store and its connections.
func (h *Handle) Close() error {
	if err := h.Store.Close(); err != nil {
		return fmt.Errorf("close %s: %w", h.Target, err)
	}
	return nil
}

// Open opens the database db describes. It connects (PostgreSQL) or creates the file
// (SQLite) but applies no migration.
func Open(ctx context.Context, db config.Database) (*Handle, error) {
	switch db.Driver {
	case config.DriverSQLite:
		d, err := sqlite.Open(ctx, SQLiteOptions(db))
		if err != nil {
			return nil, err
		}
		return &Handle{Store: d, SQL: d.Writer(), Dialect: config.DriverSQLite, Path: d.Path(),
			Target: "sqlite " + d.Path()}, nil
	case config.DriverPostgres:
		d, err := postgres.Open(ctx, PostgresOptions(db))
		if err != nil {
			return nil, err
		}
		return &Handle{Store: d, SQL: d.SQLDB(), Dialect: config.DriverPostgres, Target: d.Redacted()}, nil
	case "":
		return nil, fmt.Errorf("open database: no driver configured (want %q or %q)", config.DriverPostgres, config.DriverSQLite)
	default:
		return nil, fmt.Errorf("open database: unknown driver %q (want %q or %q)", db.Driver, config.DriverPostgres, config.DriverSQLite)
	}
}

// Target describes the database db points at without opening it, secrets redacted:
// "sqlite /abs/path/compozy.db", "sqlite :memory:", or a PostgreSQL URL such as
// "postgres://app:[redacted]@db:5432/compozy?sslmode=disable".
func Target(db config.Database) string {
	switch db.Driver {
	case config.DriverSQLite:
		switch db.Path {
		case "":
			return "sqlite (no path configured)"
		case sqlite.MemoryPath:
			return "sqlite " + sqlite.MemoryPath
		}
		if abs, err := filepath.Abs(db.Path); err == nil {
			return "sqlite " + abs
		}
		return "sqlite " + db.Path
	case config.DriverPostgres:
		return postgres.Target(PostgresOptions(db))
	default:
		return fmt.Sprintf("unknown database driver %q", db.Driver)
	}
}

// SQLiteOptions maps the configuration to the SQLite driver. max_open_conns sizes the read-only
// pool (the one writer connection comes on top); the pool-lifetime settings do not apply.
func SQLiteOptions(db config.Database) sqlite.Options {
	return sqlite.Options{
		Path:        db.Path,
		BusyTimeout: db.BusyTimeout,
		JournalMode: db.JournalMode,
		Synchronous: db.Synchronous,
		Readers:     max(db.MaxOpenConns, 0),
	}
}

// PostgresOptions maps the configuration to the PostgreSQL driver: max_open_conns is the pool
// size. max_idle_conns is a ceiling in database/sql, which pgxpool has no equivalent of (its
// MinIdleConns is a floor that opens connections in the background), so it is not mapped: idle
// connections close after conn_max_idle_time.
func PostgresOptions(db config.Database) postgres.Options {
	return postgres.Options{
		ConnString:      db.ConnString,
		Host:            db.Host,
		Port:            db.Port,
		User:            db.User,
		Password:        db.Password,
		Name:            db.Name,
		SSLMode:         db.SSLMode,
		MaxConns:        clampInt32(db.MaxOpenConns),
		ConnMaxLifetime: db.ConnMaxLifetime,
		ConnMaxIdleTime: db.ConnMaxIdleTime,
		ConnectTimeout:  db.ConnectTimeout,
	}
}

func clampInt32(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}

// Package storagetest is the conformance suite of the storage repositories, in the spirit of
// testing/fstest: every driver runs the same Run against a real database, so the assertions, not
// the drivers, define the contract. It also holds the workflow life-cycle workload shared by the
// concurrency tests and the benchmarks, and a helper that applies the embedded migrations.
package storagetest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"compozy.dev/setup/migrations"
)

// Migrate applies every embedded migration of dialect ("sqlite" or "postgres") to db with goose,
// failing tb when one does not apply.
func Migrate(tb testing.TB, dialect string, db *sql.DB) {
	tb.Helper()
	var gd goose.Dialect
	switch dialect {
	case migrations.SQLite:
		gd = goose.DialectSQLite3
	case migrations.Postgres:
		gd = goose.DialectPostgres
	default:
		tb.Fatalf("migrate: unknown dialect %q", dialect)
	}
	fsys, err := migrations.FS(dialect)
	if err != nil {
		tb.Fatalf("migrate %s: %v", dialect, err)
	}
	p, err := goose.NewProvider(gd, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		tb.Fatalf("migrate %s: new goose provider: %v", dialect, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Up(ctx); err != nil {
		tb.Fatalf("migrate %s: up: %v", dialect, err)
	}
}

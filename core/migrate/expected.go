package migrate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	"compozy.dev/setup/migrations"
)

// ExpectedSQLite returns the schema this binary's SQLite migrations make at version (0 means
// none), built in mem, an empty database of its own (an in-memory one: the caller opens it;
// migrations run on it).
func ExpectedSQLite(ctx context.Context, mem *sql.DB, version int64) (*Schema, error) {
	if version > 0 {
		m, err := New(mem, migrations.SQLite, Options{})
		if err != nil {
			return nil, err
		}
		if _, err := m.UpTo(ctx, version); err != nil {
			return nil, fmt.Errorf("build the expected schema: %w", err)
		}
	}
	return ReadSchema(ctx, mem, migrations.SQLite, "")
}

// ExpectedPostgres returns the schema this binary's PostgreSQL migrations make at version, built
// in a scratch schema inside one transaction on db that is rolled back: nothing is left in the
// database, and no other session sees the scratch schema. CREATE INDEX CONCURRENTLY, which
// cannot run in a transaction, runs as a plain CREATE INDEX there (the result is the same index).
func ExpectedPostgres(ctx context.Context, db *sql.DB, version int64) (*Schema, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("build the expected schema: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("build the expected schema: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	scratch := "compozy_drift_" + hex.EncodeToString(b)
	if _, err := tx.ExecContext(ctx, `CREATE SCHEMA "`+scratch+`"`); err != nil {
		return nil, fmt.Errorf("build the expected schema: create a scratch schema (rolled back): %w", err)
	}
	// The scratch schema first; public stays after it so that extensions installed there
	// (vector) resolve as they do for the real schema.
	if _, err := tx.ExecContext(ctx, `SELECT set_config('search_path', $1, true)`, `"`+scratch+`", public`); err != nil {
		return nil, fmt.Errorf("build the expected schema: %w", err)
	}
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		return nil, err
	}
	known, err := knownFrom(fsys)
	if err != nil {
		return nil, err
	}
	for _, k := range known {
		if k.Version > version {
			break
		}
		up, err := upSQL(fsys, k.File)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(up) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, up); err != nil {
			return nil, fmt.Errorf("build the expected schema: %s: %w", k.File, err)
		}
	}
	return ReadSchema(ctx, tx, migrations.Postgres, scratch)
}

// upSQL is the up step of a migration file, with CONCURRENTLY taken out.
func upSQL(fsys fs.FS, file string) (string, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	_, up, ok := strings.Cut(string(b), "-- +goose Up")
	if !ok {
		return "", nil
	}
	up, _, _ = strings.Cut(up, "-- +goose Down")
	return concurrent.ReplaceAllString(up, ""), nil
}

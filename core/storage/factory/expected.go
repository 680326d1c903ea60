package factory

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/sqlite"
)

// ErrNoScratchSchema is wrapped by ExpectedSchema when PostgreSQL refuses the scratch schema the
// expected schema is built in: the role may not create a schema in the database, or the server
// only reads (a hot standby). Nothing was compared.
var ErrNoScratchSchema = errors.New("cannot create a scratch schema to build the expected schema in (it needs CREATE on the database and a server that accepts writes; it is rolled back)")

// LiveSchema reads the schema of Compozy's tables (columns, constraints, indexes, triggers) in
// the database h. It only reads, on any handle.
func LiveSchema(ctx context.Context, h *Handle) (*migrate.Schema, error) {
	s, err := migrate.ReadSchema(ctx, h.SQL, h.Dialect, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Target, err)
	}
	return s, nil
}

// ExpectedSchema returns the schema this binary's migrations make at version, for a database of
// h's driver, and leaves nothing durable behind: for SQLite in a new in-memory database opened
// through this door (and closed again), never a file; for PostgreSQL in a scratch schema inside
// one transaction on h that is rolled back (CREATE INDEX CONCURRENTLY runs as a plain CREATE
// INDEX there). h may be read-only.
func ExpectedSchema(ctx context.Context, h *Handle, version int64) (*migrate.Schema, error) {
	switch h.Dialect {
	case config.DriverSQLite:
		db := h.db
		db.Path = sqlite.MemoryPath
		mem, err := openSQLite(ctx, db, ReadWrite, false)
		if err != nil {
			return nil, fmt.Errorf("build the expected schema: open an in-memory database: %w", err)
		}
		defer mem.Close()
		return migrate.ExpectedSQLite(ctx, mem.SQL, version)
	case config.DriverPostgres:
		s, err := migrate.ExpectedPostgres(ctx, h.SQL, version)
		var pgErr *pgconn.PgError
		// 42501 insufficient_privilege, 25006 read_only_sql_transaction
		if errors.As(err, &pgErr) && (pgErr.Code == "42501" || pgErr.Code == "25006") {
			return nil, fmt.Errorf("%s: %w: %s", h.Target, ErrNoScratchSchema, pgErr.Message)
		}
		return s, err
	}
	return nil, fmt.Errorf("build the expected schema: unknown driver %q", h.Dialect)
}

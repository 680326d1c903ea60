package factory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/sqlitefile"
)

// Identity is what a database is, whatever name reaches it: for SQLite the real file (device
// and inode, or the real path of a file not created yet), for PostgreSQL the server, the
// database and the schema.
type Identity struct {
	Driver string `json:"driver"`
	// Path is the real SQLite file (":memory:" is never the same as anything).
	Path string `json:"path,omitempty"`
	// Dev and Ino identify an existing SQLite file; zero when it does not exist yet.
	Dev uint64 `json:"dev,omitempty"`
	Ino uint64 `json:"ino,omitempty"`
	// Server identifies a PostgreSQL server: its system identifier (the same for every host
	// name and address that reaches it), or, where that may not be read, its start time and
	// port.
	Server string `json:"server,omitempty"`
	// DatabaseOID and Database name the database on that server; Schema is where Compozy's
	// tables are (the first schema of the search_path).
	DatabaseOID uint32 `json:"database_oid,omitempty"`
	Database    string `json:"database,omitempty"`
	Schema      string `json:"schema,omitempty"`
}

// Same reports whether a and b are one database.
func (a Identity) Same(b Identity) bool {
	if a.Driver != b.Driver || a.Driver == "" {
		return false
	}
	switch a.Driver {
	case config.DriverSQLite:
		if a.Path == sqlite.MemoryPath || b.Path == sqlite.MemoryPath {
			return false
		}
		if a.Ino != 0 && b.Ino != 0 {
			return a.Dev == b.Dev && a.Ino == b.Ino
		}
		return a.Path == b.Path
	case config.DriverPostgres:
		return a.Server == b.Server && a.DatabaseOID == b.DatabaseOID && a.Schema == b.Schema
	}
	return false
}

// String describes the identity for messages.
func (a Identity) String() string {
	switch a.Driver {
	case config.DriverSQLite:
		if a.Ino == 0 {
			return "SQLite file " + a.Path + " (not created yet)"
		}
		return fmt.Sprintf("SQLite file %s (device %d, inode %d)", a.Path, a.Dev, a.Ino)
	case config.DriverPostgres:
		return fmt.Sprintf("PostgreSQL database %s (oid %d, schema %s) on the server %s", a.Database, a.DatabaseOID, a.Schema, a.Server)
	}
	return "unknown database"
}

// Identify says which database db names, without writing anything: a SQLite file is resolved
// and stat'ed (it need not exist), a PostgreSQL server is asked.
func Identify(ctx context.Context, db config.Database) (Identity, error) {
	switch db.Driver {
	case config.DriverSQLite:
		return identifySQLite(db.Path)
	case config.DriverPostgres:
		cfg, err := postgres.PoolConfig(PostgresOptions(db))
		if err != nil {
			return Identity{}, err
		}
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
		if err != nil {
			return Identity{}, postgres.ConnectError(Target(db), cfg.ConnConfig, err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return identifyPostgres(ctx, conn)
	}
	return Identity{}, fmt.Errorf("identify database: unknown driver %q", db.Driver)
}

func identifySQLite(path string) (Identity, error) {
	id := Identity{Driver: config.DriverSQLite, Path: path}
	if path == "" || path == sqlite.MemoryPath {
		return id, nil
	}
	real, err := sqlitefile.Resolve(path)
	if err != nil {
		return id, err
	}
	id.Path = real
	info, err := sqlitefile.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return id, nil
	case err != nil:
		return id, err
	}
	id.Dev, id.Ino = info.Dev, info.Ino
	return id, nil
}

// queryRower is what a pgx connection and pool have in common for one row.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// identifyPostgres asks the server who it is. pg_control_system() gives the cluster's system
// identifier; a managed service may refuse it, and then the postmaster's start time and port
// stand in (two servers do not start in the same microsecond).
func identifyPostgres(ctx context.Context, q queryRower) (Identity, error) {
	id := Identity{Driver: config.DriverPostgres}
	var (
		oid           int64
		schema        *string
		started, port string
	)
	err := q.QueryRow(ctx, `SELECT current_database(), d.oid::int8, current_schema(),
		pg_postmaster_start_time()::text, current_setting('port')
		FROM pg_database d WHERE d.datname = current_database()`).Scan(&id.Database, &oid, &schema, &started, &port)
	if err != nil {
		return id, fmt.Errorf("identify the database: %w", err)
	}
	id.DatabaseOID = uint32(oid)
	if schema != nil {
		id.Schema = *schema
	}
	var sysid int64
	if err := q.QueryRow(ctx, `SELECT system_identifier FROM pg_control_system()`).Scan(&sysid); err == nil {
		id.Server = "system " + strconv.FormatInt(sysid, 10)
	} else {
		id.Server = "started " + started + ", port " + port
	}
	return id, nil
}

// Identity says which database the handle is.
func (h *Handle) Identity(ctx context.Context) (Identity, error) {
	if h.Dialect == config.DriverSQLite {
		return identifySQLite(h.Path)
	}
	return identifyPostgres(ctx, h.Pool)
}

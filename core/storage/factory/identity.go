package factory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/sqlitefile"
)

// Identity is what a database is, whatever name reaches it: for SQLite the real file (device
// and inode, or the real path of a file not created yet), for PostgreSQL the server, the
// database and the schemas that Compozy's tables are in.
type Identity struct {
	Driver string `json:"driver"`
	// Path is the real SQLite file (":memory:" is never the same as anything).
	Path string `json:"path,omitempty"`
	// Dev and Ino identify an existing SQLite file; zero when it does not exist yet.
	Dev uint64 `json:"dev,omitempty"`
	Ino uint64 `json:"ino,omitempty"`
	// Server describes the PostgreSQL server for messages: its system identifier or, where that
	// may not be read, its start time and port.
	Server string `json:"server,omitempty"`
	// SystemID is the cluster's system identifier (pg_control_system), the same for every host
	// name and address that reaches it; "" where the role may not read it (managed services
	// revoke it).
	SystemID string `json:"system_identifier,omitempty"`
	// Started (the postmaster's start time in UTC, to the microsecond) and Port identify the
	// server when one side has no SystemID: every role may read them, and two servers do not
	// start in the same microsecond on the same port. The time is formatted by the server in
	// UTC, so neither the session's TimeZone nor its DateStyle changes it.
	Started string `json:"started,omitempty"`
	Port    string `json:"port,omitempty"`
	// DatabaseOID and Database name the database on that server.
	DatabaseOID uint32 `json:"database_oid,omitempty"`
	Database    string `json:"database,omitempty"`
	// Schema is the first schema of the search_path (current_schema(); "" when none exists).
	Schema string `json:"schema,omitempty"`
	// Schemas are where the unqualified names of Compozy's tables lead on this connection: the
	// schema each existing table is found in through the search_path, and current_schema() for
	// a table that does not exist yet (where it would be created). Two connections to one
	// database are the same database when these overlap: a write through one would change what
	// the other reads.
	Schemas []string `json:"schemas,omitempty"`
}

// identityTables are the tables whose schemas make a PostgreSQL identity: Compozy's tables and
// goose's version table, which every command reads and writes by their unqualified names.
var identityTables = []string{"workflow_states", "task_states", "users", "api_keys", "goose_db_version"}

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
		return a.sameServer(b) && a.DatabaseOID == b.DatabaseOID && overlap(a.schemas(), b.schemas())
	}
	return false
}

// sameServer compares system identifiers where both sides could read theirs, and otherwise
// the start time and port, which both sides always have: one role may be refused
// pg_control_system() while another (a superuser) is not, and the two must still be
// recognised as one server.
func (a Identity) sameServer(b Identity) bool {
	if a.SystemID != "" && b.SystemID != "" {
		return a.SystemID == b.SystemID
	}
	if a.Started != "" || b.Started != "" {
		return a.Started == b.Started && a.Port == b.Port
	}
	return a.Server == b.Server
}

// schemas are the identity's schemas; an identity built by hand with only Schema has that one.
func (a Identity) schemas() []string {
	if len(a.Schemas) > 0 {
		return a.Schemas
	}
	return []string{a.Schema}
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
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
		schemas := strings.Join(a.schemas(), ", ")
		if schemas == "" {
			schemas = "none"
		}
		return fmt.Sprintf("PostgreSQL database %s (oid %d, schema %s) on the server %s", a.Database, a.DatabaseOID, schemas, a.Server)
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
			// Like every other first connection: a refused password says where it came from.
			return Identity{}, PasswordError(db, postgres.ConnectError(Target(db), cfg.ConnConfig, err))
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
// identifier; a managed service may refuse it, so the postmaster's start time and port are
// always read too (see Identity.sameServer). The schemas are where Compozy's tables are found
// through this connection's search_path (see Identity.Schemas).
func identifyPostgres(ctx context.Context, q queryRower) (Identity, error) {
	id := Identity{Driver: config.DriverPostgres}
	var (
		oid    int64
		schema *string
	)
	err := q.QueryRow(ctx, `SELECT current_database(), d.oid::int8, current_schema(),
		to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		current_setting('port')
		FROM pg_database d WHERE d.datname = current_database()`).Scan(&id.Database, &oid, &schema, &id.Started, &id.Port)
	if err != nil {
		return id, fmt.Errorf("identify the database: %w", err)
	}
	id.DatabaseOID = uint32(oid)
	if schema != nil {
		id.Schema = *schema
	}
	// Where each table's unqualified name leads: the schema it is found in, or, for a table
	// that does not exist, current_schema() (where CREATE TABLE would put it; "" when the
	// search_path names no existing schema).
	var names []string
	for _, t := range identityTables {
		names = append(names, "'"+t+"'")
	}
	var schemas []string
	err = q.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT coalesce(n.nspname::text, current_schema()::text, '')), '{}')
		FROM unnest(ARRAY[`+strings.Join(names, ", ")+`]) AS t(name)
		LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
		LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`).Scan(&schemas)
	if err != nil {
		return id, fmt.Errorf("identify the schemas of the database: %w", err)
	}
	slices.Sort(schemas)
	id.Schemas = schemas
	var sysid int64
	if err := q.QueryRow(ctx, `SELECT system_identifier FROM pg_control_system()`).Scan(&sysid); err == nil {
		id.SystemID = strconv.FormatInt(sysid, 10)
		id.Server = "system " + id.SystemID
	} else {
		id.Server = "started " + id.Started + ", port " + id.Port
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

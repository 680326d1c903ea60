// Package factory is the one door to every database: every command opens the database a
// configuration names through Open, in one of three modes (read-only, read-write, scratch), and
// gets a Handle with the store, the migrator and the database's identity. It is the one place
// that imports both storage drivers, so that core/storage stays free of them and callers stay
// free of driver switches; and the one place that makes a migrator for a real database, so that
// every migrator takes the migration lock of the database's real file.
//
// What the modes promise, for every caller:
//   - ReadOnly creates, changes and removes no file: not the database, not a -wal, -shm,
//     -journal or lock file, not a folder (see sqlite.OpenReadOnly); a missing SQLite file is an
//     error wrapping fs.ErrNotExist.
//   - ReadWrite creates a missing SQLite file (0600, in a 0750 folder), follows symbolic links to
//     the real file (also a link to a file that does not exist yet), and refuses a file with more
//     than one hard link.
//   - Scratch creates a new, migrated database beside the configured one (a file in the same
//     folder, or a database or schema on the same server) and drops it on Close.
//
// A database is its identity, not its spelling: a SQLite database is its real file (device and
// inode), a PostgreSQL database is its server (system identifier), database and schema.
package factory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/internal/shellquote"
)

// Mode is what a Handle may do.
type Mode int

// The modes.
const (
	// ReadOnly reads and changes nothing, not even a file beside the database.
	ReadOnly Mode = iota + 1
	// ReadWrite reads and writes, creating a missing SQLite file.
	ReadWrite
	// Scratch is a new, migrated database beside the configured one, dropped on Close.
	Scratch
)

func (m Mode) String() string {
	switch m {
	case ReadOnly:
		return "read-only"
	case ReadWrite:
		return "read-write"
	case Scratch:
		return "scratch"
	}
	return "mode " + strconv.Itoa(int(m))
}

// Handle is an open database.
type Handle struct {
	// Mode is the mode it was opened in.
	Mode Mode
	// Store is the repositories (ReadWrite and Scratch; nil for ReadOnly).
	Store storage.Store
	// SQL is a database/sql handle: the SQLite writer (ReadWrite, Scratch) or read-only pool
	// (ReadOnly), or a pgx stdlib handle over the PostgreSQL pool. Close closes it.
	SQL *sql.DB
	// Pool is the PostgreSQL pool (for COPY); nil for SQLite.
	Pool *pgxpool.Pool
	// Migrator runs Compozy's migrations on this database. For SQLite it locks the real file's
	// migration lock; on a ReadOnly handle it only reads (its writing runs fail).
	Migrator *migrate.Migrator
	// Dialect is config.DriverSQLite or config.DriverPostgres (also the migrations' dialect).
	Dialect string
	// Path is the real SQLite file (absolute, links followed) or ":memory:"; "" for PostgreSQL.
	Path string
	// Target is the database in printable form, secrets redacted (see Target).
	Target string
	// Scratch describes a scratch database: "file", "database" or "schema"; "" otherwise.
	ScratchKind string
	// Pooler is what was found between compozy and a PostgreSQL server (see postgres.Pooler):
	// a transaction pooler makes the migrator refuse to write, and the pool run queries in the
	// simple protocol unless the connection string chose otherwise. Zero for SQLite.
	Pooler Pooler
	// ExecMode is how the PostgreSQL pool runs queries (default_query_exec_mode's spelling,
	// and why when compozy chose it); "" for SQLite.
	ExecMode string

	db      config.Database
	ro      *sqlite.ReadOnly
	pg      *postgres.DB
	closers []func() error
}

// Open opens the database db describes in mode. Errors name the database (redacted) and the
// step that failed; a SQLite file that does not exist is, in ReadOnly mode, an error wrapping
// fs.ErrNotExist.
func Open(ctx context.Context, db config.Database, mode Mode) (*Handle, error) {
	if mode == Scratch {
		return OpenScratch(ctx, db, false)
	}
	if mode != ReadOnly && mode != ReadWrite {
		return nil, fmt.Errorf("open database: unknown %s", mode)
	}
	switch db.Driver {
	case config.DriverSQLite:
		return openSQLite(ctx, db, mode, false)
	case config.DriverPostgres:
		return openPostgres(ctx, db, mode, false)
	case "":
		return nil, fmt.Errorf("open database: no driver configured (want %q or %q)", config.DriverPostgres, config.DriverSQLite)
	default:
		return nil, fmt.Errorf("open database: unknown driver %q (want %q or %q)", db.Driver, config.DriverPostgres, config.DriverSQLite)
	}
}

func openSQLite(ctx context.Context, db config.Database, mode Mode, naive bool) (*Handle, error) {
	if db.Path == "" {
		return nil, errors.New("open database: SQLite needs a path (database.path)")
	}
	h := &Handle{Mode: mode, Dialect: config.DriverSQLite, db: db}
	if mode == ReadOnly && db.Path != sqlite.MemoryPath {
		ro, err := sqlite.OpenReadOnly(ctx, db.Path, sqlite.ReadOnlyOptions{BusyTimeout: db.BusyTimeout, Synchronous: db.Synchronous})
		if err != nil {
			return nil, err
		}
		h.ro, h.SQL, h.Path = ro, ro.DB, ro.Info.Path
		h.Target = "sqlite " + h.Path
		h.closers = append(h.closers, ro.Close)
		m, err := migrate.New(ro.DB, config.DriverSQLite, migrate.Options{ReadOnly: true})
		if err != nil {
			_ = h.Close()
			return nil, fmt.Errorf("prepare migrations: %w", err)
		}
		h.Migrator = m
		return h, nil
	}
	opts := SQLiteOptions(db)
	opts.Naive = naive
	d, err := sqlite.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	h.Store, h.SQL, h.Path = d, d.Writer(), d.Path()
	h.Target = "sqlite " + h.Path
	h.closers = append(h.closers, d.Close)
	m, err := migrate.New(h.SQL, config.DriverSQLite, migrate.Options{Path: h.Path, ReadOnly: mode == ReadOnly})
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	h.Migrator = m
	return h, nil
}

// openPostgres opens a PostgreSQL handle. private is a scratch database compozy just made: its
// migrator takes no lock (no one else knows the database) and so also works through a pooler.
func openPostgres(ctx context.Context, db config.Database, mode Mode, private bool) (*Handle, error) {
	d, err := postgres.Open(ctx, PostgresOptions(db))
	if err != nil {
		return nil, PasswordError(db, err)
	}
	h := &Handle{Mode: mode, Dialect: config.DriverPostgres, db: db, pg: d, SQL: d.SQLDB(), Pool: d.Pool(),
		Target: d.Redacted(), Pooler: d.Pooler(), ExecMode: d.ExecMode()}
	h.closers = append(h.closers, d.Close)
	if mode != ReadOnly {
		h.Store = d
	}
	mopts := migrate.Options{ReadOnly: mode == ReadOnly, Private: private}
	if !private && RefusesMigrations(h.Pooler) {
		if h.directHost() == "" {
			// PgBouncer names the server behind it on its admin console (only read, 10 s at
			// most); a refusal of the console leaves the advice generic.
			if console, err := postgres.AdminConsole(ctx, PostgresOptions(db)); err == nil {
				h.Pooler = h.Pooler.Merge(console)
			}
		}
		direct := h.directHost()
		mopts.Pooled = &migrate.PoolerError{Pooler: h.Pooler.Name(), Direct: direct, UpCommand: DirectMigrateCommand(db, direct)}
	}
	m, err := migrate.New(h.SQL, config.DriverPostgres, mopts)
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	h.Migrator = m
	return h, nil
}

// Pooler is what the one door finds between compozy and a PostgreSQL server.
type Pooler = postgres.Pooler

// The pooler kinds and modes (see postgres.Pooler).
const (
	PoolerPgBouncer = postgres.PoolerPgBouncer
	PoolerPGlite    = postgres.PoolerPGlite
	PoolerSupabase  = postgres.PoolerSupabase
	PoolerNeon      = postgres.PoolerNeon
	PoolTransaction = postgres.ModeTransaction
	PoolStatement   = postgres.ModeStatement
)

// PgBouncerConsole asks PgBouncer's admin console behind h (the "pgbouncer" database on the
// same host and port, same user) for its version, the pool mode and the server behind it; it
// only reads (SHOW). An error means it is not PgBouncer, or this user may not use the console.
func (h *Handle) PgBouncerConsole(ctx context.Context) (Pooler, error) {
	if h.Dialect != config.DriverPostgres {
		return Pooler{}, errors.New("pgbouncer admin console: not PostgreSQL")
	}
	return postgres.AdminConsole(ctx, PostgresOptions(h.db))
}

// PgBouncerLimits is what PgBouncer's admin console says of its limits and their use (see
// postgres.PgBouncerLimits).
type PgBouncerLimits = postgres.PgBouncerLimits

// Errors of PgBouncer's admin console, for errors.Is: the server is not PgBouncer; PgBouncer
// refused the user (not in admin_users or stats_users).
var (
	ErrNotPgBouncer   = postgres.ErrNotPgBouncer
	ErrConsoleRefused = postgres.ErrConsoleRefused
)

// PgBouncerLimits asks PgBouncer's admin console behind h for max_client_conn, the pool sizes
// and the clients and server connections it has now, not counting h's own sessions (by their
// application_name); it only reads (SHOW). Its errors are PgBouncerConsole's.
func (h *Handle) PgBouncerLimits(ctx context.Context) (PgBouncerLimits, error) {
	if h.Dialect != config.DriverPostgres {
		return PgBouncerLimits{}, errors.New("pgbouncer admin console: not PostgreSQL")
	}
	return postgres.AdminLimits(ctx, PostgresOptions(h.db))
}

// directHost is the server's direct host:port behind a managed pooler, when its pattern says.
func (h *Handle) directHost() string {
	cs, err := PostgresConnSettings(h.db)
	if err != nil {
		return ""
	}
	return h.Pooler.DirectHost(cs.Host, cs.Port)
}

// DirectHost is the server's direct host:port behind the pooler, when known ("" otherwise).
func (h *Handle) DirectHost() string { return h.directHost() }

// RefusesMigrations reports whether compozy migrate up and down refuse to run through p: session
// state does not last there (a transaction or statement pooler, shared sessions), so the
// migration lock does not hold. PGlite is one process with one session: nothing else migrates
// behind it, so it is not refused (its limits are in docs/database/postgresql.md).
func RefusesMigrations(p Pooler) bool { return p.BreaksSessions() && p.Kind != postgres.PoolerPGlite }

// DirectMigrateCommand is `compozy migrate up` through direct (the server's host:port behind a
// pooler), with db's other settings and without the password (COMPOZY_DB_PASSWORD or
// PGPASSWORD gives it), quoted for a shell; "" when direct is not a host:port or db's
// settings do not parse. The doctor and the migrate commands give this one command.
func DirectMigrateCommand(db config.Database, direct string) string {
	if direct == "" {
		return ""
	}
	host, portText, err := net.SplitHostPort(direct)
	if err != nil {
		return ""
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return ""
	}
	cs, err := PostgresConnSettings(db)
	if err != nil {
		return ""
	}
	cs.Hosts, cs.Ports = []string{host}, []int{port}
	return shellquote.Join("compozy", "migrate", "up", "--db-conn-string", cs.URL())
}

// ExecModeSet reports whether db's connection string chooses how pgx runs queries
// (default_query_exec_mode or statement_cache_capacity).
func ExecModeSet(db config.Database) bool { return postgres.ExecModeSet(PostgresOptions(db)) }

// Close closes the store and its connections, and drops a scratch database.
func (h *Handle) Close() error {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	h.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", h.Target, err)
	}
	return nil
}

// Config is the database settings the handle was opened with (Path is the real file).
func (h *Handle) Config() config.Database {
	db := h.db
	if h.Path != "" {
		db.Path = h.Path
	}
	return db
}

// Ping checks that the database answers.
func (h *Handle) Ping(ctx context.Context) error {
	if err := h.SQL.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", h.Target, err)
	}
	return nil
}

// Unchanged reports whether a read-only SQLite file is still as it was when it was opened, which
// makes what was read from it one consistent snapshot (see sqlite.ReadOnly.Unchanged). It is nil
// for every other handle.
func (h *Handle) Unchanged() error {
	if h.ro == nil || h.ro.How != sqlite.ReadImmutable {
		return nil
	}
	return h.ro.Unchanged()
}

// PasswordError is err with where the password came from added to an authentication failure
// (SQLSTATE 28P01 or 28000): `password authentication failed for user "compozy" (password from
// COMPOZY_DB_PASSWORD)`, or (no password was given). Other errors are returned as they are.
func PasswordError(db config.Database, err error) error {
	var ae *postgres.AuthError
	if !errors.As(err, &ae) || !ae.PasswordMatters() {
		return err
	}
	switch {
	case !ae.HadPassword:
		// Whatever the settings say: nothing was sent (init clears a stand-in password).
		ae.From = "no password was given"
	case db.PasswordSource != "":
		ae.From = "password from " + db.PasswordSource
	case db.Password != "":
		ae.From = "password from the database settings"
	case db.ConnString != "" && config.Redact(db.ConnString) != db.ConnString:
		ae.From = "password from the connection string"
	case os.Getenv("PGPASSWORD") != "":
		ae.From = "password from PGPASSWORD"
	default:
		ae.From = "password from the password file (PGPASSFILE or ~/.pgpass)"
	}
	return err
}

// PasswordOrigin is what PasswordError added to err: "password from COMPOZY_DB_PASSWORD", "no
// password was given"; "" when err is no authentication failure.
func PasswordOrigin(err error) string {
	var ae *postgres.AuthError
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.From
}

// Target describes the database db points at without opening it, secrets redacted:
// "sqlite /abs/path/compozy.db" (the real file when the path is a symbolic link), "sqlite
// :memory:", or a PostgreSQL URL such as "postgres://app:[redacted]@db:5432/compozy?sslmode=disable".
func Target(db config.Database) string {
	switch db.Driver {
	case config.DriverSQLite:
		switch db.Path {
		case "":
			return "sqlite (no path configured)"
		case sqlite.MemoryPath:
			return "sqlite " + sqlite.MemoryPath
		}
		if real, err := sqlitefile.Resolve(db.Path); err == nil {
			return "sqlite " + real
		}
		return "sqlite " + db.Path
	case config.DriverPostgres:
		return postgres.Target(PostgresOptions(db))
	default:
		return fmt.Sprintf("unknown database driver %q", db.Driver)
	}
}

// Errors of a ReadOnly SQLite open beyond those of package sqlitefile (which the doctor and the
// commands test with errors.Is without importing the driver).
var (
	// ErrHotJournal: a crashed writer's rollback journal must be rolled back by a writer first.
	ErrHotJournal = sqlite.ErrHotJournal
	// ErrNeedsSHM: a -wal without its -shm, which reading would have to create.
	ErrNeedsSHM = sqlite.ErrNeedsSHM
	// ErrSideOwner: read as root, side files of another owner would be given to the database's
	// owner by SQLite; the read is refused instead.
	ErrSideOwner = sqlitefile.ErrSideOwner
)

// IsBusy reports whether err is SQLite's "database is locked".
func IsBusy(err error) bool { return sqlite.IsBusy(err) }

// IsNotExist reports whether err says that a SQLite database file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

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
		LockTimeout:     db.LockTimeout,
		ApplicationName: db.ApplicationName,
	}
}

func clampInt32(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}

// ConnSettings are the resolved PostgreSQL connection settings, for programs that connect on
// their own (pg_dump) and for command lines a user may run (doctor's fixes). Password and
// SSLPassword are secrets: pass them in an environment, never in argv or a printed command.
type ConnSettings struct {
	// Host and Port are the first server tried; Hosts and Ports are every server in the order
	// they are tried (the first included), as the settings give them or, where the settings
	// name none, PGHOST/PGPORT or the defaults do (a socket folder is a host starting with /).
	Host, User, Database, Password, SSLMode string
	Port                                    int
	Hosts                                   []string
	Ports                                   []int
	// ConnectTimeout is database.connect_timeout (or connect_timeout in conn_string); 0 means none.
	ConnectTimeout time.Duration
	// Params are the other settings conn_string names, by libpq keyword, values decoded:
	// sslrootcert, sslcert, sslkey, sslcrl, target_session_attrs, service, application_name,
	// options, and the server's run-time parameters such as search_path. Settings only pgx
	// reads (pool_max_conns, statement_cache_capacity...) are left out. No secret is here.
	Params map[string]string
	// SSLPassword is conn_string's sslpassword (the passphrase of the client key), a secret.
	SSLPassword string
}

// coreConnKeys are the settings ConnSettings has fields for; pgxOnlyKeys are read by pgx
// alone (no other client knows them).
var (
	coreConnKeys = []string{"host", "port", "user", "password", "dbname", "sslmode", "connect_timeout", "sslpassword"}
	pgxOnlyKeys  = []string{"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode",
		"min_read_buffer_size", "krbspn"}
)

// PostgresConnSettings resolves db's PostgreSQL connection settings without connecting: what
// the one door would connect with, every fallback host included.
func PostgresConnSettings(db config.Database) (ConnSettings, error) {
	o := PostgresOptions(db)
	cfg, err := postgres.PoolConfig(o)
	if err != nil {
		return ConnSettings{}, err
	}
	named, err := postgres.ConnStringParams(o.ConnString)
	if err != nil {
		return ConnSettings{}, err
	}
	cc := cfg.ConnConfig
	cs := ConnSettings{Host: cc.Host, Port: int(cc.Port), User: cc.User, Database: cc.Database, Password: cc.Password,
		SSLMode: postgres.SSLModeSetting(o), ConnectTimeout: cc.ConnectTimeout, Params: map[string]string{},
		SSLPassword: named["sslpassword"]}
	// pgx lists a host once per TLS attempt (sslmode=prefer tries TLS, then plain): one server.
	cs.Hosts, cs.Ports = []string{cc.Host}, []int{int(cc.Port)}
	for _, fb := range cc.Fallbacks {
		if last := len(cs.Hosts) - 1; fb.Host == cs.Hosts[last] && int(fb.Port) == cs.Ports[last] {
			continue
		}
		cs.Hosts, cs.Ports = append(cs.Hosts, fb.Host), append(cs.Ports, int(fb.Port))
	}
	if cs.SSLMode == "" && o.ConnString != "" {
		cs.SSLMode = named["sslmode"] // ssl=true in a URL
	}
	for k, v := range named {
		if slices.Contains(coreConnKeys, k) || slices.Contains(pgxOnlyKeys, k) || strings.HasPrefix(k, "pool_") {
			continue
		}
		cs.Params[k] = v
	}
	return cs, nil
}

// URL is the connection as a postgres:// URL without any password, for a command line a user
// runs (the password goes in PGPASSWORD): every host and port, the database, sslmode,
// connect_timeout and Params.
func (cs ConnSettings) URL() string {
	var b strings.Builder
	b.WriteString("postgres://")
	if cs.User != "" {
		b.WriteString(url.User(cs.User).String() + "@")
	}
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var query []string
	socket := slices.ContainsFunc(cs.Hosts, func(h string) bool { return strings.HasPrefix(h, "/") })
	ports := make([]string, len(cs.Ports))
	for i, p := range cs.Ports {
		ports[i] = strconv.Itoa(p)
	}
	if socket {
		// A socket folder cannot be a URL's host: name the hosts as parameters.
		query = append(query, "host="+esc(strings.Join(cs.Hosts, ",")), "port="+esc(strings.Join(ports, ",")))
	} else {
		for i, h := range cs.Hosts {
			if i > 0 {
				b.WriteString(",")
			}
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			} else {
				h = esc(h)
			}
			b.WriteString(h + ":" + ports[i])
		}
	}
	b.WriteString("/" + esc(cs.Database))
	if cs.SSLMode != "" {
		query = append(query, "sslmode="+esc(cs.SSLMode))
	}
	if cs.ConnectTimeout > 0 {
		query = append(query, "connect_timeout="+strconv.Itoa(max(1, int((cs.ConnectTimeout+time.Second-1)/time.Second))))
	}
	keys := slices.Sorted(maps.Keys(cs.Params))
	for _, k := range keys {
		query = append(query, esc(k)+"="+esc(cs.Params[k]))
	}
	if len(query) > 0 {
		b.WriteString("?" + strings.Join(query, "&"))
	}
	return b.String()
}

// Package migrate applies Compozy's schema migrations (package migrations) with goose's Provider
// API, and reports the state of a database as data: what is applied, what is pending, and what
// the database holds that this binary does not know.
//
// It uses no goose globals. Runs that write (Up, UpTo, Down, DownTo) are serialised across
// processes: on PostgreSQL by goose's advisory session lock, on SQLite by an exclusive flock on
// a lock file next to the database (see lock_unix.go for why not the database file itself).
// Reads (Status, Version, Check, Plan) take no lock and never create anything: not the goose
// version table, not a SQLite file.
package migrate

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"compozy.dev/setup/migrations"
)

// VersionTable is goose's default version table, the one Compozy itself uses.
const VersionTable = goose.DefaultTablename

// Options configure a Migrator. The zero value is valid.
type Options struct {
	// Path is the SQLite database file. Writing runs lock Path + LockSuffix for their whole
	// duration. Empty or ":memory:" means no lock (an in-memory database belongs to one process).
	// Ignored for PostgreSQL.
	Path string
	// LockPoll is how often a waiting run retries the lock: the SQLite lock file, or PostgreSQL's
	// advisory lock (rounded up to whole seconds, goose's minimum). Default 50ms for SQLite and
	// 1s for PostgreSQL. The context's deadline bounds the wait.
	LockPoll time.Duration
	// FS replaces the embedded migrations of the dialect (tests).
	FS fs.FS
	// ReadOnly makes every run that would write (Up, UpTo, Down, DownTo) fail with
	// ErrReadOnly before touching the database: the migrator of a read-only handle.
	ReadOnly bool
	// Pooled, when set, makes every run that would write fail with it before touching the
	// database: the connection goes through a transaction pooler, where the session advisory
	// lock that keeps a second migrator out does not hold (see PoolerError).
	Pooled *PoolerError
	// Private says that no one else knows the database (a scratch database compozy just
	// created): writing runs take no lock, so that they also work through a pooler.
	Private bool
}

// LockSuffix is appended to a SQLite database path to name its migration lock file.
const LockSuffix = ".migrate.lock"

// Migration is one known migration.
type Migration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"` // e.g. "create_workflow_states"
	File    string `json:"file"` // e.g. "20250603124835_create_workflow_states.sql"
	// NoSchemaChange: the version only runs SELECT 1 in this dialect. It is kept so both
	// dialects carry the same versions; Compozy's own set for the dialect does not have it, so
	// only compozy applies it.
	NoSchemaChange bool `json:"no_schema_change,omitempty"`
}

// Direction of a migration run.
type Direction string

// Directions.
const (
	DirectionUp   Direction = "up"
	DirectionDown Direction = "down"
)

// Result is the outcome of running one migration.
type Result struct {
	Migration
	Direction Direction     `json:"direction"`
	Duration  time.Duration `json:"duration"`
	// Empty is set when the migration had no statements in this direction (still versioned).
	Empty bool `json:"empty,omitempty"`
	// Err is set when the migration failed.
	Err error `json:"-"`
}

// State of a version in a database.
type State string

// States.
const (
	// StateApplied: known to this binary and recorded in the database.
	StateApplied State = "applied"
	// StatePending: known to this binary, not recorded in the database.
	StatePending State = "pending"
	// StateUnknown: recorded in the database, not known to this binary (a newer or different
	// build of Compozy applied it).
	StateUnknown State = "unknown"
)

// Status is the state of one version.
type Status struct {
	Migration
	State State `json:"state"`
	// AppliedAt is when the database recorded the version; zero when pending.
	AppliedAt time.Time `json:"applied_at,omitzero"`
	// Note says what an applied migration did not do: the pgvector version applied on a server
	// that refused the extension skipped it.
	Note string `json:"note,omitempty"`
}

// Versions are the database's current version and the latest this binary knows.
type Versions struct {
	// Current is the highest version recorded in the database; 0 when none.
	Current int64 `json:"current"`
	// Latest is the highest version this binary knows.
	Latest int64 `json:"latest"`
}

// CheckResult summarises whether a database is current.
type CheckResult struct {
	Versions
	// Pending are known migrations not applied, in version order.
	Pending []Migration `json:"pending"`
	// Unknown are versions recorded in the database that this binary does not know.
	Unknown []int64 `json:"unknown"`
	// Newer are the Unknown versions above Latest: a newer binary migrated this database.
	Newer []int64 `json:"newer"`
	// OutOfOrder are Pending migrations older than Current, which goose will not apply in order.
	OutOfOrder []Migration `json:"out_of_order"`
	// Problems describe a dirty or partial state found in the database (for example an invalid
	// index left by an interrupted CREATE INDEX CONCURRENTLY), one sentence each.
	Problems []string `json:"problems"`
	// Pgvector is the pgvector extension's state on PostgreSQL; nil on SQLite.
	Pgvector *Pgvector `json:"pgvector,omitempty"`
}

// UpToDate reports whether nothing is pending, nothing is unknown and no problem was found.
func (c *CheckResult) UpToDate() bool {
	return len(c.Pending) == 0 && len(c.Unknown) == 0 && len(c.Problems) == 0
}

// Migrator runs the migrations of one dialect against one database. It does not own the
// database and does not close it. Its methods are safe for concurrent use.
type Migrator struct {
	db       *sql.DB
	dialect  string
	fsys     fs.FS
	known    []Migration
	provider *goose.Provider
	lockPath string // SQLite lock file; "" for none
	poll     time.Duration
	readOnly bool
	pooled   *PoolerError
	private  bool
}

// Known lists the migrations embedded for a dialect ("sqlite" or "postgres"), in version order,
// without touching a database.
func Known(dialect string) ([]Migration, error) {
	fsys, err := migrations.FS(dialect)
	if err != nil {
		return nil, err
	}
	return knownFrom(fsys)
}

func knownFrom(fsys fs.FS) ([]Migration, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	out := make([]Migration, 0, len(files))
	for _, f := range files {
		base := path.Base(f)
		v, err := goose.NumericComponent(base)
		if err != nil {
			continue // goose ignores files without a version, and so do we
		}
		name := strings.TrimSuffix(base, ".sql")
		if _, after, ok := strings.Cut(name, "_"); ok {
			name = after
		}
		noop, err := changesNoSchema(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("list migrations: %w", err)
		}
		out = append(out, Migration{Version: v, Name: name, File: base, NoSchemaChange: noop})
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	if len(out) == 0 {
		return nil, errors.New("list migrations: none found")
	}
	return out, nil
}

// New returns a Migrator for db, whose dialect is "sqlite" or "postgres".
func New(db *sql.DB, dialect string, opts Options) (*Migrator, error) {
	if db == nil {
		return nil, errors.New("migrate: database is nil")
	}
	fsys := opts.FS
	if fsys == nil {
		var err error
		if fsys, err = migrations.FS(dialect); err != nil {
			return nil, err
		}
	}
	known, err := knownFrom(fsys)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m := &Migrator{db: db, dialect: dialect, fsys: fsys, known: known, poll: opts.LockPoll, readOnly: opts.ReadOnly, pooled: opts.Pooled, private: opts.Private}
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	var gd goose.Dialect
	switch dialect {
	case migrations.SQLite:
		gd = goose.DialectSQLite3
		if !opts.ReadOnly && opts.Path != "" && opts.Path != ":memory:" && !strings.HasPrefix(opts.Path, "file::memory:") {
			m.lockPath = opts.Path + LockSuffix
		}
		if m.poll <= 0 {
			m.poll = 50 * time.Millisecond
		}
	case migrations.Postgres:
		gd = goose.DialectPostgres
		if opts.Private {
			break
		}
		secs := uint64((opts.LockPoll + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		// goose's session locker takes pg_try_advisory_lock on the connection that runs the
		// migrations, with goose's default lock ID, so it also serialises against Compozy's own
		// auto-migration. The retry count is large on purpose: the caller's deadline bounds the wait.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(secs, 24*3600/secs))
		if err != nil {
			return nil, fmt.Errorf("migrate: postgres locker: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("migrate: unknown dialect %q (want sqlite or postgres)", dialect)
	}
	p, err := goose.NewProvider(gd, db, fsys, popts...)
	if err != nil {
		return nil, fmt.Errorf("migrate: goose provider: %w", err)
	}
	m.provider = p
	return m, nil
}

// Dialect returns the migrator's dialect.
func (m *Migrator) Dialect() string { return m.dialect }

// Known returns the migrations this migrator knows, in version order.
func (m *Migrator) Known() []Migration { return slices.Clone(m.known) }

// Latest returns the highest version this migrator knows.
func (m *Migrator) Latest() int64 { return m.known[len(m.known)-1].Version }

// Lookup returns the known migration with the given version.
func (m *Migrator) Lookup(version int64) (Migration, bool) {
	i := slices.IndexFunc(m.known, func(k Migration) bool { return k.Version == version })
	if i < 0 {
		return Migration{}, false
	}
	return m.known[i], true
}

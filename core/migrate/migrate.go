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
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
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

// ErrReadOnly is returned by the runs that write on a migrator made for reading.
var ErrReadOnly = errors.New("migrate: the database was opened read-only")

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

// NewerError is returned when the database holds versions above the latest this binary knows:
// a newer Compozy migrated it, and this binary must not touch the schema.
type NewerError struct {
	Versions []int64 // unknown versions above Latest
	Latest   int64
}

// Error says which versions are newer and what to do.
func (e *NewerError) Error() string {
	return fmt.Sprintf("database has migration %s, newer than the latest this binary knows (%d); it was migrated by a newer Compozy: upgrade compozy",
		joinVersions(e.Versions), e.Latest)
}

// UnknownVersionError is returned by Down when the migration to revert is one this binary does
// not know, so it has no Down for it.
type UnknownVersionError struct {
	Version int64
}

// Error names the version that cannot be reverted.
func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("cannot revert version %d: this binary does not know that migration (use the compozy that applied it)", e.Version)
}

// OutOfOrderError is returned by Up when known migrations are pending below the database's
// current version; goose applies migrations in order only.
type OutOfOrderError struct {
	Versions []int64
	Current  int64
}

// Error names the pending versions and the current one.
func (e *OutOfOrderError) Error() string {
	return fmt.Sprintf("migration %s is pending but older than the database's current version %d: the database was migrated out of order; check `compozy migrate status`",
		joinVersions(e.Versions), e.Current)
}

// RunError is returned when a migration fails. Applied lists what succeeded before the
// failure, in the order it ran; Failed is the migration that failed.
type RunError struct {
	Direction Direction
	Applied   []Result
	Failed    Result
	Err       error
}

// Error names the migration that failed and how many ran before it.
func (e *RunError) Error() string {
	return fmt.Sprintf("migrate %s: %s failed after %d applied: %v", e.Direction, e.Failed.File, len(e.Applied), e.Err)
}

// Unwrap returns the error of the failed migration.
func (e *RunError) Unwrap() error { return e.Err }

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

// PoolerError is returned by the runs that write when the connection goes through a
// transaction pooler: goose's migration lock is a session advisory lock, which a pooler drops
// or leaves behind on a server session the next transaction does not get, so two migrators
// could run at once, and an unlock could miss its lock. Nothing is changed.
type PoolerError struct {
	// Pooler names what was found ("PgBouncer 1.18.0 (transaction pooling)").
	Pooler string
	// Direct is the server's direct host:port, when known.
	Direct string
}

// Error names the pooler and the fix.
func (e *PoolerError) Error() string {
	direct := "the server's direct URL (not the pooler's)"
	if e.Direct != "" {
		direct = "the server's direct URL (" + e.Direct + ", not the pooler's)"
	}
	return fmt.Sprintf("migrate: refused, nothing was changed: the connection goes through %s, where the migration lock "+
		"(a session advisory lock) does not hold, so two migrators could run at once; run migrations through %s, "+
		"for example with --db-conn-string or COMPOZY_DB_CONN_STRING, and keep the pooled URL for Compozy", e.Pooler, direct)
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

// Guard is called with the migration lock held, after the run is planned and before anything
// changes, with what the run will do: the migrations in order and, for a down, the data it
// drops (see Losses). An error stops the run there; nothing is changed.
type Guard func(ctx context.Context, plan []Migration, losses []Loss) error

// Up applies every pending migration. It refuses a database that holds versions newer than
// this binary knows (*NewerError).
func (m *Migrator) Up(ctx context.Context) ([]Result, error) {
	return m.UpGuarded(ctx, 0, nil)
}

// UpTo applies the pending migrations up to and including version, which must be known.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]Result, error) {
	return m.UpGuarded(ctx, version, nil)
}

// UpGuarded applies the pending migrations up to and including to (0 = all), after guard (when
// not nil) accepted the plan made under the migration lock.
func (m *Migrator) UpGuarded(ctx context.Context, to int64, guard Guard) ([]Result, error) {
	if to != 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate up: unknown version %d", to)
		}
	}
	unlock, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plan, err := m.Plan(ctx, to)
	if err != nil {
		return nil, err
	}
	if guard != nil && len(plan) > 0 {
		if err := guard(ctx, plan, nil); err != nil {
			return nil, err
		}
	}
	var res []*goose.MigrationResult
	if to == 0 {
		res, err = m.provider.Up(ctx)
	} else {
		res, err = m.provider.UpTo(ctx, to)
	}
	return m.results(DirectionUp, res, err)
}

// Down reverts the most recently applied migration. It returns no results when nothing is
// applied.
func (m *Migrator) Down(ctx context.Context) ([]Result, error) {
	return m.DownGuarded(ctx, -1, nil)
}

// DownTo reverts applied migrations above version (version itself stays applied; 0 reverts
// everything). version must be 0 or known.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Result, error) {
	if version < 0 {
		return nil, fmt.Errorf("migrate down: unknown version %d", version)
	}
	return m.DownGuarded(ctx, version, nil)
}

// DownGuarded reverts what PlanDown(to) lists (to < 0: the most recent migration only), after
// guard (when not nil) accepted the plan and the data it drops, both worked out under the
// migration lock, so that what was shown and confirmed is what is reverted. Nothing to revert
// changes nothing (not even a version table is created).
func (m *Migrator) DownGuarded(ctx context.Context, to int64, guard Guard) ([]Result, error) {
	if to > 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate down: unknown version %d", to)
		}
	}
	unlock, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plan, err := m.PlanDown(ctx, to)
	if err != nil {
		return nil, err
	}
	if len(plan) == 0 {
		return nil, nil
	}
	if guard != nil {
		losses, err := m.Losses(ctx, plan)
		if err != nil {
			return nil, err
		}
		if err := guard(ctx, plan, losses); err != nil {
			return nil, err
		}
	}
	var res []*goose.MigrationResult
	if to < 0 {
		var r *goose.MigrationResult
		r, err = m.provider.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil, nil
		}
		if r != nil {
			res = []*goose.MigrationResult{r}
		}
	} else {
		res, err = m.provider.DownTo(ctx, to)
	}
	return m.results(DirectionDown, res, err)
}

// acquire takes the lock that serialises writing runs: the lock file of a SQLite database, or
// on PostgreSQL a session advisory lock of compozy's own, held on one connection for the whole
// run (goose's own lock, taken inside each of its calls, still serialises against Compozy's
// auto-migration).
func (m *Migrator) acquire(ctx context.Context) (func(), error) {
	if m.readOnly {
		return nil, ErrReadOnly
	}
	if m.pooled != nil {
		return nil, m.pooled
	}
	if m.private {
		return func() {}, nil
	}
	if m.dialect == migrations.Postgres {
		return m.lockPostgres(ctx)
	}
	return m.lock(ctx)
}

// results converts goose's results, and a *goose.PartialError into a *RunError.
func (m *Migrator) results(dir Direction, res []*goose.MigrationResult, err error) ([]Result, error) {
	out := make([]Result, 0, len(res))
	for _, r := range res {
		out = append(out, m.result(r))
	}
	if err == nil {
		return out, nil
	}
	if pe, ok := errors.AsType[*goose.PartialError](err); ok {
		runErr := &RunError{Direction: dir, Err: pe.Err}
		for _, r := range pe.Applied {
			runErr.Applied = append(runErr.Applied, m.result(r))
		}
		if pe.Failed != nil {
			runErr.Failed = m.result(pe.Failed)
		}
		return runErr.Applied, runErr
	}
	return out, fmt.Errorf("migrate %s: %w", dir, err)
}

func (m *Migrator) result(r *goose.MigrationResult) Result {
	out := Result{Direction: Direction(r.Direction), Duration: r.Duration, Empty: r.Empty, Err: r.Error}
	if r.Source != nil {
		if k, ok := m.Lookup(r.Source.Version); ok {
			out.Migration = k
		} else {
			out.Migration = Migration{Version: r.Source.Version, File: path.Base(r.Source.Path)}
		}
	}
	return out
}

// applied is one version recorded in the database.
type applied struct {
	version int64
	at      time.Time
	// times is how many rows record the version as applied since it was last reverted: more
	// than one means two migrators applied it at once (the table has a duplicate).
	times int
}

// readApplied returns the versions recorded in the database (without goose's version 0), in
// version order, and whether the version table exists. It only reads.
func (m *Migrator) readApplied(ctx context.Context) ([]applied, bool, error) {
	var exists bool
	var q string
	switch m.dialect {
	case migrations.SQLite:
		q = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '` + VersionTable + `')`
	default:
		q = `SELECT to_regclass('` + VersionTable + `') IS NOT NULL`
	}
	if err := m.db.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return nil, false, fmt.Errorf("read version table: %w", err)
	}
	if !exists {
		return nil, false, nil
	}
	// goose appends a row per up and deletes it on down; goose before v3 appended is_applied =
	// false rows on down instead. The last row of a version decides.
	// goose's PostgreSQL tstamp is a timestamp without time zone, written with now() in the
	// session's time zone; read it back as an instant in the same zone.
	ts := "tstamp"
	if m.dialect == migrations.Postgres {
		ts = "tstamp AT TIME ZONE current_setting('TimeZone')"
	}
	rows, err := m.db.QueryContext(ctx, `SELECT version_id, is_applied, `+ts+` FROM `+VersionTable+` ORDER BY id`)
	if err != nil {
		return nil, true, fmt.Errorf("read version table: %w", err)
	}
	defer rows.Close()
	last := map[int64]applied{}
	for rows.Next() {
		var (
			v  int64
			ok bool
			ts any
		)
		if err := rows.Scan(&v, &ok, &ts); err != nil {
			return nil, true, fmt.Errorf("read version table: %w", err)
		}
		if v == 0 {
			continue
		}
		if !ok {
			delete(last, v)
			continue
		}
		last[v] = applied{version: v, at: toTime(ts), times: last[v].times + 1}
	}
	if err := rows.Err(); err != nil {
		return nil, true, fmt.Errorf("read version table: %w", err)
	}
	out := make([]applied, 0, len(last))
	for _, a := range last {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b applied) int { return cmp.Compare(a.version, b.version) })
	return out, true, nil
}

// toTime converts a scanned timestamp (time.Time from pgx or modernc, or text) to a time.
func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		return parseTime(t)
	case []byte:
		return parseTime(string(t))
	}
	return time.Time{}
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Status lists every known version, applied or pending, and then every version the database
// holds that this binary does not know, all in version order.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	at := make(map[int64]time.Time, len(app))
	for _, a := range app {
		at[a.version] = a.at
	}
	out := make([]Status, 0, len(m.known)+len(app))
	for _, k := range m.known {
		s := Status{Migration: k, State: StatePending}
		if t, ok := at[k.Version]; ok {
			s.State, s.AppliedAt = StateApplied, t
			delete(at, k.Version)
		}
		out = append(out, s)
	}
	for _, a := range app {
		if t, ok := at[a.version]; ok {
			out = append(out, Status{Migration: Migration{Version: a.version}, State: StateUnknown, AppliedAt: t})
		}
	}
	slices.SortStableFunc(out, func(a, b Status) int { return cmp.Compare(a.Version, b.Version) })
	if m.dialect == migrations.Postgres {
		i := slices.IndexFunc(out, func(s Status) bool { return s.Version == VersionPgvector && s.State == StateApplied })
		if i >= 0 {
			p, err := m.pgvector(ctx)
			if err != nil {
				return nil, fmt.Errorf("migrate status: %w", err)
			}
			if why := p.Refusal(); why != "" {
				out[i].Note = "skipped creating the extension vector: " + why
			} else if !p.Installed {
				out[i].Note = "skipped creating the extension vector (this role may create it now: CREATE EXTENSION vector, when a knowledge base needs it)"
			}
		}
	}
	return out, nil
}

// Version returns the database's current version and the latest this binary knows.
func (m *Migrator) Version(ctx context.Context) (Versions, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return Versions{}, fmt.Errorf("migrate version: %w", err)
	}
	v := Versions{Latest: m.Latest()}
	if len(app) > 0 {
		v.Current = app[len(app)-1].version
	}
	return v, nil
}

// Check reports pending migrations, versions this binary does not know (and which of them are
// newer than it), out-of-order pending migrations, and any dirty state it can detect.
func (m *Migrator) Check(ctx context.Context) (*CheckResult, error) {
	st, err := m.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate check: %w", err)
	}
	c := &CheckResult{Versions: Versions{Latest: m.Latest()}, Pending: []Migration{}, Unknown: []int64{},
		Newer: []int64{}, OutOfOrder: []Migration{}, Problems: []string{}}
	for _, s := range st {
		if s.State != StatePending && s.Version > c.Current {
			c.Current = s.Version
		}
	}
	for _, s := range st {
		switch s.State {
		case StatePending:
			c.Pending = append(c.Pending, s.Migration)
			if s.Version < c.Current {
				c.OutOfOrder = append(c.OutOfOrder, s.Migration)
			}
		case StateUnknown:
			c.Unknown = append(c.Unknown, s.Version)
			if s.Version > c.Latest {
				c.Newer = append(c.Newer, s.Version)
			}
		}
	}
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate check: %w", err)
	}
	for _, a := range app {
		if a.times > 1 {
			c.Problems = append(c.Problems, fmt.Sprintf("version %d is recorded %d times in %s (two migrators applied it at once); keep one row: DELETE FROM %s WHERE version_id = %d AND id > (SELECT min(id) FROM %s WHERE version_id = %d);",
				a.version, a.times, VersionTable, VersionTable, a.version, VersionTable, a.version))
		}
	}
	if m.dialect == migrations.Postgres {
		p, err := m.invalidIndexes(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate check: %w", err)
		}
		c.Problems = append(c.Problems, p...)
		pv, err := m.pgvector(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate check: %w", err)
		}
		c.Pgvector = &pv
	}
	return c, nil
}

// invalidIndexes finds indexes on Compozy's tables left INVALID by an interrupted CREATE INDEX
// CONCURRENTLY. Indexes on other tables of the schema are the user's own business.
func (m *Migrator) invalidIndexes(ctx context.Context) ([]string, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT c.relname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = current_schema()
		  AND t.relname IN ('workflow_states', 'task_states', 'users', 'api_keys')
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("look for invalid indexes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("look for invalid indexes: %w", err)
		}
		out = append(out, fmt.Sprintf("index %s is INVALID (an interrupted CREATE INDEX CONCURRENTLY); run `DROP INDEX CONCURRENTLY %s;` and `compozy migrate up` again", name, name))
	}
	return out, rows.Err()
}

// Plan returns the migrations `up` would apply, in order, without changing anything: every
// pending one, or those up to and including version to (to = 0 means all). It fails like Up
// would on a database newer than this binary or migrated out of order.
func (m *Migrator) Plan(ctx context.Context, to int64) ([]Migration, error) {
	if to != 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate plan: unknown version %d", to)
		}
	}
	c, err := m.Check(ctx)
	if err != nil {
		return nil, err
	}
	return planUp(c, to)
}

// PlanUpFresh returns what Up would apply to an empty database (a SQLite file that does not
// exist yet): every known migration up to to (0 = all).
func PlanUpFresh(known []Migration, to int64) []Migration {
	out := make([]Migration, 0, len(known))
	for _, k := range known {
		if to == 0 || k.Version <= to {
			out = append(out, k)
		}
	}
	return out
}

func planUp(c *CheckResult, to int64) ([]Migration, error) {
	if len(c.Newer) > 0 {
		return nil, &NewerError{Versions: c.Newer, Latest: c.Latest}
	}
	var ooo []int64
	for _, k := range c.OutOfOrder {
		if to == 0 || k.Version <= to {
			ooo = append(ooo, k.Version)
		}
	}
	if len(ooo) > 0 {
		return nil, &OutOfOrderError{Versions: ooo, Current: c.Current}
	}
	return PlanUpFresh(c.Pending, to), nil
}

// PlanDown returns the migrations `down` would revert, most recent first, without changing
// anything: those above version to (to = 0 reverts all; to < 0 means only the most recent one).
// It fails when a version to revert is one this binary does not know.
func (m *Migrator) PlanDown(ctx context.Context, to int64) ([]Migration, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate plan: %w", err)
	}
	var out []Migration
	for i := len(app) - 1; i >= 0; i-- {
		v := app[i].version
		if to >= 0 && v <= to {
			break
		}
		k, ok := m.Lookup(v)
		if !ok {
			if v > m.Latest() {
				return nil, &NewerError{Versions: []int64{v}, Latest: m.Latest()}
			}
			return nil, &UnknownVersionError{Version: v}
		}
		out = append(out, k)
		if to < 0 {
			break
		}
	}
	return out, nil
}

func joinVersions(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}

// Verdict is the state of a database in one word, as `migrate status --check` reports it.
type Verdict string

// The verdicts.
const (
	VerdictUpToDate Verdict = "up_to_date"
	// VerdictPending: known migrations are not applied (or the SQLite file does not exist yet).
	VerdictPending Verdict = "pending"
	// VerdictUnknownVersion: the database holds versions this binary does not know.
	VerdictUnknownVersion Verdict = "unknown_version"
	// VerdictProblem: a dirty or partial state, such as an invalid index.
	VerdictProblem Verdict = "problem"
)

// Verdict says where the database stands, with a one-line message for people. missing says
// that the database is a SQLite file at path that does not exist yet (c then lists every known
// migration as pending).
func (c *CheckResult) Verdict(missing bool, path string) (Verdict, string) {
	switch {
	case len(c.Newer) > 0:
		return VerdictUnknownVersion, fmt.Sprintf("The database is at version %d, newer than the latest this binary knows (%d): upgrade compozy.",
			c.Current, c.Latest)
	case len(c.Unknown) > 0:
		return VerdictUnknownVersion, fmt.Sprintf("The database holds %s that this binary does not know (migrated by a different Compozy build).",
			versionsNamed(c.Unknown))
	case len(c.Problems) > 0:
		return VerdictProblem, "The database is in a broken state: " + c.Problems[0]
	case missing:
		return VerdictPending, fmt.Sprintf("%s does not exist yet: all %s are pending; run 'compozy migrate up'.",
			path, countNamed(len(c.Pending)))
	case len(c.Pending) > 0:
		n := countNamed(len(c.Pending))
		return VerdictPending, fmt.Sprintf("%s pending (database at version %d, latest %d); run 'compozy migrate up'.",
			strings.ToUpper(n[:1])+n[1:], c.Current, c.Latest)
	}
	return VerdictUpToDate, fmt.Sprintf("The database is up to date at version %d.", c.Current)
}

func countNamed(n int) string {
	if n == 1 {
		return "1 migration"
	}
	return strconv.Itoa(n) + " migrations"
}

func versionsNamed(vs []int64) string {
	if len(vs) == 1 {
		return "version " + strconv.FormatInt(vs[0], 10)
	}
	return "versions " + joinVersions(vs)
}

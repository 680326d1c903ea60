// Package postgres implements the storage repositories on PostgreSQL with pgx/v5 and pgxpool.
//
// Connection settings come either from a connection string (URL or keyword/value) or from
// separate fields, which are assembled into a keyword/value string with every value quoted and
// escaped, so any password works (spaces, quotes, @, /, \). No error and no printable target
// ever contains the password.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"compozy.dev/setup/core/storage"
)

// Options configures Open.
type Options struct {
	// ConnString is a URL (postgres://...) or keyword/value string (host=... dbname=...). When
	// set, Host, Port, User, Name and SSLMode are ignored.
	ConnString string
	// Host, Port, User, Name and SSLMode describe the server when ConnString is empty. Empty
	// values fall back to libpq's environment variables and defaults, as in psql.
	Host    string
	Port    int
	User    string
	Name    string
	SSLMode string
	// Password, when set, is used whether the rest comes from ConnString or from the fields,
	// and overrides a password inside ConnString.
	Password string
	// MaxConns is the pool size; 0 keeps pgxpool's default (the greater of 4 and the CPU count).
	MaxConns int32
	// MinIdleConns is the number of idle connections the pool keeps open; 0 keeps none.
	MinIdleConns int32
	// ConnMaxLifetime and ConnMaxIdleTime bound a connection's age and idle time; 0 keeps
	// pgxpool's defaults (1 h and 30 min).
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds each connection attempt; 0 means only the context bounds it.
	ConnectTimeout time.Duration
	// LockTimeout, when set, is the sessions' lock_timeout: a statement that waits longer for
	// a lock fails with SQLSTATE 55P03 instead of queueing behind another session. It is sent
	// at startup; a pooler that refuses the startup parameter (PgBouncer: 08P01) gets none.
	LockTimeout time.Duration
	// ApplicationName, when set, is the sessions' application_name, over the connection
	// string's.
	ApplicationName string
	// Now is the clock for created_at/updated_at. Default time.Now.
	Now func() time.Time
}

// DB is an open PostgreSQL database. It implements storage.Store.
type DB struct {
	pool   *pgxpool.Pool
	target string
	now    func() time.Time

	sqlOnce sync.Once
	sqlDB   *sql.DB

	pooler   Pooler
	execMode string
}

var _ storage.Store = (*DB)(nil)

// Open builds the pool from opts and checks that the server answers. Errors name the step
// (settings, pool, connect) and the redacted target, never the password.
//
// It also looks for a pooler between compozy and the server (HostPooler, then a probe of the
// server sessions). Where session state does not last (a transaction pooler, PGlite's one
// shared session), pgx's default of caching named prepared statements per connection fails
// ("prepared statement ... already exists", SQLSTATE 42P05, or "does not exist", 26000): unless
// the connection string chooses default_query_exec_mode or statement_cache_capacity itself,
// the pool is made again in the simple protocol, which prepares nothing on the server.
func Open(ctx context.Context, opts Options) (*DB, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, err
	}
	target := redactedFromConfig(cfg, opts)
	lockTimeout := withLockTimeout(cfg, opts.LockTimeout)
	if opts.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = opts.ApplicationName
	}
	pool, err := newPool(ctx, cfg, target)
	if err != nil && lockTimeout && unsupportedStartupParameter(err) {
		delete(cfg.ConnConfig.RuntimeParams, "lock_timeout")
		pool, err = newPool(ctx, cfg, target)
	}
	if err != nil {
		return nil, err
	}
	// A failed probe leaves what the host alone tells: the probe never stops an open.
	found, _ := Detect(ctx, pool)
	d := &DB{pool: pool, target: target, now: opts.Now, pooler: found, execMode: execModeName(cfg.ConnConfig.DefaultQueryExecMode)}
	if d.now == nil {
		d.now = time.Now
	}
	if mode, changed := ExecModeFor(found, opts.ConnString, cfg.ConnConfig.DefaultQueryExecMode); changed {
		pool.Close()
		cfg.ConnConfig.DefaultQueryExecMode = mode
		if d.pool, err = newPool(ctx, cfg, target); err != nil {
			return nil, err
		}
		d.execMode = execModeName(mode) + " (chosen by compozy: " + found.Name() + ")"
	}
	return d, nil
}

// newPool makes the pool and checks that the server answers.
func newPool(ctx context.Context, cfg *pgxpool.Config, target string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create postgres pool for %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, ConnectError(target, cfg.ConnConfig, err)
	}
	return pool, nil
}

// execModeName is pgx's name of a query exec mode, as default_query_exec_mode spells it.
func execModeName(m pgx.QueryExecMode) string {
	switch m {
	case pgx.QueryExecModeCacheStatement:
		return "cache_statement"
	case pgx.QueryExecModeCacheDescribe:
		return "cache_describe"
	case pgx.QueryExecModeDescribeExec:
		return "describe_exec"
	case pgx.QueryExecModeExec:
		return "exec"
	case pgx.QueryExecModeSimpleProtocol:
		return "simple_protocol"
	}
	return m.String()
}

// Pooler is what Open found between compozy and the server (the zero Pooler: nothing).
func (d *DB) Pooler() Pooler { return d.pooler }

// ExecMode is how the pool runs queries, as default_query_exec_mode spells it, and why when
// compozy chose it: "cache_statement", "simple_protocol (chosen by compozy: PgBouncer ...)".
func (d *DB) ExecMode() string { return d.execMode }

// Redacted returns the target as a URL with the password replaced by [redacted].
func (d *DB) Redacted() string { return d.target }

// Pool returns the pgx pool.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// SQLDB returns a database/sql handle over the pool (for goose). It is created on first use and
// closed by Close.
func (d *DB) SQLDB() *sql.DB {
	d.sqlOnce.Do(func() { d.sqlDB = stdlib.OpenDBFromPool(d.pool) })
	return d.sqlDB
}

// Ping checks that the server answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", d.target, err)
	}
	return nil
}

// Close closes the database/sql handle, if any, and the pool.
func (d *DB) Close() error {
	var err error
	d.sqlOnce.Do(func() {}) // no SQLDB after Close
	if d.sqlDB != nil {
		if e := d.sqlDB.Close(); e != nil {
			err = fmt.Errorf("close postgres sql handle: %w", e)
		}
	}
	d.pool.Close()
	return err
}

// InTx runs fn in one transaction and commits when fn returns nil; fn's error or panic rolls it
// back.
func (d *DB) InTx(ctx context.Context, fn func(tx storage.Repos) error) error {
	return d.inTx(ctx, func(q querier) error { return fn(repos{runner{q: q, db: d}}) })
}

func (d *DB) inTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// A fresh context: a cancelled ctx must not leave the transaction open.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = tx.Rollback(rctx)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", mapErr(err))
	}
	committed = true
	return nil
}

// Workflows returns the workflow repository.
func (d *DB) Workflows() storage.WorkflowRepo { return workflowRepo{d.runner()} }

// Tasks returns the task repository.
func (d *DB) Tasks() storage.TaskRepo { return taskRepo{d.runner()} }

// Users returns the user repository.
func (d *DB) Users() storage.UserRepo { return userRepo{d.runner()} }

// APIKeys returns the API-key repository.
func (d *DB) APIKeys() storage.APIKeyRepo { return apiKeyRepo{d.runner()} }

func (d *DB) runner() runner { return runner{q: d.pool, db: d} }

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// runner runs the repositories' SQL on the pool (each statement its own transaction) or in one
// transaction.
type runner struct {
	q  querier
	db *DB
}

// now is the current time in UTC at timestamptz precision.
func (r runner) now() time.Time { return r.db.now().UTC().Truncate(time.Microsecond) }

// repos are the repositories bound to one transaction.
type repos struct{ r runner }

func (x repos) Workflows() storage.WorkflowRepo { return workflowRepo(x) }
func (x repos) Tasks() storage.TaskRepo         { return taskRepo(x) }
func (x repos) Users() storage.UserRepo         { return userRepo(x) }
func (x repos) APIKeys() storage.APIKeyRepo     { return apiKeyRepo(x) }

// mapErr turns PostgreSQL constraint errors into the storage errors by SQLSTATE, keeping the
// driver error in the chain, and pgx.ErrNoRows into storage.ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case "23503", // foreign_key_violation
		"23514", // check_violation
		"23502", // not_null_violation
		"22P02": // invalid_text_representation (invalid JSON)
		return fmt.Errorf("%w: %w", storage.ErrInvalid, err)
	}
	return err
}

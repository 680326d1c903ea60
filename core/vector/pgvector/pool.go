package pgvector

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/vector"
)

// db is the pool to run statements on. The first call looks for a pooler between the store and
// the server (postgres.Detect: the host's name and port, then two client connections' server
// sessions) and, where session state does not last, makes the pool again in the simple
// protocol (postgres.ExecModeFor: a connection string that chooses the mode keeps it).
// Concurrent first calls wait for that one look, each within its own ctx. A look that cannot
// reach the server (or whose ctx ends) decides nothing: its error is returned, classified, and
// the next call looks again; a server that answers the probe with an SQL error is taken as a
// direct one.
func (s *Store) db(ctx context.Context, op string) (*pgxpool.Pool, error) {
	if p := s.ready.Load(); p != nil {
		return p, nil
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, s.fail(ctx, op, ctx.Err())
	}
	defer func() { <-s.lock }()
	if p := s.ready.Load(); p != nil {
		return p, nil
	}
	if s.closed {
		return nil, s.newErr(ctx, op, vector.ErrInvalid, nil, "the store is closed")
	}
	found, err := postgres.Detect(ctx, s.first)
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	if err != nil && (ctx.Err() != nil || errors.As(err, &connErr) || !errors.As(err, &pgErr)) {
		return nil, s.fail(ctx, op, err)
	}
	pool := s.first
	if mode, changed := postgres.ExecModeFor(found, s.opts.ConnString, s.cfg.ConnConfig.DefaultQueryExecMode); changed {
		cfg := s.cfg.Copy()
		cfg.ConnConfig.DefaultQueryExecMode = mode
		next, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, s.newErr(ctx, op, vector.ErrInvalid, err, "create pool")
		}
		s.first.Close()
		pool = next
		s.execMode = postgres.ExecModeName(mode) + " (chosen by compozy: " + found.Name() + ")"
	}
	s.pooler = found
	s.ready.Store(pool)
	return pool, nil
}

// Pooler is what the first use found between the store and the server (the zero Pooler before
// it, or when nothing was found).
func (s *Store) Pooler() postgres.Pooler {
	if s.ready.Load() == nil {
		return postgres.Pooler{}
	}
	return s.pooler
}

// ExecMode is how pgx runs the store's queries, as default_query_exec_mode spells it, with
// "(chosen by compozy: ...)" when the first use chose the simple protocol for a pooler.
func (s *Store) ExecMode() string {
	if s.ready.Load() == nil {
		return postgres.ExecModeName(s.cfg.ConnConfig.DefaultQueryExecMode)
	}
	return s.execMode
}

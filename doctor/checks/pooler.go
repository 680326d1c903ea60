package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// PoolerFinding is what the one door found between compozy and the PostgreSQL server, and how
// the pool runs queries because of it.
type PoolerFinding struct {
	// Pooler is what was found: the open's probe, and PgBouncer's admin console when it answered.
	Pooler factory.Pooler
	// ExecMode is how the pool runs queries ("cache_statement", "simple_protocol (chosen by
	// compozy: ...)").
	ExecMode string
	// ExecModeSet: the connection string chose the exec mode itself.
	ExecModeSet bool
	// Direct is the server's direct host:port behind the pooler, when known.
	Direct string
}

// PoolerConn is what postgres.pooler asks the read-only connection.
type PoolerConn interface {
	// Pooler says what sits between compozy and the server. It only reads.
	Pooler(ctx context.Context) (PoolerFinding, error)
}

var _ PoolerConn = handleConn{}

// Pooler is what the handle found at open, with PgBouncer's admin console asked for its
// version, mode and server (its refusal means another pooler, or a user the console does not
// admit, and is not an error).
func (c handleConn) Pooler(ctx context.Context) (PoolerFinding, error) {
	h := c.h
	p := h.Pooler
	// The open already asked the console when it refuses migrations and the server behind
	// was not known: PgBouncer answered then.
	if p.Kind != factory.PoolerPGlite && (p.Kind != factory.PoolerPgBouncer || p.Version == "") {
		if console, err := h.PgBouncerConsole(ctx); err == nil {
			p = p.Merge(console)
		}
	}
	h.Pooler = p
	return PoolerFinding{Pooler: p, ExecMode: h.ExecMode, ExecModeSet: factory.ExecModeSet(h.Config()), Direct: h.DirectHost()}, nil
}

// poolerCache is what the connection said of the pooler, asked once per run: postgres.pooler
// and the migration checks share it.
type poolerCache struct {
	mu   sync.Mutex
	done bool
	f    PoolerFinding
	err  error
}

// errCannotTell: the connection is not a PoolerConn.
var errCannotTell = errors.New("this connection cannot tell")

// poolerFinding is what sits between compozy and the server, asked once per run; errNotConnected
// (postgres.connect did not pass) or errCannotTell when it cannot be asked.
func (s *Set) poolerFinding(ctx context.Context) (PoolerFinding, error) {
	c, err := s.src.current()
	if err != nil {
		return PoolerFinding{}, errNotConnected
	}
	pc, ok := c.(PoolerConn)
	if !ok {
		return PoolerFinding{}, errCannotTell
	}
	pcache := &s.pooler
	pcache.mu.Lock()
	defer pcache.mu.Unlock()
	if pcache.done {
		return pcache.f, pcache.err
	}
	f, err := pc.Pooler(ctx)
	if ctx.Err() != nil {
		return f, err // not cached: another check may have more time
	}
	pcache.done, pcache.f, pcache.err = true, f, err
	return f, err
}

// errNotConnected: postgres.connect did not pass.
var errNotConnected = errors.New("not connected")

// poolerCheck is postgres.pooler: whether a pooler sits between compozy and the server, what
// it breaks and what to do.
func (s *Set) poolerCheck() doctor.Check {
	db := s.db
	return check(doctor.IDPostgresPooler, func(ctx context.Context) doctor.Result {
		f, err := s.poolerFinding(ctx)
		switch {
		case errors.Is(err, errNotConnected):
			return doctor.Skip("skipped: not connected (postgres.connect did not pass)")
		case errors.Is(err, errCannotTell):
			return doctor.Skip("skipped: this connection cannot tell")
		case err != nil:
			return doctor.Fail("cannot tell whether a pooler is in the way", config.Redact(err.Error()), doctor.Fix{})
		}
		return poolerResult(f, db)
	})
}

// migrateRefused is, when compozy migrate up refuses to run through the connection (a
// transaction pooler, see factory.RefusesMigrations), why in one clause, and the fix: what
// (the action, "apply them") through the server's direct URL, with the command when the
// server behind the pooler is known. ok is false when migrate up runs through it, or the
// pooler cannot be told. postgres.pooler and the migration checks give this one fix.
func (s *Set) migrateRefused(ctx context.Context, what string) (why string, fix doctor.Fix, ok bool) {
	if s.db.Driver != config.DriverPostgres {
		return "", doctor.Fix{}, false
	}
	f, err := s.poolerFinding(ctx)
	if err != nil || !factory.RefusesMigrations(f.Pooler) {
		return "", doctor.Fix{}, false
	}
	fix = directFix(s.db, f, what)
	if len(fix.Commands) == 0 {
		fix.Text += ", with --db-conn-string or COMPOZY_DB_CONN_STRING"
	}
	return "compozy migrate up refuses to run through " + f.Pooler.Name() + ": the migration lock, a session advisory lock, does not hold there", fix, true
}

// directFix is what (an action: "run migrations") through the server's direct URL, with
// compozy migrate up through it when the server behind the pooler is known.
func directFix(db config.Database, f PoolerFinding, what string) doctor.Fix {
	fix := doctor.Fix{Text: what + " through the server's direct URL (not the pooler's)"}
	if cmd := factory.DirectMigrateCommand(db, f.Direct); cmd != "" {
		fix.Commands = []string{cmd}
	}
	return fix
}

// cachedModes are pgx's exec modes that keep named prepared statements (or descriptions used
// across round trips) on a server session.
var cachedModes = []string{"cache_statement", "cache_describe", "describe_exec"}

// poolerResult judges a finding.
func poolerResult(f PoolerFinding, db config.Database) doctor.Result {
	p := f.Pooler
	name := p.Name()
	evidence := strings.Join(p.Evidence, "; ")
	mode, _, _ := strings.Cut(f.ExecMode, " ")
	cached := false
	for _, m := range cachedModes {
		cached = cached || mode == m
	}
	switch {
	case !p.Found():
		return doctor.Pass("no pooler between compozy and the server: session advisory locks (the migration lock) and prepared statements work")
	case !p.BreaksSessions():
		return doctor.Pass(name + ": each client keeps its server session, so the migration lock and prepared statements work")
	case cached && f.ExecModeSet:
		return doctor.Fail(fmt.Sprintf("%s: default_query_exec_mode=%s keeps named prepared statements on a server session the next query may not get: \"prepared statement ... already exists\" (SQLSTATE 42P05) or \"does not exist\" (26000)", name, mode),
			evidence, doctor.Fix{Text: "set default_query_exec_mode=simple_protocol (or exec) in database.conn_string, or remove it and let compozy choose"})
	case p.Kind == factory.PoolerPGlite:
		return doctor.Warn(name+": the migration lock (a session advisory lock) cannot keep a second migrator out; compozy runs queries in "+f.ExecMode,
			evidence+". PGlite is for tests and development",
			doctor.Fix{Text: "run one compozy migrate at a time against it; use a PostgreSQL server for anything else"})
	}
	detail := fmt.Sprintf("%s. Session state does not last from one transaction to the next: session advisory locks (goose's migration lock), SET and named prepared statements. "+
		"compozy migrate up and down refuse to run through it and change nothing; compozy runs queries through it in %s.", evidence, f.ExecMode)
	fix := directFix(db, f, "run migrations")
	fix.Text += "; keep the pooled URL for Compozy: its storage and pgvector stores choose default_query_exec_mode=simple_protocol by themselves when they find the pooler and the conn_string does not choose a mode (simple_protocol or exec written there work too)"
	return doctor.Warn(name+": session advisory locks (the migration lock) and named prepared statements do not work through it", detail, fix)
}

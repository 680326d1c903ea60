package checks

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
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
	if p.Kind != factory.PoolerPGlite {
		if console, err := h.PgBouncerConsole(ctx); err == nil {
			p = p.Merge(console)
		}
	}
	h.Pooler = p
	return PoolerFinding{Pooler: p, ExecMode: h.ExecMode, ExecModeSet: factory.ExecModeSet(h.Config()), Direct: h.DirectHost()}, nil
}

// poolerCheck is postgres.pooler: whether a pooler sits between compozy and the server, what
// it breaks and what to do.
func (s *Set) poolerCheck() doctor.Check {
	db := s.db
	return check(doctor.IDPostgresPooler, func(ctx context.Context) doctor.Result {
		c, err := s.src.current()
		if err != nil {
			return doctor.Skip("skipped: not connected (postgres.connect did not pass)")
		}
		pc, ok := c.(PoolerConn)
		if !ok {
			return doctor.Skip("skipped: this connection cannot tell")
		}
		f, err := pc.Pooler(ctx)
		if err != nil {
			return doctor.Fail("cannot tell whether a pooler is in the way", config.Redact(err.Error()), doctor.Fix{})
		}
		return poolerResult(f, db)
	})
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
	fix := doctor.Fix{Text: "run migrations through the server's direct URL (not the pooler's); keep the pooled URL for Compozy: its storage and pgvector stores choose default_query_exec_mode=simple_protocol by themselves when they find the pooler and the conn_string does not choose a mode (simple_protocol or exec written there work too)"}
	if cmd := directMigrate(db, f.Direct); cmd != "" {
		fix.Commands = []string{cmd}
	}
	return doctor.Warn(name+": session advisory locks (the migration lock) and named prepared statements do not work through it", detail, fix)
}

// directMigrate is `compozy migrate up` through the direct host:port, without the password
// (COMPOZY_DB_PASSWORD gives it); "" when the direct server is not known.
func directMigrate(db config.Database, direct string) string {
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
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		return ""
	}
	cs.Hosts, cs.Ports = []string{host}, []int{port}
	return shellquote.Join("compozy", "migrate", "up", "--db-conn-string", cs.URL())
}

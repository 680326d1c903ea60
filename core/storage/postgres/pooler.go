package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pooler kinds (Pooler.Kind).
const (
	PoolerPgBouncer = "pgbouncer" // PgBouncer (its admin console answered SHOW VERSION)
	PoolerSupabase  = "supabase"  // Supabase's pooler (Supavisor) or its dedicated PgBouncer
	PoolerNeon      = "neon"      // Neon's pooled endpoint (-pooler host, PgBouncer)
	PoolerPGlite    = "pglite"    // PGlite: one backend session shared by every client
	PoolerUnknown   = "pooler"    // something that moves statements between server sessions
)

// Pool modes (Pooler.Mode), as PgBouncer names them.
const (
	ModeSession     = "session"
	ModeTransaction = "transaction"
	ModeStatement   = "statement"
)

// Pooler is what sits between compozy and the PostgreSQL server, as far as it can be told: by
// the host and port (managed poolers' patterns), by watching server sessions (pg_backend_pid()
// of one client connection changing between two statements, or two client connections sharing
// one), and by PgBouncer's admin console. The zero value is a direct connection.
type Pooler struct {
	// Kind is one of the Pooler* constants; "" when nothing was found.
	Kind string
	// Mode is the pool mode when known (ModeSession, ModeTransaction, ModeStatement).
	Mode string
	// SharedSession: server sessions were seen shared or swapped between statements, so
	// session state (session advisory locks, SET, named prepared statements) does not last.
	SharedSession bool
	// Version is the pooler's own version ("PgBouncer 1.18.0") when it said.
	Version string
	// Server is the host:port behind the pooler when PgBouncer's admin console said.
	Server string
	// Evidence says what told, one phrase each.
	Evidence []string
}

// Found reports whether anything was found between compozy and the server.
func (p Pooler) Found() bool { return p.Kind != "" || p.SharedSession }

// BreaksSessions reports whether session state does not last from one transaction to the next:
// a transaction or statement pooler, or a shared session (PGlite).
func (p Pooler) BreaksSessions() bool {
	return p.SharedSession || p.Mode == ModeTransaction || p.Mode == ModeStatement
}

// Name is the pooler for a sentence: "PgBouncer 1.18.0 (transaction pooling)", "Supabase's
// pooler (transaction pooling)", "PGlite (one session shared by every client)".
func (p Pooler) Name() string {
	var name string
	switch p.Kind {
	case PoolerPgBouncer:
		name = "PgBouncer"
	case PoolerSupabase:
		name = "Supabase's pooler"
	case PoolerNeon:
		name = "Neon's pooler"
	case PoolerPGlite:
		return "PGlite (one session shared by every client)"
	case "":
		if !p.SharedSession {
			return "no pooler"
		}
		name = "a connection pooler"
	default:
		name = "a connection pooler"
	}
	if p.Version != "" {
		name = p.Version
	}
	switch {
	case p.Mode != "":
		name += " (" + p.Mode + " pooling)"
	case p.SharedSession:
		name += " (server sessions shared between clients)"
	}
	return name
}

// HostPooler tells the managed poolers by their documented host names and ports: Supabase's
// *.pooler.supabase.com (port 6543 pools transactions, 5432 sessions) and its dedicated
// PgBouncer on port 6543, Neon's "-pooler." hosts (PgBouncer in transaction mode), and port
// 6543 elsewhere (the convention Supabase made common). It connects to nothing.
func HostPooler(host string, port int) Pooler {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case strings.HasSuffix(h, ".pooler.supabase.com"):
		mode := ModeSession
		if port == 6543 {
			mode = ModeTransaction
		}
		return Pooler{Kind: PoolerSupabase, Mode: mode, Evidence: []string{fmt.Sprintf("host %s port %d is Supabase's pooler", host, port)}}
	case strings.HasSuffix(h, ".supabase.co") && port == 6543:
		return Pooler{Kind: PoolerSupabase, Mode: ModeTransaction, Evidence: []string{fmt.Sprintf("port %d of %s is Supabase's transaction pooler", port, host)}}
	case strings.Contains(h, "-pooler.") && strings.Contains(h, "neon"):
		return Pooler{Kind: PoolerNeon, Mode: ModeTransaction, Evidence: []string{"host " + host + " is Neon's pooled endpoint (-pooler)"}}
	case strings.Contains(h, "-pooler."):
		return Pooler{Kind: PoolerUnknown, Mode: ModeTransaction, Evidence: []string{"host " + host + " names a pooled endpoint (-pooler)"}}
	case port == 6543:
		return Pooler{Kind: PoolerUnknown, Mode: ModeTransaction, Evidence: []string{"port 6543 is the usual transaction pooler port"}}
	}
	return Pooler{}
}

// DirectHost is the host and port a managed pooler's direct (or session) endpoint has, for
// migrations: Supabase's pooler host on port 5432 (session mode), Neon's host without
// "-pooler"; PgBouncer's server when its admin console named it. "" when not known.
func (p Pooler) DirectHost(host string, port int) string {
	switch {
	case p.Server != "":
		return p.Server
	case p.Kind == PoolerSupabase && port == 6543:
		return host + ":5432"
	case strings.Contains(host, "-pooler."):
		return strings.Replace(host, "-pooler.", ".", 1) + ":" + strconv.Itoa(port)
	}
	return ""
}

// ExecModeSet reports whether opts' connection string chooses how pgx runs queries
// (default_query_exec_mode or statement_cache_capacity): then the one door keeps that choice
// whatever it finds.
func ExecModeSet(opts Options) bool {
	return connStringSets(opts.ConnString, "default_query_exec_mode") || connStringSets(opts.ConnString, "statement_cache_capacity")
}

// probeSessions watches server sessions through the pool, in the simple protocol (so the
// probe leaves nothing behind on a pooler): client connection A asks pg_backend_pid(); a second
// client connection B asks while A is still open (a direct server gives B a session of its
// own, a transaction pooler hands B the one A just used); A asks again (a direct server keeps
// A's session). Either difference means session state does not last. It also tells PGlite by
// its version(). Errors leave the finding empty: the probe never stops an open.
func probeSessions(ctx context.Context, pool *pgxpool.Pool) (Pooler, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := pool.Acquire(ctx)
	if err != nil {
		return Pooler{}, err
	}
	defer a.Release()
	var p1, p2, p3 int32
	var pglite bool
	if err := a.QueryRow(ctx, "SELECT pg_backend_pid(), strpos(version(), 'PGlite') > 0", pgx.QueryExecModeSimpleProtocol).Scan(&p1, &pglite); err != nil {
		return Pooler{}, err
	}
	var p Pooler
	if pglite {
		p.Kind = PoolerPGlite
		p.Evidence = append(p.Evidence, "version() names PGlite")
	}
	pid := func(c *pgxpool.Conn) (int32, error) {
		var n int32
		err := c.QueryRow(ctx, "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(&n)
		return n, err
	}
	if pool.Config().MaxConns >= 2 {
		b, err := pool.Acquire(ctx)
		if err != nil {
			return p, err
		}
		p2, err = pid(b)
		// The second connection was only for the probe: close it rather than keep it idle in
		// the pool (servers such as PGlite admit few connections).
		_ = b.Hijack().Close(context.WithoutCancel(ctx))
		if err != nil {
			return p, err
		}
		if p2 == p1 {
			p.SharedSession = true
			p.Evidence = append(p.Evidence, fmt.Sprintf("two client connections ran on one server session (pid %d)", p1))
			return p, nil
		}
	}
	if p3, err = pid(a); err != nil {
		return p, err
	}
	if p3 != p1 {
		p.SharedSession = true
		p.Evidence = append(p.Evidence, fmt.Sprintf("one client connection moved from server session %d to %d between two statements", p1, p3))
	}
	return p, nil
}

// AdminConsole asks PgBouncer's admin console (the virtual database "pgbouncer" on the same
// host and port, with the same user and password) for its version and the pool mode of the
// database opts names, and the server behind it. A server that is not PgBouncer refuses the
// database; PgBouncer refuses users not in admin_users or stats_users. Either way the error is
// returned and nothing is changed: the console is only read (SHOW).
func AdminConsole(ctx context.Context, opts Options) (Pooler, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return Pooler{}, err
	}
	cc := cfg.ConnConfig.Config.Copy()
	dbname := cc.Database
	cc.Database = "pgbouncer"
	// The console accepts few startup parameters: send none but the user and database.
	cc.RuntimeParams = map[string]string{}
	if cc.ConnectTimeout <= 0 || cc.ConnectTimeout > 5*time.Second {
		cc.ConnectTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cc)
	if err != nil {
		return Pooler{}, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	show := func(what string) ([]map[string]string, error) {
		res, err := conn.Exec(ctx, "SHOW "+what).ReadAll()
		if err != nil {
			return nil, err
		}
		var out []map[string]string
		for _, r := range res {
			if r.Err != nil {
				return nil, r.Err
			}
			for _, row := range r.Rows {
				m := map[string]string{}
				for i, fd := range r.FieldDescriptions {
					if i < len(row) {
						m[fd.Name] = string(row[i])
					}
				}
				out = append(out, m)
			}
		}
		return out, nil
	}
	rows, err := show("VERSION")
	if err != nil || len(rows) == 0 {
		return Pooler{}, fmt.Errorf("pgbouncer admin console: SHOW VERSION: %w", errors.Join(err, errors.New("no answer")))
	}
	p := Pooler{Kind: PoolerPgBouncer}
	for _, v := range rows[0] {
		p.Version = strings.TrimSpace(v)
	}
	if !strings.Contains(strings.ToLower(p.Version), "pgbouncer") {
		return Pooler{}, fmt.Errorf("pgbouncer admin console: SHOW VERSION said %q", p.Version)
	}
	p.Evidence = append(p.Evidence, "its admin console answered SHOW VERSION: "+p.Version)
	if dbs, err := show("DATABASES"); err == nil {
		for _, d := range dbs {
			if d["name"] != dbname {
				continue
			}
			p.Mode = d["pool_mode"]
			if d["host"] != "" && d["port"] != "" {
				p.Server = d["host"] + ":" + d["port"]
			}
		}
	}
	if p.Mode == "" {
		if cfgRows, err := show("CONFIG"); err == nil {
			for _, c := range cfgRows {
				if c["key"] == "pool_mode" {
					p.Mode = c["value"]
				}
			}
		}
	}
	return p, nil
}

// Merge adds what q found (the admin console's answer, a probe's) to p.
func (p Pooler) Merge(q Pooler) Pooler {
	if p.Kind == "" || (p.Kind == PoolerUnknown && q.Kind != "") {
		p.Kind = q.Kind
	}
	if q.Mode != "" {
		p.Mode = q.Mode
	}
	if q.Version != "" {
		p.Version = q.Version
	}
	if q.Server != "" {
		p.Server = q.Server
	}
	p.SharedSession = p.SharedSession || q.SharedSession
	p.Evidence = append(p.Evidence, q.Evidence...)
	return p
}

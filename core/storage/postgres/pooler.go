package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
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

// Detect is what sits between pool and its server: HostPooler for the pool's host and port,
// with what a probe of the server sessions saw (probeSessions) merged in. The probe runs in the
// simple protocol and leaves at most one idle connection in pool. When the probe fails, the
// error is returned with what the host alone told. The storage pool (Open) and the pgvector
// store both decide through it.
func Detect(ctx context.Context, pool *pgxpool.Pool) (Pooler, error) {
	cc := pool.Config().ConnConfig
	found := HostPooler(cc.Host, int(cc.Port))
	seen, err := probeSessions(ctx, pool)
	if err != nil {
		return found, err
	}
	return found.Merge(seen), nil
}

// ExecModeFor is the query exec mode a pool should run in, given what was found between it and
// the server and the connection string it was made from: current (pgx's default, or what the
// string says) unless session state does not last there (a transaction pooler, PGlite's one
// shared session), where pgx's cached named prepared statements collide ("prepared statement
// ... already exists", SQLSTATE 42P05, or "does not exist", 26000) and the simple protocol,
// which prepares nothing on the server, is chosen. A connection string that sets
// default_query_exec_mode or statement_cache_capacity itself always keeps its choice.
// changed reports whether the mode differs from current.
func ExecModeFor(found Pooler, connString string, current pgx.QueryExecMode) (mode pgx.QueryExecMode, changed bool) {
	if !found.BreaksSessions() || ExecModeSet(Options{ConnString: connString}) || current == pgx.QueryExecModeSimpleProtocol {
		return current, false
	}
	return pgx.QueryExecModeSimpleProtocol, true
}

// ExecModeName is pgx's name of a query exec mode, as default_query_exec_mode spells it.
func ExecModeName(m pgx.QueryExecMode) string { return execModeName(m) }

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

// Errors of PgBouncer's admin console (AdminConsole, AdminLimits), for errors.Is.
var (
	// ErrNotPgBouncer: the server has no "pgbouncer" database (SQLSTATE 3D000), so it is a
	// PostgreSQL server (or a pooler that passes the name on), not PgBouncer.
	ErrNotPgBouncer = errors.New("not PgBouncer: the server has no \"pgbouncer\" database")
	// ErrConsoleRefused: PgBouncer answered "not allowed": the user is in neither admin_users
	// nor stats_users.
	ErrConsoleRefused = errors.New("PgBouncer's admin console refused the user (not in admin_users or stats_users)")
)

// adminConsole is a connection to PgBouncer's admin console: the virtual database "pgbouncer"
// on the host and port opts names, with the same user and password. It sends no startup
// parameter but the user, the database and, when set, opts.ApplicationName. The context it
// returns bounds the whole conversation (10 s at most); close it with done.
type adminConsole struct {
	conn     *pgconn.PgConn
	ctx      context.Context
	database string // the database opts names (whose pool compozy uses)
	user     string
	done     func()
}

func dialConsole(ctx context.Context, opts Options) (*adminConsole, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig.Config.Copy()
	a := &adminConsole{database: cc.Database, user: cc.User}
	cc.Database = "pgbouncer"
	// The console accepts few startup parameters: send none but the user and database (and
	// application_name, which it shows in SHOW CLIENTS).
	cc.RuntimeParams = map[string]string{}
	if opts.ApplicationName != "" {
		cc.RuntimeParams["application_name"] = opts.ApplicationName
	}
	if cc.ConnectTimeout <= 0 || cc.ConnectTimeout > 5*time.Second {
		cc.ConnectTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgconn.ConnectConfig(ctx, cc)
	if err != nil {
		cancel()
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == "3D000":
			err = fmt.Errorf("%w: %w", ErrNotPgBouncer, err)
		case errors.As(err, &pe) && pe.Message == "not allowed":
			err = fmt.Errorf("%w: %w", ErrConsoleRefused, err)
		}
		return nil, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	a.conn, a.ctx = conn, ctx
	a.done = func() {
		_ = conn.Close(context.WithoutCancel(ctx))
		cancel()
	}
	return a, nil
}

// maxConsoleRows bounds what one SHOW may return (SHOW CLIENTS has a row per client).
const maxConsoleRows = 1 << 20

// show runs SHOW what on the console and hands each row to row, by column name. It reads the
// rows as they come and stops with an error past maxConsoleRows.
func (a *adminConsole) show(what string, row func(map[string]string)) error {
	mrr := a.conn.Exec(a.ctx, "SHOW "+what)
	defer mrr.Close()
	n := 0
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		fields := rr.FieldDescriptions()
		for rr.NextRow() {
			if n++; n > maxConsoleRows {
				_, _ = rr.Close()
				return fmt.Errorf("SHOW %s: more than %d rows", what, maxConsoleRows)
			}
			vals := rr.Values()
			m := make(map[string]string, len(fields))
			for i, fd := range fields {
				if i < len(vals) {
					m[fd.Name] = string(vals[i])
				}
			}
			row(m)
		}
		if _, err := rr.Close(); err != nil {
			return fmt.Errorf("SHOW %s: %w", what, err)
		}
	}
	return mrr.Close()
}

// version asks SHOW VERSION and checks that the answer names PgBouncer.
func (a *adminConsole) version() (string, error) {
	var v string
	err := a.show("VERSION", func(m map[string]string) {
		for _, s := range m {
			v = strings.TrimSpace(s)
		}
	})
	if err != nil || v == "" {
		return "", fmt.Errorf("pgbouncer admin console: SHOW VERSION: %w", errors.Join(err, errors.New("no answer")))
	}
	if !strings.Contains(strings.ToLower(v), "pgbouncer") {
		return "", fmt.Errorf("pgbouncer admin console: SHOW VERSION said %q", v)
	}
	return v, nil
}

// config reads SHOW CONFIG as key → value.
func (a *adminConsole) config() (map[string]string, error) {
	out := map[string]string{}
	err := a.show("CONFIG", func(m map[string]string) { out[m["key"]] = m["value"] })
	return out, err
}

// AdminConsole asks PgBouncer's admin console (the virtual database "pgbouncer" on the same
// host and port, with the same user and password) for its version and the pool mode of the
// database opts names, and the server behind it. A server that is not PgBouncer refuses the
// database (ErrNotPgBouncer); PgBouncer refuses users not in admin_users or stats_users
// (ErrConsoleRefused). Either way the error is returned and nothing is changed: the console is
// only read (SHOW).
func AdminConsole(ctx context.Context, opts Options) (Pooler, error) {
	a, err := dialConsole(ctx, opts)
	if err != nil {
		return Pooler{}, err
	}
	defer a.done()
	v, err := a.version()
	if err != nil {
		return Pooler{}, err
	}
	p := Pooler{Kind: PoolerPgBouncer, Version: v}
	p.Evidence = append(p.Evidence, "its admin console answered SHOW VERSION: "+p.Version)
	_ = a.show("DATABASES", func(d map[string]string) {
		if d["name"] != a.database {
			return
		}
		p.Mode = d["pool_mode"]
		if d["host"] != "" && d["port"] != "" {
			p.Server = d["host"] + ":" + d["port"]
		}
	})
	if p.Mode == "" {
		if cfg, err := a.config(); err == nil {
			p.Mode = cfg["pool_mode"]
		}
	}
	return p, nil
}

// PgBouncerLimits is what PgBouncer's admin console says about its limits and their use now,
// for a connection budget.
type PgBouncerLimits struct {
	// Version is SHOW VERSION's answer ("PgBouncer 1.18.0").
	Version string
	// Database and User name the pool compozy's connections use.
	Database, User string
	// MaxClientConn is max_client_conn: the client connections PgBouncer accepts in all.
	MaxClientConn int
	// Clients counts the client connections PgBouncer has now (SHOW CLIENTS), not counting the
	// asker's own: this console connection and the sessions whose application_name is the
	// Options' ApplicationName.
	Clients int
	// DefaultPoolSize and ReservePoolSize are default_pool_size and reserve_pool_size.
	DefaultPoolSize, ReservePoolSize int
	// PoolSize and ReservePool are the server connections PgBouncer opens for a user of
	// Database (SHOW DATABASES: the database's pool_size, or default_pool_size), and more when
	// clients wait reserve_pool_timeout.
	PoolSize, ReservePool int
	// MaxDBConnections is the database's max_db_connections, MaxUserConnections
	// max_user_connections; 0 is no limit.
	MaxDBConnections, MaxUserConnections int
	// ServerConns are the server connections the pool (Database, User) has open now.
	ServerConns int
}

// ServerCap is the most server connections PgBouncer opens for the pool (Database, User):
// PoolSize + ReservePool, within max_db_connections and max_user_connections.
func (l PgBouncerLimits) ServerCap() int {
	c := l.PoolSize + l.ReservePool
	for _, m := range []int{l.MaxDBConnections, l.MaxUserConnections} {
		if m > 0 && m < c {
			c = m
		}
	}
	return c
}

// AdminLimits asks PgBouncer's admin console (as AdminConsole does, and with its errors) for
// its limits and how many clients and server connections it has now: SHOW CONFIG, DATABASES,
// POOLS and CLIENTS. It only reads.
func AdminLimits(ctx context.Context, opts Options) (PgBouncerLimits, error) {
	a, err := dialConsole(ctx, opts)
	if err != nil {
		return PgBouncerLimits{}, err
	}
	defer a.done()
	l := PgBouncerLimits{Database: a.database, User: a.user}
	if l.Version, err = a.version(); err != nil {
		return PgBouncerLimits{}, err
	}
	cfg, err := a.config()
	if err != nil {
		return PgBouncerLimits{}, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	for key, to := range map[string]*int{"max_client_conn": &l.MaxClientConn, "default_pool_size": &l.DefaultPoolSize,
		"reserve_pool_size": &l.ReservePoolSize, "max_db_connections": &l.MaxDBConnections, "max_user_connections": &l.MaxUserConnections} {
		if *to, err = strconv.Atoi(strings.TrimSpace(cfg[key])); err != nil {
			return PgBouncerLimits{}, fmt.Errorf("pgbouncer admin console: SHOW CONFIG: %s %q", key, cfg[key])
		}
	}
	l.PoolSize, l.ReservePool = l.DefaultPoolSize, l.ReservePoolSize
	num := func(m map[string]string, key string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(m[key]))
		return n
	}
	err = a.show("DATABASES", func(d map[string]string) {
		if d["name"] != a.database {
			return
		}
		// A negative size is "not set for this database" in some versions: the default holds.
		if n := num(d, "pool_size"); n >= 0 && d["pool_size"] != "" {
			l.PoolSize = n
		}
		if n := num(d, "reserve_pool"); n >= 0 && d["reserve_pool"] != "" {
			l.ReservePool = n
		}
		if n := num(d, "max_connections"); n > 0 {
			l.MaxDBConnections = n
		}
	})
	if err != nil {
		return PgBouncerLimits{}, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	err = a.show("POOLS", func(p map[string]string) {
		if p["database"] == a.database && p["user"] == a.user {
			l.ServerConns += num(p, "sv_active") + num(p, "sv_idle") + num(p, "sv_used") + num(p, "sv_tested") + num(p, "sv_login")
		}
	})
	if err != nil {
		return PgBouncerLimits{}, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	// This console connection is the client whose address and port are our socket's local
	// ones (over TCP); over a Unix socket, one console client of our application_name.
	own := ""
	if addr, ok := a.conn.Conn().LocalAddr().(*net.TCPAddr); ok {
		own = net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))
	}
	ownSeen := false
	err = a.show("CLIENTS", func(c map[string]string) {
		switch {
		case !ownSeen && own != "" && net.JoinHostPort(c["addr"], c["port"]) == own:
			ownSeen = true
		case opts.ApplicationName != "" && c["application_name"] == opts.ApplicationName:
		default:
			l.Clients++
		}
	})
	if err != nil {
		return PgBouncerLimits{}, fmt.Errorf("pgbouncer admin console: %w", err)
	}
	if !ownSeen && opts.ApplicationName == "" && l.Clients > 0 {
		l.Clients--
	}
	return l, nil
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

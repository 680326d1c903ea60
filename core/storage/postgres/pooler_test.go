package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

func TestHostPooler(t *testing.T) {
	for _, tc := range []struct {
		host       string
		port       int
		kind, mode string
		direct     string
	}{
		{"aws-0-eu-west-1.pooler.supabase.com", 6543, postgres.PoolerSupabase, postgres.ModeTransaction, "aws-0-eu-west-1.pooler.supabase.com:5432"},
		{"aws-0-eu-west-1.pooler.supabase.com", 5432, postgres.PoolerSupabase, postgres.ModeSession, ""},
		{"db.abcdefgh.supabase.co", 6543, postgres.PoolerSupabase, postgres.ModeTransaction, "db.abcdefgh.supabase.co:5432"},
		{"db.abcdefgh.supabase.co", 5432, "", "", ""},
		{"ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", 5432, postgres.PoolerNeon, postgres.ModeTransaction, "ep-cool-darkness-123456.us-east-2.aws.neon.tech:5432"},
		{"ep-cool-darkness-123456.us-east-2.aws.neon.tech", 5432, "", "", ""},
		{"db.internal", 6543, postgres.PoolerUnknown, postgres.ModeTransaction, ""},
		{"db.internal", 5432, "", "", ""},
		{"127.0.0.1", 6432, "", "", ""}, // PgBouncer's usual port says nothing about its mode
	} {
		p := postgres.HostPooler(tc.host, tc.port)
		if p.Kind != tc.kind || p.Mode != tc.mode {
			t.Errorf("HostPooler(%s, %d) = %q %q, want %q %q", tc.host, tc.port, p.Kind, p.Mode, tc.kind, tc.mode)
		}
		if got := p.DirectHost(tc.host, tc.port); p.Found() && got != tc.direct {
			t.Errorf("DirectHost(%s, %d) = %q, want %q", tc.host, tc.port, got, tc.direct)
		}
		if p.BreaksSessions() != (tc.mode == postgres.ModeTransaction) {
			t.Errorf("HostPooler(%s, %d).BreaksSessions() = %v", tc.host, tc.port, p.BreaksSessions())
		}
	}
}

// A direct connection: nothing found, pgx's statement cache kept.
func TestOpenDirectFindsNoPooler(t *testing.T) {
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: testenv.PostgresDB(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if p := d.Pooler(); p.Found() {
		t.Errorf("direct connection: found %s (%v)", p.Name(), p.Evidence)
	}
	if d.ExecMode() != "cache_statement" {
		t.Errorf("exec mode %q, want pgx's default cache_statement", d.ExecMode())
	}
	if _, err := postgres.AdminConsole(testCtx(t), postgres.Options{ConnString: testenv.AdminPostgresDSN()}); err == nil {
		t.Error("PostgreSQL itself answered as PgBouncer's admin console")
	}
}

// Through a transaction-pooling PgBouncer: the probe sees server sessions shared, the pool
// runs in the simple protocol, and the admin console names PgBouncer, its mode and the server.
func TestOpenThroughPgBouncer(t *testing.T) {
	pooled, _ := testenv.PgBouncerDB(t)
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: pooled, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := d.Pooler()
	if !p.SharedSession || !p.BreaksSessions() {
		t.Fatalf("through PgBouncer: found %+v, want shared server sessions", p)
	}
	if !strings.HasPrefix(d.ExecMode(), "simple_protocol (chosen by compozy") {
		t.Errorf("exec mode %q, want simple_protocol chosen by compozy", d.ExecMode())
	}
	// The statement cache would collide here (42P05); the simple protocol does not.
	for range 20 {
		var n int
		if err := d.Pool().QueryRow(testCtx(t), "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
			t.Fatalf("query through PgBouncer: %d, %v", n, err)
		}
	}
	c, err := postgres.AdminConsole(testCtx(t), postgres.Options{ConnString: pooled})
	if err != nil {
		t.Fatalf("admin console: %v", err)
	}
	if c.Kind != postgres.PoolerPgBouncer || !strings.Contains(c.Version, "PgBouncer") || c.Mode != postgres.ModeTransaction || c.Server == "" {
		t.Errorf("admin console said %+v, want PgBouncer in transaction mode with its server", c)
	}
	if got := p.Merge(c).Name(); !strings.Contains(got, "PgBouncer") || !strings.Contains(got, "transaction pooling") {
		t.Errorf("name %q", got)
	}
}

// PgBouncer's admin console gives its limits (.ci/run's: max_client_conn 200,
// default_pool_size 20, no reserve) and counts the clients it has now, not the asker's own
// sessions (by application_name) nor its console connection; PostgreSQL itself is no
// PgBouncer (ErrNotPgBouncer).
func TestAdminLimitsThroughPgBouncer(t *testing.T) {
	pooled, _ := testenv.PgBouncerDB(t)
	mine, err := postgres.Open(testCtx(t), postgres.Options{ConnString: pooled, MaxConns: 4, MinIdleConns: 2, ApplicationName: "compozy limits test"})
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	opts := postgres.Options{ConnString: pooled, ApplicationName: "compozy limits test"}
	before, err := postgres.AdminLimits(testCtx(t), opts)
	if err != nil {
		t.Fatalf("admin limits: %v", err)
	}
	if !strings.Contains(before.Version, "PgBouncer") || before.MaxClientConn != 200 || before.DefaultPoolSize != 20 || before.PoolSize != 20 || before.ReservePool != 0 || before.ServerCap() != 20 {
		t.Errorf("limits %+v, want .ci/run's max_client_conn 200 and pool size 20", before)
	}
	if before.User == "" || before.Database == "" || before.ServerConns < 1 || before.ServerConns > 20 {
		t.Errorf("limits %+v: want the pool's user, database and its server connection(s)", before)
	}
	// Three more clients of another application: three more counted. Other tests' clients may
	// come and go on the same PgBouncer meanwhile, so a few tries are allowed.
	more := func() (before, after int) {
		b, err := postgres.AdminLimits(testCtx(t), opts)
		if err != nil {
			t.Fatalf("admin limits: %v", err)
		}
		for range 3 {
			c, err := pgconn.Connect(testCtx(t), pooled+"&application_name=someone+else")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.WithoutCancel(testCtx(t)))
		}
		a, err := postgres.AdminLimits(testCtx(t), opts)
		if err != nil {
			t.Fatalf("admin limits: %v", err)
		}
		return b.Clients, a.Clients
	}
	for try := 1; ; try++ {
		b, a := more()
		if a >= b+3 {
			break
		}
		if try == 5 {
			t.Fatalf("clients %d before three more connections, %d after: want three more", b, a)
		}
	}
	if _, err := postgres.AdminLimits(testCtx(t), postgres.Options{ConnString: testenv.AdminPostgresDSN()}); !errors.Is(err, postgres.ErrNotPgBouncer) {
		t.Errorf("PostgreSQL itself: %v, want ErrNotPgBouncer", err)
	}
}

// A connection string that chooses the exec mode keeps it, pooler or not.
func TestOpenKeepsTheChosenExecMode(t *testing.T) {
	pooled, _ := testenv.PgBouncerDB(t)
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: pooled + "&default_query_exec_mode=exec", MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.ExecMode() != "exec" || !d.Pooler().SharedSession {
		t.Errorf("exec mode %q, pooler %+v; want exec kept and the pooler found", d.ExecMode(), d.Pooler())
	}
	if !slices.Contains([]bool{postgres.ExecModeSet(postgres.Options{ConnString: pooled + "&statement_cache_capacity=0"})}, true) {
		t.Error("statement_cache_capacity is a choice of exec mode too")
	}
}

// The repositories work through a transaction pooler (the schema migrated directly, as the
// docs say to).
func TestConformanceThroughPgBouncer(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		pooled, direct := testenv.PgBouncerDB(t)
		m, err := postgres.Open(testCtx(t), postgres.Options{ConnString: direct, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		storagetest.Migrate(t, "postgres", m.SQLDB())
		m.Close()
		d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: pooled, MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	})
}

// ExecModeFor: the simple protocol where session state does not last, unless the connection
// string chooses the mode; nothing changes on a direct connection or a session pooler.
func TestExecModeFor(t *testing.T) {
	pglite := postgres.Pooler{Kind: postgres.PoolerPGlite, SharedSession: true}
	bouncer := postgres.Pooler{Kind: postgres.PoolerPgBouncer, Mode: postgres.ModeTransaction}
	shared := postgres.Pooler{SharedSession: true}
	session := postgres.Pooler{Kind: postgres.PoolerSupabase, Mode: postgres.ModeSession}
	const plain = "postgres://u@127.0.0.1:55432/postgres?sslmode=disable"
	for _, tc := range []struct {
		name    string
		found   postgres.Pooler
		dsn     string
		current pgx.QueryExecMode
		want    pgx.QueryExecMode
		changed bool
	}{
		{"direct", postgres.Pooler{}, plain, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheStatement, false},
		{"session pooler", session, plain, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheStatement, false},
		{"PGlite", pglite, plain, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol, true},
		{"PgBouncer transaction", bouncer, plain, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol, true},
		{"sessions seen shared", shared, "host=db port=6432 user=u", pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeSimpleProtocol, true},
		{"PGlite, URL chooses exec", pglite, plain + "&default_query_exec_mode=exec", pgx.QueryExecModeExec, pgx.QueryExecModeExec, false},
		{"PGlite, URL chooses cache_statement", pglite, plain + "&default_query_exec_mode=cache_statement", pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheStatement, false},
		{"PgBouncer, keywords choose describe_exec", bouncer, "host=db default_query_exec_mode=describe_exec", pgx.QueryExecModeDescribeExec, pgx.QueryExecModeDescribeExec, false},
		{"PgBouncer, statement_cache_capacity set", bouncer, plain + "&statement_cache_capacity=0", pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheStatement, false},
		{"already simple", pglite, plain + "&default_query_exec_mode=simple_protocol", pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeSimpleProtocol, false},
	} {
		got, changed := postgres.ExecModeFor(tc.found, tc.dsn, tc.current)
		if got != tc.want || changed != tc.changed {
			t.Errorf("%s: ExecModeFor = %s %v, want %s %v", tc.name, postgres.ExecModeName(got), changed, postgres.ExecModeName(tc.want), tc.changed)
		}
	}
}

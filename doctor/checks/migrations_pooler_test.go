package checks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// pooledMigrationSet is migrationSet over a connection that says what sits between compozy and
// the server (conn), opened as postgres.connect opens it.
func pooledMigrationSet(t *testing.T, db config.Database, conn *findingConn) (*Set, []doctor.Check) {
	t.Helper()
	s := testSet(t, db, Inputs{}, conn, nil)
	if _, err := s.src.get(t.Context()); err != nil {
		t.Fatal(err)
	}
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) { return conn, nil }}
	return s, s.migrationChecks(ms)
}

// Through a transaction pooler, compozy migrate up refuses to run: migrations.tables and
// migrations.pending give migrate up through the server's direct URL (postgres.pooler's very
// command), and are not fixable by --fix, which says why (NotFixable). Through a session
// pooler, PGlite, or a connection that cannot tell, migrate up runs and --fix applies it.
func TestMigrationsThroughPooler(t *testing.T) {
	pooled := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app:s3cret@127.0.0.1:6432/app?sslmode=disable", AutoMigrate: true}
	bouncer := factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction, Version: "PgBouncer 1.18.0",
		SharedSession: true, Evidence: []string{"its admin console answered SHOW VERSION"}}
	const direct = "compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'"
	const why = "compozy migrate up refuses to run through PgBouncer 1.18.0 (transaction pooling): the migration lock, a session advisory lock, does not hold there"
	pending := &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5},
		Pending: []migrate.Migration{{Version: 4, File: "4_a.sql"}, {Version: 5, File: "5_b.sql"}}}
	missing := []string{"workflow_states"}
	for _, tc := range []struct {
		name    string
		f       PoolerFinding
		err     error
		fixable bool
		fixRe   string
		cmds    string
	}{
		{"transaction pooling, the server behind known", PoolerFinding{Pooler: bouncer, Direct: "10.0.0.5:5432"}, nil, false,
			`through the server's direct URL \(not the pooler's\)$`, direct},
		{"transaction pooling, the server behind unknown", PoolerFinding{Pooler: bouncer}, nil, false,
			`through the server's direct URL \(not the pooler's\), with --db-conn-string or COMPOZY_DB_CONN_STRING$`, ""},
		{"session pooling", PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: "session"}}, nil, true, "", "compozy migrate up"},
		{"PGlite", PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPGlite, SharedSession: true}}, nil, true, "", "compozy migrate up"},
		{"cannot tell", PoolerFinding{}, errors.New("pgbouncer admin console: connection reset"), true, "", "compozy migrate up"},
		{"direct", PoolerFinding{}, nil, true, "", "compozy migrate up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &findingConn{fakeConn: &fakeConn{missing: missing, check: pending}, f: tc.f, err: tc.err}
			s, cs := pooledMigrationSet(t, pooled, conn)
			for _, id := range []string{doctor.IDMigrationsTable, doctor.IDMigrationsPending} {
				var r doctor.Result
				for _, c := range cs {
					if c.ID == id {
						r = c.Run(t.Context())
						if c.Repair == nil {
							t.Errorf("%s has no repair", id)
						}
					}
				}
				if r.Fixable != tc.fixable {
					t.Errorf("%s: fixable %v, want %v", id, r.Fixable, tc.fixable)
				}
				if got := commands(r); got != tc.cmds {
					t.Errorf("%s: fix commands %q, want %q", id, got, tc.cmds)
				}
				if tc.fixRe != "" && !rx(tc.fixRe).MatchString(r.Fix.Text) {
					t.Errorf("%s: fix text %q, want it to match %q", id, r.Fix.Text, tc.fixRe)
				}
				switch {
				case tc.fixable && r.NotFixable != "":
					t.Errorf("%s: fixable, yet not_fixable %q", id, r.NotFixable)
				case !tc.fixable && r.NotFixable != why:
					t.Errorf("%s: not_fixable %q, want %q", id, r.NotFixable, why)
				}
				noSecret(t, r)
			}
			if tc.fixable {
				return
			}
			// postgres.pooler gives the same command (one function makes it).
			p := runCheck(t, []doctor.Check{s.poolerCheck()}, doctor.IDPostgresPooler, want{doctor.StatusWarn, `transaction pooling`})
			if commands(p) != tc.cmds {
				t.Errorf("postgres.pooler's commands %q, the migration checks' %q", commands(p), tc.cmds)
			}
		})
	}
}

// The migration checks and postgres.pooler ask the connection about the pooler once per run.
func TestPoolerFindingAskedOnce(t *testing.T) {
	pooled := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app@127.0.0.1:6432/app?sslmode=disable"}
	conn := &countingFindingConn{findingConn: findingConn{fakeConn: &fakeConn{missing: []string{"users"}},
		f: PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction}}}}
	s := testSet(t, pooled, Inputs{}, conn, nil)
	if _, err := s.src.get(t.Context()); err != nil {
		t.Fatal(err)
	}
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) { return conn, nil }}
	for _, c := range append(s.migrationChecks(ms), s.poolerCheck()) {
		c.Run(t.Context())
	}
	if conn.calls != 1 {
		t.Errorf("the pooler was asked %d times, want once", conn.calls)
	}
}

type countingFindingConn struct {
	findingConn
	calls int
}

func (c *countingFindingConn) Pooler(ctx context.Context) (PoolerFinding, error) {
	c.calls++
	return c.findingConn.Pooler(ctx)
}

// Through doctor's runner, a result that is not fixable keeps why; the text report says it.
func TestNotFixableReported(t *testing.T) {
	pooled := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app@127.0.0.1:6432/app?sslmode=disable"}
	conn := &findingConn{fakeConn: &fakeConn{missing: []string{"users"}},
		f: PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction}, Direct: "10.0.0.5:5432"}}
	_, cs := pooledMigrationSet(t, pooled, conn)
	var tables doctor.Check
	for _, c := range cs {
		if c.ID == doctor.IDMigrationsTable {
			tables = c
			tables.DependsOn = nil
		}
	}
	results := doctor.Run(t.Context(), []doctor.Check{tables}, doctor.RunOptions{})
	r := results[0]
	if r.Fixable || !strings.HasPrefix(r.NotFixable, "compozy migrate up refuses to run through PgBouncer (transaction pooling)") {
		t.Fatalf("fixable %v, not_fixable %q", r.Fixable, r.NotFixable)
	}
	var b strings.Builder
	if err := doctor.WritePlain(&b, doctor.Report{Results: results}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Contains(text, "--fix can apply this") || !strings.Contains(text, "(compozy doctor --fix does not apply this: compozy migrate up refuses to run through PgBouncer") ||
		!strings.Contains(text, "$ compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'") {
		t.Errorf("text report:\n%s", text)
	}
}

package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// othersConn is fakeConn that counts the other clients' connections itself (OtherClients).
type othersConn struct {
	*fakeConn
	others int
	err    error
}

func (c *othersConn) OtherClients(context.Context) (int, error) { return c.others, c.err }

func TestConnectionBudget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
		maxOpen  int
		conn     Conn
		want     want
	}{
		{"one process, room to spare", 0, 10, &fakeConn{backends: 5},
			want{doctor.StatusPass, `^1 × max_open_conns 10 \+ 5 held by other clients = 15 of 97 connections \(max_connections 100 - 3 superuser_reserved_connections\): 15%\n$`}},
		{"three replicas above 80 %", 3, 25, &fakeConn{backends: 5},
			want{doctor.StatusWarn, `^3 × max_open_conns 25 \+ 5 held by other clients = 80 of 97 connections .*: 82%\nabove 80 %`}},
		{"exactly the slots is not over", 4, 20, &fakeConn{backends: 17}, want{doctor.StatusWarn, `= 97 of 97 connections .*: 100%`}},
		{"one over fails", 4, 20, &fakeConn{backends: 18},
			want{doctor.StatusFail, `^4 × max_open_conns 20 \+ 18 held by other clients = 98 of 97 connections .*: 101%\n.*too many clients already`}},
		{"a thousand replicas", 1000, 25, &fakeConn{}, want{doctor.StatusFail, `^1000 × max_open_conns 25 \+ 0 held by other clients = 25000 of 97 connections .*: 25773%`}},
		{"reserved_connections of PostgreSQL 16", 1, 80, &fakeConn{show: map[string]string{"max_connections": "100", "superuser_reserved_connections": "3", "reserved_connections": "10"}},
			want{doctor.StatusWarn, `= 80 of 87 connections \(max_connections 100 - 3 superuser_reserved_connections - 10 reserved_connections\): 91%`}},
		{"no slots left", 1, 10, &fakeConn{show: map[string]string{"max_connections": "3", "superuser_reserved_connections": "3"}},
			want{doctor.StatusFail, `max_connections 3 - 3 superuser_reserved_connections leaves no connection for compozy`}},
		{"the doctor's own sessions are not others'", 1, 10, &othersConn{fakeConn: &fakeConn{backends: 50}, others: 2}, want{doctor.StatusPass, `\+ 2 held by other clients = 12 of 97`}},
		{"others uncountable", 1, 10, &othersConn{fakeConn: &fakeConn{}, err: errors.New("boom")}, want{doctor.StatusFail, `cannot count the connections in use`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			db.MaxOpenConns = tc.maxOpen
			s := testSet(t, db, Inputs{Replicas: tc.replicas}, tc.conn, nil)
			if _, err := s.src.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			runCheck(t, s.postgresChecks(), doctor.IDPostgresConnections, tc.want)
		})
	}
}

func TestBudgetFixSuggestsAPoolSize(t *testing.T) {
	r := budgetResult(budget{Replicas: 4, MaxOpen: 25, MaxConns: 100, SuperReserved: 3, Others: 5})
	if r.Status != doctor.StatusFail || r.Fix.Text == "" {
		t.Fatalf("%+v", r)
	}
	// (97 × 0.8 - 5) / 4 = 18: the pool size that keeps four processes within 80 %.
	if want := "max_open_conns 18 keeps 4 compozy processes within 80 %"; !contains(r.Fix.Text, want) {
		t.Errorf("fix %q, want %q in it", r.Fix.Text, want)
	}
}

// TestBudgetFixWhenNotEvenOneEachFits: with more processes than connections, a smaller pool
// cannot help, and the fix does not offer one.
func TestBudgetFixWhenNotEvenOneEachFits(t *testing.T) {
	r := budgetResult(budget{Replicas: 100000, MaxOpen: 25, MaxConns: 100, SuperReserved: 3, Others: 5})
	if r.Status != doctor.StatusFail {
		t.Fatalf("%+v", r)
	}
	if contains(r.Fix.Text, "lower database.max_open_conns") || !contains(r.Fix.Text, "100000 compozy processes need at least 100000 connections, one each") {
		t.Errorf("fix %q", r.Fix.Text)
	}
	pooled := pooledBudgetResult(budget{Replicas: 100000, MaxOpen: 25, MaxConns: 100, SuperReserved: 3},
		factory.PgBouncerLimits{MaxClientConn: 200, PoolSize: 20, DefaultPoolSize: 20, User: "u", Database: "d"})
	if contains(pooled.Fix.Text, "lower database.max_open_conns") || !contains(pooled.Fix.Text, "raise max_client_conn") {
		t.Errorf("pooled fix %q", pooled.Fix.Text)
	}
}

func contains(s, sub string) bool { return rx(`\Q` + sub + `\E`).MatchString(s) }

// poolerConn is fakeConn behind a pooler: PoolerLimits gives what PgBouncer's console said.
type poolerConn struct {
	*fakeConn
	pl PoolerLimits
}

func (c *poolerConn) PoolerLimits(context.Context) PoolerLimits { return c.pl }

// ciBouncer is .ci/run's PgBouncer: max_client_conn 200, default_pool_size 20, no reserve,
// with four other clients and one server connection of compozy's pool.
func ciBouncer() factory.PgBouncerLimits {
	return factory.PgBouncerLimits{Version: "PgBouncer 1.18.0", Database: "compozy", User: "compozy", MaxClientConn: 200, Clients: 4,
		DefaultPoolSize: 20, PoolSize: 20, ServerConns: 1}
}

func bouncer(change func(*factory.PgBouncerLimits)) PoolerLimits {
	l := ciBouncer()
	if change != nil {
		change(&l)
	}
	return PoolerLimits{Pooler: factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction}, Limits: &l}
}

// Through PgBouncer the budget is weighed twice: compozy's clients with the others PgBouncer
// has against max_client_conn, and PgBouncer's pool for compozy (pool_size + reserve_pool,
// not replicas × max_open_conns) with the server's other connections against its slots.
func TestConnectionBudgetThroughPgBouncer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
		maxOpen  int
		pl       PoolerLimits
		backends int
		want     want
		fix      []string // what the fix names
	}{
		{"room on both sides", 3, 10, bouncer(nil), 3,
			want{doctor.StatusPass, `^PgBouncer 1\.18\.0: 3 × max_open_conns 10 \+ 4 other clients = 34 of max_client_conn 200 client connections: 17%; ` +
				`the server: PgBouncer's pool for user compozy on database compozy opens up to 20 \(pool_size 20 \+ reserve_pool 0\) \+ 2 held by other clients = 22 of 97 connections \(max_connections 100 - 3 superuser_reserved_connections\): 22%\n$`}, nil},
		{"ten replicas fit PgBouncer where the server alone would refuse them", 10, 15, bouncer(nil), 3,
			want{doctor.StatusPass, `= 154 of max_client_conn 200 client connections: 77%; the server: .* = 22 of 97 connections`}, nil},
		{"clients above 80 % of max_client_conn", 4, 40, bouncer(nil), 3,
			want{doctor.StatusWarn, `^PgBouncer 1\.18\.0: 4 × max_open_conns 40 \+ 4 other clients = 164 of max_client_conn 200 client connections: 82%; the server: .*: 22%\nabove 80 % of PgBouncer's max_client_conn`},
			[]string{"raise max_client_conn in pgbouncer.ini", "RELOAD;", "max_client_conn 205 keeps 4 compozy processes within 80 %", "max_open_conns 39 keeps 4 compozy processes within 80 %"}},
		{"clients over max_client_conn", 10, 25, bouncer(nil), 3,
			want{doctor.StatusFail, `= 254 of max_client_conn 200 client connections: 127%; .*\nat full load PgBouncer refuses clients: "no more connections allowed \(max_client_conn\)"`},
			[]string{"raise max_client_conn", "lower database.max_open_conns", "max_open_conns 15 keeps 10 compozy processes within 80 %"}},
		{"the pool above 80 % of the server", 1, 10, bouncer(func(l *factory.PgBouncerLimits) { l.PoolSize, l.ReservePool = 75, 5 }), 3,
			want{doctor.StatusWarn, `: 7%; the server: PgBouncer's pool .* opens up to 80 \(pool_size 75 \+ reserve_pool 5\) \+ 2 held by other clients = 82 of 97 connections .*: 84%\nPgBouncer's pool can take above 80 %`},
			[]string{"lower default_pool_size in pgbouncer.ini", "pool_size= on the database's line in [databases]", "default_pool_size is 20", "pool_size 70 keeps the server within 80 %"}},
		{"the pool larger than the server", 1, 10, bouncer(func(l *factory.PgBouncerLimits) { l.PoolSize = 100 }), 3,
			want{doctor.StatusFail, `opens up to 100 .* = 102 of 97 connections .*: 105%\nwhen PgBouncer's pool fills, the server refuses its connections: "sorry, too many clients already"`},
			[]string{"lower default_pool_size", "raise the server's max_connections"}},
		{"max_db_connections caps the pool", 1, 10, bouncer(func(l *factory.PgBouncerLimits) { l.PoolSize, l.MaxDBConnections = 100, 50 }), 3,
			want{doctor.StatusPass, `opens up to 50 \(pool_size 100 \+ reserve_pool 0, max_db_connections 50\) \+ 2 held by other clients = 52 of 97`}, nil},
		{"both sides over", 10, 25, bouncer(func(l *factory.PgBouncerLimits) { l.PoolSize = 100 }), 3,
			want{doctor.StatusFail, `: 127%; the server: .*: 105%\nat full load PgBouncer refuses clients.*; when PgBouncer's pool fills`},
			[]string{"raise max_client_conn", "; lower default_pool_size"}},
		{"the console refused the user", 1, 10, PoolerLimits{Pooler: factory.Pooler{SharedSession: true},
			ConsoleErr: fmt.Errorf("pgbouncer admin console: %w: failed to connect to `user=compozy database=pgbouncer` password=s3cret: FATAL: not allowed", factory.ErrConsoleRefused)}, 5,
			want{doctor.StatusWarn, `^1 × max_open_conns 10 \+ 5 held by other clients = 15 of 97 connections .*: 15%; PgBouncer's limits \(max_client_conn, default_pool_size\) are not known: its admin console refused user compozy\n.*not allowed`},
			[]string{"add user compozy to stats_users in pgbouncer.ini", "reload PgBouncer", "1 × max_open_conns 10 against max_client_conn"}},
		{"a session-mode PgBouncer that refused the user is still told", 1, 10, PoolerLimits{ConsoleErr: fmt.Errorf("x: %w", factory.ErrConsoleRefused)}, 5,
			want{doctor.StatusWarn, `; PgBouncer's limits .* are not known`}, []string{"stats_users"}},
		{"another pooler's console did not answer", 1, 10, PoolerLimits{Pooler: factory.Pooler{SharedSession: true},
			ConsoleErr: errors.New("pgbouncer admin console: context deadline exceeded")}, 5,
			want{doctor.StatusWarn, `; a connection pooler \(server sessions shared between clients\)'s limits are not known: no PgBouncer admin console answered\n.*deadline exceeded`},
			[]string{"if it is PgBouncer, add user compozy to stats_users", "by hand"}},
		{"a managed pooler sets its own limits", 1, 10, PoolerLimits{Pooler: factory.Pooler{Kind: factory.PoolerSupabase, Mode: factory.PoolTransaction},
			ConsoleErr: errors.New("pgbouncer admin console: FATAL: Tenant or user not found")}, 5,
			want{doctor.StatusPass, `= 15 of 97 connections .*; Supabase's pooler \(transaction pooling\) sets its own client and pool limits \(see the service's console\); not weighed here\n$`}, nil},
		{"a managed pooler does not hide the server's failure", 10, 10, PoolerLimits{Pooler: factory.Pooler{Kind: factory.PoolerNeon, Mode: factory.PoolTransaction},
			ConsoleErr: errors.New("no")}, 5,
			want{doctor.StatusFail, `= 105 of 97 connections .*; Neon's pooler .* sets its own .*\n.*too many clients already`}, []string{"lower database.max_open_conns"}},
		{"a direct server: no pooler, nothing asked of one", 1, 10, PoolerLimits{}, 5,
			want{doctor.StatusPass, `^1 × max_open_conns 10 \+ 5 held by other clients = 15 of 97 connections \(max_connections 100 - 3 superuser_reserved_connections\): 15%\n$`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			db.MaxOpenConns, db.Password = tc.maxOpen, "s3cret"
			s := testSet(t, db, Inputs{Replicas: tc.replicas}, &poolerConn{fakeConn: &fakeConn{backends: tc.backends}, pl: tc.pl}, nil)
			if _, err := s.src.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnections, tc.want)
			for _, w := range tc.fix {
				if !strings.Contains(r.Fix.Text, w) {
					t.Errorf("fix %q, want %q in it", r.Fix.Text, w)
				}
			}
			if tc.fix == nil && r.Fix.Text != "" {
				t.Errorf("a pass with fix %q", r.Fix.Text)
			}
			if all := r.Summary + r.Detail + r.Fix.Text; strings.Contains(all, "s3cret") {
				t.Errorf("the password is in the result: %q", all)
			}
		})
	}
}

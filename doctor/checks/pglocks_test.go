package checks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
)

// sessionsConn is fakeConn that also lists sessions (PostgresSessions).
type sessionsConn struct {
	*fakeConn
	sessions []Session
	err      error
	// tables is what the check asked about.
	tables []string
}

func (c *sessionsConn) Sessions(_ context.Context, tables []string) ([]Session, error) {
	c.tables = tables
	return c.sessions, c.err
}

// locksChecks is a PostgreSQL Set connected through conn, with postgres.locks.
func locksChecks(t *testing.T, conn Conn) []doctor.Check {
	t.Helper()
	s := testSet(t, postgresDB(), Inputs{}, conn, nil)
	if _, err := s.src.get(t.Context()); err != nil {
		t.Fatal(err)
	}
	return []doctor.Check{s.locksCheck()}
}

func TestPostgresLocks(t *testing.T) {
	started := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	blocker := Session{PID: 4242, Started: started, App: "psql", Client: "10.0.0.7", State: "idle in transaction",
		InTransaction: 95 * time.Second, Idle: 90 * time.Second, Query: "LOCK TABLE workflow_states IN ACCESS EXCLUSIVE MODE;",
		Locks: []string{"AccessExclusiveLock on workflow_states"}, Blocks: []int{77, 78}}
	idle := func(d time.Duration) Session {
		return Session{PID: 555, Started: started, App: "worker", Client: "local socket", State: "idle in transaction",
			InTransaction: d + time.Second, Idle: d, Query: "SELECT * FROM task_states FOR UPDATE"}
	}
	// Each SQL fix is a psql command naming the server: its URL without the password.
	lk := func(sql string) string {
		return "psql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c " + "'" + sql + "'"
	}
	for _, tc := range []struct {
		name     string
		conn     *sessionsConn
		want     want
		fixable  bool
		commands string
	}{
		{"nobody", &sessionsConn{}, want{doctor.StatusPass, `no session holds a lock`}, false, ""},
		{"cannot list", &sessionsConn{err: errors.New("permission denied")}, want{doctor.StatusFail, `cannot list the sessions(.|\n)*permission denied`}, false, ""},
		{"a lock holder that blocks two sessions", &sessionsConn{sessions: []Session{blocker}},
			want{doctor.StatusFail, `^PID 4242 \(application_name "psql", 10\.0\.0\.7, idle in transaction, transaction open 1m35s\) holds a lock that stops Compozy's work\n` +
				`PID 4242 .* holds AccessExclusiveLock on workflow_states; blocks PID 77, 78; query: LOCK TABLE workflow_states IN ACCESS EXCLUSIVE MODE;$`},
			true, lk("SELECT pg_terminate_backend(4242);")},
		{"two holders and one idle", &sessionsConn{sessions: []Session{blocker, {PID: 9, App: "", Client: "", State: "active", Locks: []string{"ShareLock on task_states"}, Query: "CREATE INDEX x ON task_states (id)"}, idle(6 * time.Minute)}},
			want{doctor.StatusFail, `^2 sessions hold locks that stop Compozy's work; the first: PID 4242(.|\n)*PID 9 \(application_name "no application_name", client unknown, active\) holds ShareLock on task_states(.|\n)*PID 555`},
			true, lk("SELECT pg_terminate_backend(4242);") + "\n" + lk("SELECT pg_terminate_backend(9);") + "\n" + lk("SELECT pg_terminate_backend(555);")},
		{"idle in a transaction for six minutes", &sessionsConn{sessions: []Session{idle(6 * time.Minute)}},
			want{doctor.StatusWarn, `^PID 555 \(application_name "worker", local socket, idle in transaction, transaction open 6m1s\) has been idle in a transaction for 6m0s \(over 5m0s\)`},
			true, "psql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c 'SELECT pg_terminate_backend(555);'\npsql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c 'ALTER DATABASE \"compozy\" SET idle_in_transaction_session_timeout = '\\''5min'\\'';'"},
		{"idle in a transaction for four minutes", &sessionsConn{sessions: []Session{idle(4 * time.Minute)}}, want{doctor.StatusPass, `no session`}, false, ""},
		{"a password in the query is not shown", &sessionsConn{sessions: []Session{{PID: 1, State: "active", Locks: []string{"ExclusiveLock on users"}, Query: "ALTER ROLE app PASSWORD 'hunter2'"}}},
			want{doctor.StatusFail, `query: \(not shown: it names a password\)`}, true, lk("SELECT pg_terminate_backend(1);")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.conn.fakeConn = &fakeConn{}
			cs := locksChecks(t, tc.conn)
			r := runCheck(t, cs, doctor.IDPostgresLocks, tc.want)
			if r.Fixable != tc.fixable || commands(r) != tc.commands {
				t.Errorf("fixable %v, commands %q; want %v, %q", r.Fixable, commands(r), tc.fixable, tc.commands)
			}
			if strings.Contains(r.Summary+r.Detail, "hunter2") {
				t.Error("the password reached the report")
			}
			if !strings.Contains(strings.Join(tc.conn.tables, ","), "workflow_states") {
				t.Errorf("asked about %v", tc.conn.tables)
			}
			rep := cs[0].Repair
			if rep == nil || rep.Flag != "--terminate" {
				t.Fatalf("repair %+v: want one that needs --terminate", rep)
			}
			if tc.fixable && !strings.Contains(rep.Plan(r), "pg_terminate_backend") {
				t.Errorf("plan %q", rep.Plan(r))
			}
		})
	}
}

func TestTerminatePlanCountsAndNames(t *testing.T) {
	got := terminatePlan([]Session{{PID: 1, App: "a", Client: "c", State: "active"}, {PID: 2, App: "b", Client: "d", State: "idle in transaction", InTransaction: 7 * time.Minute}})
	want := `terminate 2 sessions with pg_terminate_backend: PID 1 (application_name "a", c, active); PID 2 (application_name "b", d, idle in transaction, transaction open 7m0s)`
	if got != want {
		t.Errorf("plan\n%s\nwant\n%s", got, want)
	}
}

func TestPostgresLocksSkips(t *testing.T) {
	runCheck(t, locksChecks(t, &fakeConn{}), doctor.IDPostgresLocks, want{doctor.StatusSkip, `cannot list sessions`})
	s := testSet(t, postgresDB(), Inputs{}, &fakeConn{}, errors.New("refused"))
	runCheck(t, []doctor.Check{s.locksCheck()}, doctor.IDPostgresLocks, want{doctor.StatusSkip, `not connected`})
}

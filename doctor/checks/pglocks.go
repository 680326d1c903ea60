package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// DefaultLockTimeout is the lock_timeout of every PostgreSQL session the doctor opens: a
// statement that waits longer for a lock (a table another session locked) fails with SQLSTATE
// 55P03, so a check ends well within its own timeout and postgres.locks names the blocker.
const DefaultLockTimeout = 2 * time.Second

// ApplicationName is the application_name of the doctor's PostgreSQL sessions, so that a
// person looking at pg_stat_activity knows them, and the connection budget does not count
// them as another client's.
const ApplicationName = "compozy doctor"

// IdleInTransactionLimit is how long a session may sit idle in a transaction before
// postgres.locks warns: it holds its locks (and its snapshot) the whole time.
const IdleInTransactionLimit = 5 * time.Minute

// Session is another session of the database, as pg_stat_activity and pg_locks show it.
type Session struct {
	PID int
	// Started is the session's backend_start: with PID, who it is (a PID is reused).
	Started time.Time
	// App is its application_name, Client its address ("127.0.0.1", "local socket").
	App, Client string
	// State is pg_stat_activity's state: "active", "idle in transaction", ...
	State string
	// InTransaction is how long its transaction has been open (0 outside one); Idle is how long
	// it has been in State.
	InTransaction, Idle time.Duration
	// Query is its current or last statement, cut short.
	Query string
	// Locks names the locks it holds on Compozy's tables that stop others' reads or writes
	// ("AccessExclusiveLock on workflow_states").
	Locks []string
	// Blocks lists the sessions waiting for a lock it holds (pg_blocking_pids).
	Blocks []int
}

// PostgresSessions is what postgres.locks asks the read-only connection.
type PostgresSessions interface {
	// Sessions lists the other sessions of this database that hold a lock stopping reads or
	// writes of the tables (names in the search_path), that block another session, or that
	// are idle in a transaction.
	Sessions(ctx context.Context, tables []string) ([]Session, error)
}

var _ PostgresSessions = handleConn{}

// sessionsSQL finds the sessions Sessions lists. Locks weaker than SHARE (ROW SHARE, ROW
// EXCLUSIVE, SHARE UPDATE EXCLUSIVE) stop no read and no insert, update or delete.
const sessionsSQL = `WITH compozy AS (
	SELECT c.oid, c.relname FROM pg_class c
	WHERE c.oid = ANY (ARRAY(SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL))
), held AS (
	SELECT l.pid, string_agg(DISTINCT l.mode || ' on ' || c.relname, ', ') AS locks
	FROM pg_locks l JOIN compozy c ON c.oid = l.relation
	WHERE l.granted AND l.mode IN ('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock')
	GROUP BY l.pid
), waiting AS (
	SELECT w.pid AS waiter, unnest(pg_blocking_pids(w.pid)) AS blocker
	FROM pg_stat_activity w WHERE w.datname = current_database() AND w.wait_event_type = 'Lock'
)
SELECT a.pid, a.backend_start, coalesce(a.application_name, ''),
	CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) WHEN a.client_port = -1 THEN 'local socket' ELSE '' END,
	coalesce(a.state, ''),
	coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8,
	coalesce(extract(epoch FROM clock_timestamp() - a.state_change), 0)::float8,
	left(coalesce(a.query, ''), 300),
	coalesce(h.locks, ''),
	coalesce((SELECT string_agg(DISTINCT w.waiter::text, ',') FROM waiting w WHERE w.blocker = a.pid), '')
FROM pg_stat_activity a LEFT JOIN held h ON h.pid = a.pid
WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.backend_type = 'client backend'
	AND (h.pid IS NOT NULL OR a.pid IN (SELECT blocker FROM waiting) OR a.state LIKE 'idle in transaction%')
ORDER BY a.pid`

func (c handleConn) Sessions(ctx context.Context, tables []string) ([]Session, error) {
	rows, err := c.h.SQL.QueryContext(ctx, sessionsSQL, tables)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var xact, idle float64
		var locks, blocks string
		if err := rows.Scan(&s.PID, &s.Started, &s.App, &s.Client, &s.State, &xact, &idle, &s.Query, &locks, &blocks); err != nil {
			return nil, err
		}
		s.InTransaction, s.Idle = seconds(xact), seconds(idle)
		if locks != "" {
			s.Locks = strings.Split(locks, ", ")
		}
		for _, b := range strings.Split(blocks, ",") {
			if pid, err := strconv.Atoi(b); err == nil {
				s.Blocks = append(s.Blocks, pid)
			}
		}
		slices.Sort(s.Blocks)
		out = append(out, s)
	}
	return out, rows.Err()
}

// dbName is the database db connects to, for a command that names it.
func dbName(db config.Database) string {
	if cs, err := factory.PostgresConnSettings(db); err == nil && cs.Database != "" {
		return cs.Database
	}
	return db.Name
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// lockTimedOut reports whether err is a statement that gave up waiting for a lock: SQLSTATE
// 55P03 (lock_not_available), what DefaultLockTimeout makes of a lock held by another session.
func lockTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// locksCheck is postgres.locks: the sessions that hold a lock on Compozy's tables which stops
// its reads or writes, or that block another session, named (PID, application_name, client,
// state, how long the transaction has been open, the query); and the sessions idle in a
// transaction for longer than IdleInTransactionLimit. --fix --terminate ends them, after asking.
func (s *Set) locksCheck() doctor.Check {
	var mu sync.Mutex
	var found []Session // what the last run named, for the repair
	db := s.db
	c := check(doctor.IDPostgresLocks, func(ctx context.Context) doctor.Result {
		conn, err := s.src.current()
		if err != nil {
			return doctor.Skip("skipped: not connected (postgres.connect did not pass)")
		}
		sc, ok := conn.(PostgresSessions)
		if !ok {
			return doctor.Skip("skipped: this connection cannot list sessions")
		}
		sessions, err := sc.Sessions(ctx, append(doctor.CompozyTables(), "goose_db_version"))
		if err != nil {
			return doctor.Fail("cannot list the sessions that hold locks", config.Redact(err.Error()), doctor.Fix{})
		}
		r, named := locksResult(sessions, db)
		mu.Lock()
		found = named
		mu.Unlock()
		return r
	})
	c.Repair = &doctor.Repair{
		Flag: "--terminate",
		Plan: func(doctor.Result) string {
			mu.Lock()
			defer mu.Unlock()
			return terminatePlan(found)
		},
		Apply: func(ctx context.Context, _ doctor.Result) error {
			mu.Lock()
			targets := slices.Clone(found)
			mu.Unlock()
			h, err := s.in.Door.Open(ctx, db, factory.ReadWrite)
			if err != nil {
				return err
			}
			defer h.Close()
			var errs []error
			for _, t := range targets {
				// Only the session that was shown: the same PID and start, not a PID reused since.
				var ended bool
				err := h.SQL.QueryRowContext(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false)
					FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2`, t.PID, t.Started).Scan(&ended)
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("PID %d: %w", t.PID, err))
				case !ended:
					errs = append(errs, fmt.Errorf("PID %d: not terminated (it ended already, or this role may not end it)", t.PID))
				default:
					// pg_terminate_backend only signals the session: wait until it has ended, so
					// that the check run after the fix does not find it still there.
					if err := waitSessionGone(ctx, h.SQL, t, terminateWait); err != nil {
						errs = append(errs, err)
					}
				}
			}
			return errors.Join(errs...)
		},
	}
	return c
}

// terminateWait bounds how long --fix --terminate waits for a terminated session to end.
const terminateWait = 5 * time.Second

// waitSessionGone waits, within limit, until the session t (its PID and start) is no longer in
// pg_stat_activity.
func waitSessionGone(ctx context.Context, db *sql.DB, t Session, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2`, t.PID, t.Started).Scan(&n); err != nil {
			return fmt.Errorf("PID %d: wait for the session to end: %w", t.PID, err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("PID %d: terminated, but still there after %s", t.PID, limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// terminatePlan names the sessions --fix --terminate would end, with their count.
func terminatePlan(ss []Session) string {
	if len(ss) == 0 {
		return "terminate no session (none was found)"
	}
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("PID %d (%s)", s.PID, s.who()))
	}
	n := "1 session"
	if len(ss) > 1 {
		n = strconv.Itoa(len(ss)) + " sessions"
	}
	return "terminate " + n + " with pg_terminate_backend: " + strings.Join(parts, "; ")
}

// who describes a session in a few words: application, client, state, transaction age.
func (s Session) who() string {
	app := s.App
	if app == "" {
		app = "no application_name"
	}
	client := s.Client
	if client == "" {
		client = "client unknown"
	}
	parts := []string{"application_name " + strconv.Quote(app), client, s.State}
	if s.InTransaction > 0 {
		parts = append(parts, "transaction open "+roundAge(s.InTransaction))
	}
	return strings.Join(parts, ", ")
}

// describe is one line per session: who it is, what it holds and blocks, and its query.
func (s Session) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "PID %d (%s)", s.PID, s.who())
	if len(s.Locks) > 0 {
		fmt.Fprintf(&b, " holds %s", strings.Join(s.Locks, ", "))
	}
	if len(s.Blocks) > 0 {
		pids := make([]string, len(s.Blocks))
		for i, p := range s.Blocks {
			pids[i] = strconv.Itoa(p)
		}
		fmt.Fprintf(&b, "; blocks PID %s", strings.Join(pids, ", "))
	}
	if q := strings.Join(strings.Fields(s.Query), " "); q != "" {
		if strings.Contains(strings.ToLower(q), "password") {
			q = "(not shown: it names a password)"
		}
		fmt.Fprintf(&b, "; query: %s", config.Redact(q))
	}
	return b.String()
}

func roundAge(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// locksResult judges the sessions: a blocker fails, a session idle in a transaction for longer
// than IdleInTransactionLimit warns. It returns the sessions it named, for --terminate.
func locksResult(ss []Session, db config.Database) (doctor.Result, []Session) {
	var blockers, idle []Session
	for _, s := range ss {
		switch {
		case len(s.Locks) > 0 || len(s.Blocks) > 0:
			blockers = append(blockers, s)
		case strings.HasPrefix(s.State, "idle in transaction") && s.Idle > IdleInTransactionLimit:
			idle = append(idle, s)
		}
	}
	lines := func(ss []Session) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.describe()
		}
		return strings.Join(out, "\n")
	}
	terminate := func(ss []Session) []string {
		cmds := make([]string, len(ss))
		for i, s := range ss {
			cmds[i] = psqlCmd(db, "", fmt.Sprintf("SELECT pg_terminate_backend(%d);", s.PID))
		}
		return cmds
	}
	switch {
	case len(blockers) > 0:
		named := append(blockers, idle...)
		first := blockers[0]
		summary := fmt.Sprintf("PID %d (%s) holds a lock that stops Compozy's work", first.PID, first.who())
		if len(blockers) > 1 {
			summary = fmt.Sprintf("%d sessions hold locks that stop Compozy's work; the first: PID %d (%s)", len(blockers), first.PID, first.who())
		}
		fix := doctor.Cmds("end the transaction in the program that holds it (COMMIT or ROLLBACK), or stop it; "+
			"'compozy doctor --fix --terminate' ends the session(s) after asking (pg_terminate_backend)", terminate(named)...)
		r := doctor.Fail(summary, lines(named), fix)
		r.Fixable = true
		return r, named
	case len(idle) > 0:
		first := idle[0]
		summary := fmt.Sprintf("PID %d (%s) has been idle in a transaction for %s (over %s)", first.PID, first.who(), roundAge(first.Idle), IdleInTransactionLimit)
		if len(idle) > 1 {
			summary = fmt.Sprintf("%d sessions have been idle in a transaction for over %s; the first: PID %d (%s)", len(idle), IdleInTransactionLimit, first.PID, first.who())
		}
		fix := doctor.Cmds("a transaction left open holds its locks and keeps VACUUM from cleaning up: find the program and make it commit; "+
			"idle_in_transaction_session_timeout ends such sessions by itself; 'compozy doctor --fix --terminate' ends them after asking",
			append(terminate(idle), psqlCmd(db, "", "ALTER DATABASE "+pgIdent(dbName(db))+" SET idle_in_transaction_session_timeout = '5min';"))...)
		r := doctor.Warn(summary, lines(idle), fix)
		r.Fixable = true
		return r, idle
	}
	return doctor.Pass("no session holds a lock that stops Compozy's reads or writes, or is idle in a transaction over " + IdleInTransactionLimit.String()), nil
}

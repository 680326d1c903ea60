package checks

// The FAIL and WARN branches of the PostgreSQL, pooler, locks, migrations, drift, config,
// round-trip, budget, TLS and vector checks that the other unit tests of this package do not
// reach, each through the fakes of fakes_test.go: the status, the facts the summary and detail
// give, and the fix (its text and commands).

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/doctor"
)

// checkFix compares r's fix with fixRe (a pattern its text matches; "" for no text) and cmds
// (its commands joined by newlines, exactly).
func checkFix(t *testing.T, r doctor.Result, fixRe, cmds string) {
	t.Helper()
	if fixRe == "" && r.Fix.Text != "" || fixRe != "" && !rx(fixRe).MatchString(r.Fix.Text) {
		t.Errorf("fix text %q, want it to match %q", r.Fix.Text, fixRe)
	}
	if got := commands(r); got != cmds {
		t.Errorf("fix commands\n got %q\nwant %q", got, cmds)
	}
}

// noSecret fails when s3cret (the tests' password) reached r.
func noSecret(t *testing.T, r doctor.Result) {
	t.Helper()
	if all := strings.Join(append([]string{r.Summary, r.Detail, r.Fix.Text}, r.Fix.Commands...), "\n"); strings.Contains(all, "s3cret") {
		t.Errorf("the password reached the result:\n%s", all)
	}
}

// badSettings is a PostgreSQL section whose connection settings do not parse.
func badSettings() config.Database {
	return config.Database{Driver: config.DriverPostgres, ConnString: "postgres://a b:%zz@", Name: "app", MaxOpenConns: 10}
}

func TestPostgresServerFailWarnFixes(t *testing.T) {
	// With no user configured the connection is PGUSER's (else the OS user's), as libpq's.
	t.Setenv("PGUSER", "os_user")
	boom := errors.New("conn closed")
	// Each SQL fix is a psql command naming the server: its URL without the password.
	for _, tc := range []struct {
		name      string
		id        string
		conn      *fakeConn
		db        func(*config.Database)
		want      want
		fix, cmds string
	}{
		{"server_version unreadable after server_version_num", doctor.IDPostgresVersion, &fakeConn{showErrs: map[string]error{"server_version": boom}}, nil,
			want{doctor.StatusFail, `^cannot read the server version\nconn closed$`}, "", ""},
		{"too old", doctor.IDPostgresVersion, &fakeConn{show: map[string]string{"server_version_num": "120010", "server_version": "12.10"}}, nil,
			want{doctor.StatusFail, `^PostgreSQL 12\.10 is too old; Compozy needs 13 or newer\n$`}, `^upgrade the server \(15 or newer recommended\)$`, ""},
		{"replica", doctor.IDPostgresReadOnly, &fakeConn{recovery: true}, nil,
			want{doctor.StatusFail, `^the server is a read-only replica \(pg_is_in_recovery\(\) is true\)\n$`}, `^point compozy at the primary server$`, ""},
		{"read-only for compozy's role", doctor.IDPostgresReadOnly, &fakeConn{show: map[string]string{"default_transaction_read_only": "on"}}, nil,
			want{doctor.StatusFail, `^default_transaction_read_only is on for this database or role\n$`}, `^turn it off for compozy's role: run this SQL on postgres://compozy@192\.0\.2\.10:5432/compozy\?sslmode=disable$`,
			`psql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c 'ALTER ROLE "compozy" SET default_transaction_read_only = off;'`},
		// No user configured: the command names the role the connection uses, not an empty identifier.
		{"read-only, no user configured", doctor.IDPostgresReadOnly, &fakeConn{show: map[string]string{"default_transaction_read_only": "on"}}, func(db *config.Database) { db.User = "" },
			want{doctor.StatusFail, `^default_transaction_read_only is on`}, `^turn it off`, `psql 'postgres://os_user@192.0.2.10:5432/compozy?sslmode=disable' -c 'ALTER ROLE "os_user" SET default_transaction_read_only = off;'`},
		{"no schema", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Role: "compozy"}}, nil,
			want{doctor.StatusFail, `^no schema of the search_path exists\n$`}, `^create the schema or fix search_path$`, ""},
		{"no CREATE, migrated: identifiers quoted", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Schema: "app data", Role: `o"brien`, Migrated: true}}, nil,
			want{doctor.StatusWarn, `^role o"brien may not create tables in schema app data: migrations must be run by another role\n$`},
			`^as the database owner or a superuser \(PostgreSQL 15 removed CREATE on public from ordinary roles\), run this SQL on postgres://compozy@192\.0\.2\.10:5432/compozy\?sslmode=disable \(the command connects as postgres; put the owner's name there if another\)$`,
			`psql 'postgres://postgres@192.0.2.10:5432/compozy?sslmode=disable' -c 'GRANT CREATE ON SCHEMA "app data" TO "o""brien";'`},
		{"no CREATE, not migrated", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Schema: "public", Role: "app"}}, nil,
			want{doctor.StatusFail, `^role app may not create tables in schema public: 'compozy migrate up' will fail`}, `^as the database owner`,
			`psql 'postgres://postgres@192.0.2.10:5432/compozy?sslmode=disable' -c 'GRANT CREATE ON SCHEMA "public" TO "app";'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			if tc.db != nil {
				tc.db(&db)
			}
			r := runCheck(t, connectedSet(t, db, tc.conn), tc.id, tc.want)
			checkFix(t, r, tc.fix, tc.cmds)
		})
	}
}

// nilWrap is an error whose Unwrap gives nil: the end of a chain that holds no TLS failure.
type nilWrap struct{ msg string }

func (e nilWrap) Error() string { return e.msg }
func (e nilWrap) Unwrap() error { return nil }

// TestPostgresConnectFailBranches: the routes to postgres.connect's failures the table of
// TestPostgresConnect does not take: a Unix socket (no DNS or TCP step), where the refused
// password came from, a TLS alert from the server, a TLS refusal among joined errors.
func TestPostgresConnectFailBranches(t *testing.T) {
	socket := postgresDB()
	socket.Host = "/var/run/postgresql"
	fromEnv := postgresDB()
	fromEnv.Password, fromEnv.PasswordSource = "s3cret", "COMPOZY_DB_PASSWORD"
	const tlsFix = `^see postgres\.tls: it reads the server's certificate and names the exact fix$`
	for _, tc := range []struct {
		name      string
		db        config.Database
		openErr   error
		want      want
		fix       string
		networked bool // the DNS and TCP steps ran
	}{
		{"socket refused", socket, fmt.Errorf("failed to connect to `host=/var/run/postgresql user=compozy database=compozy`: dial error: %w", syscall.ECONNREFUSED),
			want{doctor.StatusFail, `^TCP: connection refused at /var/run/postgresql/\.s\.PGSQL\.5432\n`}, `^start PostgreSQL or fix the port$`, false},
		{"password refused, from the environment", fromEnv, &postgres.AuthError{Target: "postgres://compozy@192.0.2.10:5432/compozy", Code: "28P01",
			Message: `password authentication failed for user "compozy"`, HadPassword: true, From: "password from COMPOZY_DB_PASSWORD",
			Err: &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "compozy"`}},
			want{doctor.StatusFail, `^authentication: password authentication failed for user compozy \(password from COMPOZY_DB_PASSWORD\)\n`},
			`^correct the password in COMPOZY_DB_PASSWORD; the order is file < environment < flags`, true},
		{"pg_hba refuses, no password given", postgresDB(), &postgres.AuthError{Code: "28000", From: "no password was given",
			Message: `no pg_hba.conf entry for host "10.0.0.9", user "compozy", database "compozy", SSL encryption`,
			Err:     &pgconn.PgError{Severity: "FATAL", Code: "28000", Message: `no pg_hba.conf entry for host "10.0.0.9", user "compozy", database "compozy", SSL encryption`}},
			want{doctor.StatusFail, `^authentication: no pg_hba\.conf entry for host "10\.0\.0\.9", user "compozy", database "compozy", SSL encryption \(no password was given\)\n`},
			`^add a pg_hba\.conf rule for this user, database and address, or connect as another user$`, true},
		{"the server's TLS alert", postgresDB(), fmt.Errorf("failed to connect to `user=compozy database=compozy`: 192.0.2.10:5432 (192.0.2.10): %w",
			&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}),
			want{doctor.StatusFail, `^TLS: handshake failure\nfailed to connect .*remote error: tls: handshake failure$`}, tlsFix, true},
		{"TLS refused by one of two hosts", postgresDB(), fmt.Errorf("failed to connect to `user=compozy database=compozy`: %w",
			errors.Join(errors.New("192.0.2.11:5432 (db2): dial error: no route to host"), fmt.Errorf("192.0.2.10:5432 (db1): %w", errors.New(pgxTLSRefused)))),
			want{doctor.StatusFail, `^TLS: server refused TLS connection\n`}, tlsFix, true},
		{"joined errors without a TLS failure", postgresDB(), fmt.Errorf("failed to connect: %w", errors.Join(errors.New("db1: no route to host"), nilWrap{"db2: reset by peer"})),
			want{doctor.StatusFail, `^cannot connect: reset by peer\n`}, "", true},
		{"a message with no step in it", postgresDB(), errors.New("boom"), want{doctor.StatusFail, `^cannot connect: boom\nboom$`}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &fakeNet{}
			s := testSet(t, tc.db, Inputs{Net: n}, &fakeConn{}, tc.openErr)
			r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, tc.want)
			checkFix(t, r, tc.fix, "")
			noSecret(t, r)
			if tc.networked != (len(n.dialed) == 1) {
				t.Errorf("dialed %v", n.dialed)
			}
		})
	}
	// classify on settings that do not parse (postgres.connect stops before it then): the fix
	// names no managed service.
	noTLS := &pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "x", user "compozy", database "compozy", no encryption`}
	r := (&pgProbe{cfg: badSettings()}).classify(noTLS, "x")
	if r.Status != doctor.StatusFail || r.Summary != "TLS: the server requires an encrypted connection" || r.Fix.Text != "set database.ssl_mode: require (or verify-full)" {
		t.Errorf("%s %q, fix %q", r.Status, r.Summary, r.Fix.Text)
	}
	// ... and a refused password names database.user, the settings giving none.
	bad := badSettings()
	bad.User = "app"
	r = (&pgProbe{cfg: bad}).classify(&pgconn.PgError{Code: "28P01", Message: "password authentication failed"}, "x")
	if r.Status != doctor.StatusFail || r.Summary != "authentication: password authentication failed for user app" || !strings.HasPrefix(r.Fix.Text, "give the password: set COMPOZY_DB_PASSWORD") {
		t.Errorf("%s %q, fix %q", r.Status, r.Summary, r.Fix.Text)
	}
}

// TestPoolerCheck runs postgres.pooler through a connection that says what it found.
func TestPoolerCheck(t *testing.T) {
	pooled := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app:s3cret@127.0.0.1:6432/app?sslmode=disable"}
	bouncer := factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction, Version: "PgBouncer 1.18.0",
		SharedSession: true, Evidence: []string{"its admin console answered SHOW VERSION"}}
	txWarn := want{doctor.StatusWarn, `^PgBouncer 1\.18\.0 \(transaction pooling\): session advisory locks \(the migration lock\) and named prepared statements do not work through it\n` +
		`its admin console answered SHOW VERSION\. Session state does not last .*compozy runs queries through it in simple_protocol \(chosen by compozy\)\.$`}
	const txFix = `^run migrations through the server's direct URL \(not the pooler's\); keep the pooled URL for Compozy`
	transaction := func(direct string) PoolerFinding {
		return PoolerFinding{Pooler: bouncer, ExecMode: "simple_protocol (chosen by compozy)", Direct: direct}
	}
	for _, tc := range []struct {
		name      string
		db        config.Database
		conn      Conn
		openErr   error
		want      want
		fix, cmds string
	}{
		{"cannot tell", pooled, &findingConn{fakeConn: &fakeConn{}, err: errors.New("pgbouncer admin console: postgres://app:s3cret@127.0.0.1:6432/pgbouncer: connection reset")}, nil,
			want{doctor.StatusFail, `^cannot tell whether a pooler is in the way\npgbouncer admin console: .*connection reset$`}, "", ""},
		{"cached statements chosen in the conn_string", pooled, &findingConn{fakeConn: &fakeConn{}, f: PoolerFinding{Pooler: bouncer, ExecMode: "cache_describe", ExecModeSet: true}}, nil,
			want{doctor.StatusFail, `^PgBouncer 1\.18\.0 \(transaction pooling\): default_query_exec_mode=cache_describe keeps named prepared statements .*\(SQLSTATE 42P05\) or "does not exist" \(26000\)\nits admin console answered SHOW VERSION$`},
			`^set default_query_exec_mode=simple_protocol \(or exec\) in database\.conn_string, or remove it and let compozy choose$`, ""},
		{"transaction pooling, the direct server known", pooled, &findingConn{fakeConn: &fakeConn{}, f: transaction("10.0.0.5:5432")}, nil, txWarn, txFix,
			"compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'"},
		{"transaction pooling, the direct server unknown", pooled, &findingConn{fakeConn: &fakeConn{}, f: transaction("")}, nil, txWarn, txFix, ""},
		{"a direct server without a port", pooled, &findingConn{fakeConn: &fakeConn{}, f: transaction("10.0.0.5")}, nil, txWarn, txFix, ""},
		{"a direct server whose port is no number", pooled, &findingConn{fakeConn: &fakeConn{}, f: transaction("10.0.0.5:pg")}, nil, txWarn, txFix, ""},
		{"settings that do not parse", badSettings(), &findingConn{fakeConn: &fakeConn{}, f: transaction("10.0.0.5:5432")}, nil, txWarn, txFix, ""},
		{"PGlite", pooled, &findingConn{fakeConn: &fakeConn{}, f: PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPGlite, SharedSession: true}, ExecMode: "simple_protocol"}}, nil,
			want{doctor.StatusWarn, `^PGlite \(one session shared by every client\): the migration lock \(a session advisory lock\) cannot keep a second migrator out; compozy runs queries in simple_protocol\n\. PGlite is for tests and development$`},
			`^run one compozy migrate at a time against it; use a PostgreSQL server for anything else$`, ""},
		{"not connected", pooled, &findingConn{fakeConn: &fakeConn{}}, errors.New("refused"), want{doctor.StatusSkip, `^skipped: not connected \(postgres\.connect did not pass\)`}, "", ""},
		{"a connection that cannot tell", pooled, &fakeConn{}, nil, want{doctor.StatusSkip, `^skipped: this connection cannot tell`}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSet(t, tc.db, Inputs{}, tc.conn, tc.openErr)
			_, _ = s.src.get(t.Context())
			r := runCheck(t, []doctor.Check{s.poolerCheck()}, doctor.IDPostgresPooler, tc.want)
			checkFix(t, r, tc.fix, tc.cmds)
			noSecret(t, r)
		})
	}
}

func TestPostgresLocksMoreBranches(t *testing.T) {
	idle := func(pid int, d time.Duration) Session {
		return Session{PID: pid, App: "worker", Client: "local socket", State: "idle in transaction", InTransaction: d + time.Second, Idle: d, Query: "SELECT 1"}
	}
	// Each SQL fix is a psql command naming the server: its URL without the password.
	lk := func(sql string) string {
		return "psql 'postgres://compozy@192.0.2.10:5432/compozy?sslmode=disable' -c " + "'" + sql + "'"
	}
	const idleFix = `^a transaction left open holds its locks and keeps VACUUM from cleaning up: .*'compozy doctor --fix --terminate' ends them after asking$`
	for _, tc := range []struct {
		name      string
		db        config.Database
		sessions  []Session
		want      want
		fix, cmds string
		plan      string
	}{
		{"two sessions idle in a transaction", postgresDB(), []Session{idle(555, 6*time.Minute), idle(556, 2*time.Hour)},
			want{doctor.StatusWarn, `^2 sessions have been idle in a transaction for over 5m0s; the first: PID 555 \(application_name "worker", local socket, idle in transaction, transaction open 6m1s\)\n` +
				`PID 555 .*; query: SELECT 1\nPID 556 \(application_name "worker", local socket, idle in transaction, transaction open 2h0m0s\); query: SELECT 1$`},
			idleFix, lk("SELECT pg_terminate_backend(555);") + "\n" + lk("SELECT pg_terminate_backend(556);") + "\n" + lk(`ALTER DATABASE "compozy" SET idle_in_transaction_session_timeout = '\''5min'\'';`),
			`terminate 2 sessions with pg_terminate_backend: PID 555 (application_name "worker", local socket, idle in transaction, transaction open 6m1s); PID 556 (`},
		{"idle for two hours", postgresDB(), []Session{idle(556, 2*time.Hour)},
			want{doctor.StatusWarn, `^PID 556 \(.*transaction open 2h0m0s\) has been idle in a transaction for 2h0m0s \(over 5m0s\)\n`},
			idleFix, lk("SELECT pg_terminate_backend(556);") + "\n" + lk(`ALTER DATABASE "compozy" SET idle_in_transaction_session_timeout = '\''5min'\'';`), "terminate 1 session with pg_terminate_backend: PID 556 ("},
		{"a blocker a second into its transaction", postgresDB(), []Session{{PID: 4242, State: "active", InTransaction: 1234 * time.Millisecond, Locks: []string{"AccessExclusiveLock on users"}}},
			want{doctor.StatusFail, `^PID 4242 \(application_name "no application_name", client unknown, active, transaction open 1\.2s\) holds a lock that stops Compozy's work\nPID 4242 .* holds AccessExclusiveLock on users$`},
			`^end the transaction in the program that holds it \(COMMIT or ROLLBACK\), or stop it; 'compozy doctor --fix --terminate' ends the session\(s\) after asking`,
			lk("SELECT pg_terminate_backend(4242);"), "terminate 1 session with pg_terminate_backend: PID 4242 ("},
		// The settings do not parse: the database is database.name, on localhost:5432.
		{"database name from database.name", badSettings(), []Session{idle(555, 6*time.Minute)},
			want{doctor.StatusWarn, `^PID 555 .* has been idle in a transaction for 6m0s`},
			idleFix, "psql postgres://localhost:5432/app -c 'SELECT pg_terminate_backend(555);'\npsql postgres://localhost:5432/app -c 'ALTER DATABASE \"app\" SET idle_in_transaction_session_timeout = '\\''5min'\\'';'", "terminate 1 session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSet(t, tc.db, Inputs{}, &sessionsConn{fakeConn: &fakeConn{}, sessions: tc.sessions}, nil)
			if _, err := s.src.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			c := s.locksCheck()
			if got := c.Repair.Plan(doctor.Result{}); got != "terminate no session (none was found)" {
				t.Errorf("plan before a run: %q", got)
			}
			r := runCheck(t, []doctor.Check{c}, doctor.IDPostgresLocks, tc.want)
			checkFix(t, r, tc.fix, tc.cmds)
			if !r.Fixable {
				t.Error("not fixable")
			}
			if got := c.Repair.Plan(r); !strings.HasPrefix(got, tc.plan) {
				t.Errorf("plan %q, want it to start with %q", got, tc.plan)
			}
		})
	}
}

func TestMigrationsMoreFailWarn(t *testing.T) {
	t.Run("one pending migration kept for parity", func(t *testing.T) {
		conn := &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 4},
			Pending: []migrate.Migration{{Version: 4, File: "4_parity.sql", NoSchemaChange: true}}}}
		r := runCheck(t, migrationSet(t, sqliteDB(), conn, nil), doctor.IDMigrationsPending,
			want{doctor.StatusWarn, `^1 pending \(database at version 3, latest 4\); it is kept for parity with PostgreSQL: it changes no schema and Compozy's own SQLite migrations do not include it, so Compozy never applies it; compozy migrate up does\n4_parity\.sql$`})
		checkFix(t, r, `^apply them$`, "compozy migrate up")
		if !r.Fixable {
			t.Error("not fixable")
		}
	})
	t.Run("a copy mark with empty parameters", func(t *testing.T) {
		conn := &fakeConn{mark: CopyMark{Marked: true, Source: "postgresql://app@db:5432/x?&sslmode=require&", Started: "2026-01-02T03:04:05Z"}}
		r := runCheck(t, migrationSet(t, sqliteDB(), conn, nil), doctor.IDStorageCopyIncomplete,
			want{doctor.StatusFail, `^a compozy db copy into this database did not finish \(from postgresql://app@db:5432/x\?&sslmode=require&, started 2026-01-02T03:04:05Z\): its tables hold part of the source's rows\ntable compozy_db_copy_incomplete marks`})
		checkFix(t, r, `^copy again, replacing what the unfinished copy wrote; the command holds no password: export PGPASSWORD first`,
			"compozy db copy --from 'postgres://app@db:5432/x?sslmode=require' --to /data/compozy.db --force")
	})
}

func TestMigrationsDriftFailWarn(t *testing.T) {
	const v = int64(20250711163858)
	ok := &migrate.CheckResult{Versions: migrate.Versions{Current: v, Latest: v}}
	for _, tc := range []struct {
		name     string
		checkErr error
		openErr  error // the second open (the first read the state)
		want     want
		fix      string
	}{
		{"cannot read the migration state", errors.New("read versions: postgres://app:s3cret@db/x: conn closed"), nil,
			want{doctor.StatusFail, `^cannot read the migration state\nread versions: .*conn closed$`}, ""},
		{"locked", fmt.Errorf("read versions: %w", sqliteBusy(t)), nil, want{doctor.StatusWarn, `^the database is locked by another process\nread versions: `}, `^see sqlite\.lock$`},
		{"cannot open after reading the state", nil, errors.New("open postgres://app:s3cret@db/x: too many clients"),
			want{doctor.StatusFail, `^cannot read the database\nopen .*too many clients$`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{check: ok, checkErr: tc.checkErr}
			if tc.checkErr != nil {
				conn.check = nil
			}
			sc := &fakeSchemas{live: schemaOf("", ""), want: schemaOf("", "")}
			s := testSet(t, sqliteDB(), Inputs{Schemas: sc}, conn, nil)
			opens := 0
			ms := &migrationSource{open: func(context.Context) (MigrationConn, error) {
				opens++
				if opens > 1 && tc.openErr != nil {
					return nil, tc.openErr
				}
				return conn, nil
			}}
			r := runCheck(t, []doctor.Check{s.driftCheck(ms)}, doctor.IDMigrationsDrift, tc.want)
			checkFix(t, r, tc.fix, "")
			noSecret(t, r)
			if len(sc.asked) != 0 {
				t.Errorf("built the expected schema at %v", sc.asked)
			}
		})
	}
}

func TestConfigFailBranches(t *testing.T) {
	t.Run("a load error that is no config error", func(t *testing.T) {
		cs := ConfigChecks(nil, errors.New("read /etc/compozy/compozy.yaml: postgres://app:s3cret@db/x: input/output error"))
		for _, id := range []string{doctor.IDConfigFile, doctor.IDConfigKeys, doctor.IDConfigVars, doctor.IDConfigVector, doctor.IDConfigSecrets, doctor.IDConfigConcurrency} {
			r := runCheck(t, cs, id, want{doctor.StatusFail, `^cannot load the configuration\nread /etc/compozy/compozy\.yaml: .*input/output error$`})
			checkFix(t, r, "", "")
			noSecret(t, r)
		}
	})
	t.Run("three problems of one check", func(t *testing.T) {
		at := func(line int) config.Pos { return config.Pos{File: "compozy.yaml", Line: line, Column: 3} }
		err := &config.Error{Problems: []config.Problem{
			{Code: config.CodeKeyUnknown, Key: "database.colour", Pos: at(3), Message: "unknown key", Fix: "remove it"},
			{Code: config.CodeValueRange, Key: "database.port", Pos: at(4), Message: "must be 1-65535", Fix: "set a port between 1 and 65535"},
			{Code: config.CodeKeyUnknown, Key: "database.size", Pos: at(5), Message: "unknown key", Fix: "remove it"},
			{Code: config.CodeEnvUnset, Key: "database.password", Origin: "env COMPOZY_DB_PASSWORD", Message: "${PW} is not set", Fix: "export PW"},
		}}
		cs := ConfigChecks(nil, err)
		r := runCheck(t, cs, doctor.IDConfigKeys, want{doctor.StatusFail, `^compozy\.yaml:3:3: database\.colour: unknown key \(and 2 more\)\n` +
			`compozy\.yaml:3:3: database\.colour: unknown key\ncompozy\.yaml:4:3: database\.port: must be 1-65535\ncompozy\.yaml:5:3: database\.size: unknown key$`})
		checkFix(t, r, `^remove it\nset a port between 1 and 65535$`, "")
		// One problem: the summary says it all.
		r = runCheck(t, cs, doctor.IDConfigVars, want{doctor.StatusFail, `^env COMPOZY_DB_PASSWORD: database\.password: \$\{PW\} is not set\n$`})
		checkFix(t, r, `^export PW$`, "")
		runCheck(t, cs, doctor.IDConfigFile, want{doctor.StatusPass, `^the config file parsed; its values have problems`})
		runCheck(t, cs, doctor.IDConfigVector, want{doctor.StatusSkip, `^skipped: the configuration did not load`})
	})
}

func TestRoundTripFailBranches(t *testing.T) {
	const readFix = `^read the error; usually 'compozy migrate up' or a GRANT on the tables fixes it$`
	boom := errors.New("permission denied for table task_states")
	for _, tc := range []struct {
		name      string
		store     storage.Store
		want      want
		fix       string
		writeOnly bool
	}{
		{"the write waits for another session's lock", &memStore{memRepos: newMemRepos(),
			inTxErr: fmt.Errorf("insert workflow: %w", &pgconn.PgError{Code: "55P03", Message: "canceling statement due to lock timeout"})},
			want{doctor.StatusFail, `^another session holds a lock on Compozy's tables: the write waited 2s \(lock_timeout\) and gave up\ninsert workflow: .*lock timeout`},
			`^see postgres\.locks, which names the session$`, false},
		{"a task's create refused", &faultStore{faults: faultRepos{taskErr: boom}}, want{doctor.StatusFail, `^the round trip failed\ncreate task 0: permission denied for table task_states$`}, readFix, false},
		{"the workflow not read back", &faultStore{faults: faultRepos{getErr: boom}}, want{doctor.StatusFail, `^the round trip failed\nread workflow back: permission denied`}, readFix, false},
		{"the tasks not listed", &faultStore{faults: faultRepos{listErr: boom}}, want{doctor.StatusFail, `^the round trip failed\nread tasks back: permission denied`}, readFix, false},
		{"a task lost", &faultStore{faults: faultRepos{dropTask: true}}, want{doctor.StatusFail, `^the round trip failed\nread tasks back: got 1 tasks, wrote 2$`}, readFix, false},
		{"the delete refused", &faultStore{faults: faultRepos{deleteErr: boom}}, want{doctor.StatusFail, `^the round trip failed\ndelete workflow: permission denied`}, readFix, false},
		{"the tasks not listed after the delete", &faultStore{faults: faultRepos{afterDeleteErr: boom}}, want{doctor.StatusFail, `^the round trip failed\nread tasks after delete: permission denied`}, readFix, false},
		{"every step passes", &faultStore{}, want{doctor.StatusPass, `cascaded the delete`}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCheck(t, roundTripSet(t, postgresDB(), tc.store, nil), doctor.IDStorageRoundTrip, tc.want)
			checkFix(t, r, tc.fix, "")
		})
	}
}

// TestRoundTripThroughTheDoor: the round trip opens where it writes through the door (not a
// test's writable): PostgreSQL read-write, SQLite an in-memory copy of the read-only handle.
func TestRoundTripThroughTheDoor(t *testing.T) {
	refused := errors.New("connect to postgres://app:s3cret@192.0.2.10:5432/compozy: FATAL: too many connections")
	for _, tc := range []struct {
		name   string
		db     config.Database
		conn   Conn
		want   want
		opened []factory.Mode
		copied int
	}{
		{"PostgreSQL: the read-write open fails", postgresDB(), &fakeConn{},
			want{doctor.StatusFail, `^cannot open the database through compozy's storage layer\nconnect to .*too many connections$`}, []factory.Mode{factory.ReadWrite}, 0},
		{"SQLite: the in-memory copy fails", sqliteDB(), handleConn{h: &factory.Handle{}},
			want{doctor.StatusFail, `^cannot open the database through compozy's storage layer\nmemory copy: connect to .*too many connections$`}, nil, 1},
		{"SQLite: no read-only handle to copy", sqliteDB(), &fakeConn{}, want{doctor.StatusSkip, `^skipped: cannot open the database read-only \(see sqlite\.file\)`}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			door := &errDoor{err: refused}
			s := testSet(t, tc.db, Inputs{Door: door}, tc.conn, nil)
			r := runCheck(t, []doctor.Check{s.roundTripCheck()}, doctor.IDStorageRoundTrip, tc.want)
			checkFix(t, r, "", "")
			noSecret(t, r)
			if fmt.Sprint(door.opened) != fmt.Sprint(tc.opened) || door.copied != tc.copied {
				t.Errorf("opened %v, copied %d; want %v, %d", door.opened, door.copied, tc.opened, tc.copied)
			}
		})
	}
}

// TestConnectionBudgetThroughPgBouncerFacts: the facts of the PgBouncer budget that
// TestConnectionBudgetThroughPgBouncer does not show: no slots left behind the pool, the
// reserved_connections of PostgreSQL 16, max_user_connections, a version PgBouncer did not give.
func TestConnectionBudgetThroughPgBouncerFacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		show map[string]string
		pl   PoolerLimits
		want want
		fix  string
	}{
		{"no slot for the pool", map[string]string{"max_connections": "3", "superuser_reserved_connections": "3"},
			bouncer(func(l *factory.PgBouncerLimits) { l.Version = "" }),
			want{doctor.StatusFail, `^PgBouncer: 1 × max_open_conns 10 \+ 4 other clients = 14 of max_client_conn 200 client connections: 7%; ` +
				`the server: max_connections 3 - 3 superuser_reserved_connections leaves no connection for PgBouncer's pool\n` +
				`when PgBouncer's pool fills, the server refuses its connections: "sorry, too many clients already"$`},
			`^lower default_pool_size in pgbouncer\.ini .*default_pool_size is 20\), or cap the pool with max_db_connections, or raise the server's max_connections \(a server restart\)$`},
		{"reserved_connections and max_user_connections", map[string]string{"max_connections": "100", "superuser_reserved_connections": "3", "reserved_connections": "10"},
			bouncer(func(l *factory.PgBouncerLimits) { l.PoolSize, l.ReservePool, l.MaxUserConnections = 75, 5, 72 }),
			want{doctor.StatusWarn, `; the server: PgBouncer's pool for user compozy on database compozy opens up to 72 \(pool_size 75 \+ reserve_pool 5, max_user_connections 72\) \+ 2 held by other clients = 74 of 87 connections ` +
				`\(max_connections 100 - 3 superuser_reserved_connections - 10 reserved_connections\): 85%\nPgBouncer's pool can take above 80 %`},
			`^lower default_pool_size .*; pool_size 62 keeps the server within 80 %$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSet(t, postgresDB(), Inputs{}, &poolerConn{fakeConn: &fakeConn{backends: 3, show: tc.show}, pl: tc.pl}, nil)
			if _, err := s.src.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnections, tc.want)
			checkFix(t, r, tc.fix, "")
		})
	}
}

func TestTLSVerifyFailBranches(t *testing.T) {
	year := tlsNow.Add(365 * 24 * time.Hour)
	ca, caKey := testCert(t, "Compozy Test CA", nil, year, true, nil, nil)
	other, _ := testCert(t, "Other CA", nil, year, true, nil, nil)
	inter, interKey := testCert(t, "Compozy Intermediate", nil, year, true, ca, caKey)
	signed, _ := testCert(t, "db.example.com", []string{"db.example.com"}, year, false, ca, caKey)
	withIP, _ := testCert(t, "db.example.com", []string{"db.example.com", "10.0.0.1"}, year, false, ca, caKey)
	onlyIP, _ := testCert(t, "db", []string{"10.0.0.1"}, year, false, ca, caKey)
	noNames, _ := testCert(t, "db.example.com", nil, year, false, ca, caKey)
	viaInter, _ := testCert(t, "db.example.com", []string{"db.example.com"}, year, false, inter, interKey)
	root, otherRoot := writePEM(t, ca), writePEM(t, other)
	junk := filepath.Join(t.TempDir(), "junk.crt")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := func(host, mode, rootCert string) tlsSettings {
		return tlsSettings{Host: host, Mode: mode, RootCert: rootCert, Settings: factory.ConnSettings{Host: host, Port: 5432, Hosts: []string{host}, Ports: []int{5432}, User: "compozy", Database: "compozy"}}
	}
	// The conn_string is a setting: it is in the fix's text, with the path as written, not a command.
	caFix := func(mode string) string {
		return `^give compozy the CA that signed the server's certificate: sslrootcert in conn_string\nset database\.conn_string \(in place of database\.host, port, user, name and ssl_mode\) to:\n` +
			`  postgres://compozy@db\.example\.com:5432/compozy\?sslmode=` + mode + `&sslrootcert=/path/to/root\.crt$`
	}
	for _, tc := range []struct {
		name  string
		st    tlsSettings
		certs []*x509.Certificate
		now   time.Time
		want  want
		fix   string
		cmds  string
	}{
		{"sslrootcert holds no PEM", st("db.example.com", "verify-full", junk), []*x509.Certificate{signed}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-full: sslrootcert .*/junk\.crt holds no PEM certificate\ncertificate subject CN=db\.example\.com, issuer CN=Compozy Test CA`},
			caFix("verify-full"), ""},
		{"another CA in sslrootcert", st("db.example.com", "verify-ca", otherRoot), []*x509.Certificate{signed}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-ca: the server's certificate \(issuer CN=Compozy Test CA\) is not signed by a CA in sslrootcert .*/root\.crt\n`},
			caFix("verify-ca"), ""},
		{"not valid yet", st("db.example.com", "verify-full", root), []*x509.Certificate{signed}, tlsNow.Add(-48 * time.Hour),
			want{doctor.StatusFail, `^ssl_mode verify-full: the server's certificate does not verify: x509: certificate has expired or is not yet valid`},
			caFix("verify-full"), ""},
		{"the name differs from a DNS name and an IP", st("10.1.2.3", "verify-full", root), []*x509.Certificate{withIP}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-full: the certificate is for db\.example\.com, 10\.0\.0\.1, not 10\.1\.2\.3\n`},
			`^connect by a name the certificate holds \(db\.example\.com, 10\.0\.0\.1\) instead of 10\.1\.2\.3, or reissue the certificate with 10\.1\.2\.3 in its subjectAltName\n` +
				`set database\.conn_string \(in place of database\.host, port, user, name and ssl_mode\) to:\n  postgres://compozy@db\.example\.com:5432/compozy\?sslmode=verify-full$`, ""},
		{"the name differs from an IP", st("10.1.2.3", "verify-full", root), []*x509.Certificate{onlyIP}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-full: the certificate is for 10\.0\.0\.1, not 10\.1\.2\.3\n`}, `^connect by a name the certificate holds \(10\.0\.0\.1\)`, ""},
		{"a certificate with no names", st("db.example.com", "verify-full", root), []*x509.Certificate{noNames}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-full: the certificate is for none \(only the subject CN=db\.example\.com\), not db\.example\.com\n`},
			`^connect by a name the certificate holds \(none \(only the subject CN=db\.example\.com\)\) instead of db\.example\.com`, ""},
		// The server's intermediates complete the chain; without them the CA is unknown.
		{"a chain through an intermediate", st("db.example.com", "verify-full", root), []*x509.Certificate{viaInter, inter}, tlsNow,
			want{doctor.StatusPass, `^TLS \(ssl_mode verify-full\): certificate subject CN=db\.example\.com, issuer CN=Compozy Intermediate`}, "", ""},
		{"the intermediate missing", st("db.example.com", "verify-full", root), []*x509.Certificate{viaInter}, tlsNow,
			want{doctor.StatusFail, `^ssl_mode verify-full: the server's certificate \(issuer CN=Compozy Intermediate\) is not signed by a CA in sslrootcert`}, caFix("verify-full"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tlsResult(tc.st, tc.certs, nil, tc.now)
			runCheck(t, []doctor.Check{{Info: doctor.Info{ID: "t"}, Run: func(context.Context) doctor.Result { return r }}}, "t", tc.want)
			checkFix(t, r, tc.fix, tc.cmds)
		})
	}
}

// TestTLSCheckSSLMode: postgres.tls takes the ssl_mode of the settings, else PGSSLMODE, else
// prefer (libpq's default); it skips settings that do not parse.
func TestTLSCheckSSLMode(t *testing.T) {
	remote := postgresDB()
	remote.SSLMode = ""
	local := remote
	local.Host = "localhost"
	for _, tc := range []struct {
		name, env string
		db        config.Database
		want      want
		fix       string
	}{
		{"no ssl_mode, no PGSSLMODE: prefer", "", remote, want{doctor.StatusWarn, `^ssl_mode prefer for 192\.0\.2\.10, a host that is not this machine: .*\n192\.0\.2\.10 does not offer TLS: the connection is not encrypted$`},
			`^set ssl_mode: verify-full, with the CA that signed the server's certificate in conn_string \(sslrootcert\)\n` +
				`set database\.conn_string \(in place of database\.host, port, user, name and ssl_mode\) to:\n  postgres://compozy@192\.0\.2\.10:5432/compozy\?sslmode=verify-full&sslrootcert=/path/to/root\.crt$`},
		{"PGSSLMODE require", "require", remote, want{doctor.StatusFail, `^ssl_mode require, but 192\.0\.2\.10 does not offer TLS\n$`},
			`^turn ssl on in the server's postgresql\.conf \(ssl = on, ssl_cert_file, ssl_key_file\), or lower ssl_mode on a trusted network$`},
		{"prefer on this machine", "", local, want{doctor.StatusPass, `^no TLS: localhost does not offer it \(ssl_mode prefer\), on this machine`}, ""},
		{"settings that do not parse", "", badSettings(), want{doctor.StatusSkip, `^skipped: the connection settings do not parse`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PGSSLMODE", tc.env)
			s := testSet(t, tc.db, Inputs{Certs: &certsFake{err: factory.ErrNoTLS}}, &fakeConn{}, errors.New("refused"))
			r := runCheck(t, []doctor.Check{s.tlsCheck()}, doctor.IDPostgresTLS, tc.want)
			if tc.fix == "" && !r.Fix.IsZero() || tc.fix != "" && !rx(tc.fix).MatchString(r.Fix.Text) {
				t.Errorf("fix %q, want %q", r.Fix.Text, tc.fix)
			}
		})
	}
}

// TestVectorUnregisteredCheck: a provider's check that the registry does not list keeps its
// ID and title, and its warning, through the wrapper; the repairs' plans name what Ensure creates.
func TestVectorUnregisteredCheck(t *testing.T) {
	vc := vector.Check{ID: "vector.custom.shards", Title: "shards are balanced", Run: result(vector.Result{Status: vector.StatusWarn,
		Summary: "2 of 3 shards on one node", Detail: "2 of 3 shards on one node: node-a", Fix: vector.Fix{Text: "rebalance", Commands: []string{"curl http://admin:s3cret@node-a/rebalance"}}})}
	c := wrapVector(vc, qdrantEntry, &fakeVectors{})
	if c.ID != "vector.custom.shards" || c.Title != "shards are balanced" || c.Group != doctor.GroupVector || c.Repair != nil {
		t.Errorf("info %+v, repair %v", c.Info, c.Repair)
	}
	r := runCheck(t, []doctor.Check{c}, "vector.custom.shards", want{doctor.StatusWarn, `^2 of 3 shards on one node\nnode-a$`})
	checkFix(t, r, `^rebalance$`, "curl http://admin:[redacted]@node-a/rebalance")
	if r.Fixable {
		t.Error("fixable without a repair")
	}
	for id, what := range map[string]string{doctor.IDVectorRedisIndex: "index", doctor.IDVectorPgvectorExtension: "extension and table",
		doctor.IDVectorPgvectorTable: "table", doctor.IDVectorFilesystemFolder: "folder"} {
		c := wrapVector(vector.Check{ID: id, Run: result(vector.Result{Status: vector.StatusFail, Summary: "missing"})}, qdrantEntry, &fakeVectors{})
		if want := `create the qdrant ` + what + ` of vector DB "kb" (dimension 8)`; c.Repair == nil || c.Repair.Plan(doctor.Result{}) != want {
			t.Errorf("%s: plan, want %q", id, want)
		}
	}
}

// TestDriftWithoutSchemas: with no Schemas given, migrations.drift reads through the door's,
// which needs the door's handle; under a connection that has none it fails and says why.
func TestDriftWithoutSchemas(t *testing.T) {
	conn := &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 3}}}
	s := testSet(t, sqliteDB(), Inputs{}, conn, nil)
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) { return conn, nil }}
	r := runCheck(t, []doctor.Check{s.driftCheck(ms)}, doctor.IDMigrationsDrift,
		want{doctor.StatusFail, `^cannot read the schema\nno database opener was given to the checks$`})
	checkFix(t, r, "", "")
}

// TestBuildWithoutADoor: Build given no door builds every check, and each open fails saying
// so: postgres.connect (after its DNS and TCP steps), then the migration checks that use what
// it opened; on SQLite the migration checks open themselves. A configuration that did not load
// gets the config checks only.
func TestBuildWithoutADoor(t *testing.T) {
	const noDoorRe = `no database opener was given to the checks`
	t.Run("no configuration", func(t *testing.T) {
		s := Build(nil, errors.New("read compozy.yaml: is a directory"), Inputs{})
		defer s.Close()
		if len(s.Checks) != 6 || s.Target != "" {
			t.Fatalf("%d checks, target %q; want the 6 config checks", len(s.Checks), s.Target)
		}
		runCheck(t, s.Checks, doctor.IDConfigFile, want{doctor.StatusFail, `^cannot load the configuration\nread compozy\.yaml: is a directory$`})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		n := &fakeNet{}
		s := Build(&config.Config{Database: postgresDB()}, nil, Inputs{Net: n, Files: newFiles(), Locks: fakeLocks{}, Certs: &certsFake{err: factory.ErrNoTLS}})
		defer s.Close()
		r := runCheck(t, s.Checks, doctor.IDPostgresConnect, want{doctor.StatusFail, `^cannot connect: ` + noDoorRe + `\n`})
		checkFix(t, r, "", "")
		if len(n.dialed) != 1 {
			t.Errorf("dialed %v", n.dialed)
		}
		runCheck(t, s.Checks, doctor.IDMigrationsTable, want{doctor.StatusFail, `^cannot read the database\n` + noDoorRe + `$`})
		runCheck(t, s.Checks, doctor.IDMigrationsPending, want{doctor.StatusFail, `^cannot read the migration state\n` + noDoorRe + `$`})
		runCheck(t, s.Checks, doctor.IDPostgresVersion, want{doctor.StatusSkip, `not connected`})
	})
	t.Run("SQLite", func(t *testing.T) {
		s := Build(&config.Config{Database: sqliteDB()}, nil, Inputs{Files: newFiles(), Locks: fakeLocks{}, Net: &fakeNet{}})
		defer s.Close()
		runCheck(t, s.Checks, doctor.IDMigrationsTable, want{doctor.StatusFail, `^cannot read the database\n` + noDoorRe + `$`})
		runCheck(t, s.Checks, doctor.IDStorageRoundTrip, want{doctor.StatusSkip, `cannot open the database read-only`})
	})
}

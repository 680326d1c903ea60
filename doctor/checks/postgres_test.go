package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor"
)

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestPostgresConnect(t *testing.T) {
	named := postgresDB()
	named.Host = "db.internal"
	for _, tc := range []struct {
		name    string
		db      config.Database
		net     *fakeNet
		openErr error
		want    want
	}{
		{"settings do not parse", config.Database{Driver: config.DriverPostgres, ConnString: "postgres://a b:%zz@"}, &fakeNet{}, nil,
			want{doctor.StatusFail, `the connection settings do not parse`}},
		{"DNS fails", named, &fakeNet{lookupErr: errors.New("no such host")}, nil,
			want{doctor.StatusFail, `DNS: cannot resolve host db.internal\nno such host`}},
		{"DNS does not answer", named, &fakeNet{hang: true}, nil,
			want{doctor.StatusFail, `DNS: no answer for host db.internal within`}},
		{"TCP refused", postgresDB(), &fakeNet{dialErr: fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)}, nil,
			want{doctor.StatusFail, `TCP: connection refused at 192.0.2.10:5432\nnothing listens`}},
		{"TCP no answer", postgresDB(), &fakeNet{dialErr: fmt.Errorf("dial tcp: %w", timeoutErr{})}, nil,
			want{doctor.StatusFail, `TCP: no answer from 192.0.2.10:5432 within`}},
		{"TCP other", postgresDB(), &fakeNet{dialErr: errors.New("network is unreachable")}, nil,
			want{doctor.StatusFail, `TCP: cannot connect to 192.0.2.10:5432`}},
		{"wrong password", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "28P01", Message: "password authentication failed"},
			want{doctor.StatusFail, `authentication: password authentication failed for user compozy`}},
		{"no database", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "3D000", Message: `database "compozy" does not exist`},
			want{doctor.StatusFail, `database: database "compozy" does not exist`}},
		{"no role", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "28000", Message: `role "compozy" does not exist`},
			want{doctor.StatusFail, `role: role "compozy" does not exist`}},
		{"TLS required", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "x", user "compozy", database "compozy", no encryption`},
			want{doctor.StatusFail, `TLS: the server requires an encrypted connection`}},
		{"pg_hba refuses", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "28000", Message: `no pg_hba.conf entry for host "x", SSL encryption`},
			want{doctor.StatusFail, `authentication: no pg_hba.conf entry`}},
		{"no slots", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"},
			want{doctor.StatusFail, `no free connection slots`}},
		{"other refusal", postgresDB(), &fakeNet{}, &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"},
			want{doctor.StatusFail, `PostgreSQL refused the connection: the database system is starting up`}},
		{"TLS handshake", postgresDB(), &fakeNet{}, fmt.Errorf("failed to connect: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
			want{doctor.StatusFail, `TLS: first record does not look like a TLS handshake`}},
		{"TLS refused", postgresDB(), &fakeNet{}, fmt.Errorf("failed to connect to `user=u database=d`: 192.0.2.10:5432 (db): %w", errors.New("server refused TLS connection")),
			want{doctor.StatusFail, `TLS: server refused TLS connection`}},
		{"unknown CA", postgresDB(), &fakeNet{}, fmt.Errorf("failed to connect: %w", x509.UnknownAuthorityError{}),
			want{doctor.StatusFail, `TLS: certificate signed by unknown authority`}},
		{"refused at startup", postgresDB(), &fakeNet{}, fmt.Errorf("failed to connect: dial error: %w", syscall.ECONNREFUSED),
			want{doctor.StatusFail, `TCP: connection refused at`}},
		// Routed by the errors, not the words: names that read "tls" or "ssl" change nothing.
		{"refused, database named tls_ssl", postgresDB(), &fakeNet{}, fmt.Errorf("failed to connect to `user=ssl database=tls_app`: dial error: %w", syscall.ECONNREFUSED),
			want{doctor.StatusFail, `TCP: connection refused at`}},
		{"the words alone are not a TLS failure", postgresDB(), &fakeNet{}, errors.New("failed to connect to `database=x509`: tls: something odd"),
			want{doctor.StatusFail, `^cannot connect: something odd`}},
		{"other", postgresDB(), &fakeNet{}, errors.New("failed to connect: something odd"),
			want{doctor.StatusFail, `cannot connect: something odd`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSet(t, tc.db, Inputs{Net: tc.net}, &fakeConn{}, tc.openErr)
			cs := s.postgresChecks()
			limit := 2 * time.Second
			if tc.net.hang {
				limit = 100 * time.Millisecond // the lookup waits this long (about): no timing is asserted
			}
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			defer cancel()
			var c doctor.Check
			for _, c = range cs {
				if c.ID == doctor.IDPostgresConnect {
					break
				}
			}
			r := c.Run(ctx)
			if text := r.Summary + "\n" + r.Detail; r.Status != tc.want.status || !rx(tc.want.re).MatchString(text) {
				t.Errorf("%s %q, want %s matching %q", r.Status, text, tc.want.status, tc.want.re)
			}
		})
	}
	t.Run("the password never shows", func(t *testing.T) {
		db := postgresDB()
		db.Password = "s3cret-Pw"
		s := testSet(t, db, Inputs{}, &fakeConn{}, errors.New("failed to connect: password s3cret-Pw refused"))
		r := runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, want{doctor.StatusFail, `cannot connect`})
		if strings.Contains(r.Summary+r.Detail, "s3cret") {
			t.Errorf("password in %q", r.Summary+r.Detail)
		}
	})
	t.Run("the server never replies", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s := &Set{}
		s.init(postgresDB(), Inputs{Files: newFiles(), Locks: fakeLocks{}, Net: &fakeNet{}, Door: failDoor{t}}, &source{
			connect: func(context.Context) (Conn, error) { cancel(); return nil, context.Canceled }})
		var c doctor.Check
		for _, c = range s.postgresChecks() {
			if c.ID == doctor.IDPostgresConnect {
				break
			}
		}
		r := c.Run(ctx)
		if r.Status != doctor.StatusFail || !strings.Contains(r.Summary, "PostgreSQL startup: no answer from 192.0.2.10:5432") {
			t.Errorf("%s %q", r.Status, r.Summary)
		}
	})
	t.Run("connected", func(t *testing.T) {
		n := &fakeNet{}
		s := testSet(t, postgresDB(), Inputs{Net: n}, &fakeConn{}, nil)
		runCheck(t, s.postgresChecks(), doctor.IDPostgresConnect, want{doctor.StatusPass, `connected to postgres://compozy@192.0.2.10:5432/compozy.* as compozy`})
		if len(n.dialed) != 1 || n.dialed[0] != "192.0.2.10:5432" {
			t.Errorf("dialed %v", n.dialed)
		}
	})
}

// connectedSet is a PostgreSQL Set whose connection (conn) postgres.connect has opened.
func connectedSet(t *testing.T, db config.Database, conn *fakeConn) []doctor.Check {
	t.Helper()
	s := testSet(t, db, Inputs{}, conn, nil)
	if _, err := s.src.get(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s.postgresChecks()
}

func TestPostgresQueriesSkipWithoutConnection(t *testing.T) {
	cs := testSet(t, postgresDB(), Inputs{}, &fakeConn{}, errors.New("refused")).postgresChecks()
	for _, c := range cs[1:] {
		runCheck(t, cs, c.ID, want{doctor.StatusSkip, `not connected \(postgres.connect did not pass\)`})
	}
}

func TestPostgresServer(t *testing.T) {
	boom := errors.New("conn closed")
	for _, tc := range []struct {
		name string
		id   string
		conn *fakeConn
		db   func(*config.Database)
		want want
	}{
		{"version unreadable", doctor.IDPostgresVersion, &fakeConn{showErr: boom}, nil, want{doctor.StatusFail, `cannot read the server version`}},
		{"version garbled", doctor.IDPostgresVersion, &fakeConn{show: map[string]string{"server_version_num": "x"}}, nil, want{doctor.StatusFail, `server_version_num is "x"`}},
		{"version too old", doctor.IDPostgresVersion, &fakeConn{show: map[string]string{"server_version_num": "120010", "server_version": "12.10"}}, nil,
			want{doctor.StatusFail, `PostgreSQL 12.10 is too old; Compozy needs 13 or newer`}},
		{"recovery unreadable", doctor.IDPostgresReadOnly, &fakeConn{recoveryErr: boom}, nil, want{doctor.StatusFail, `cannot ask whether the server is a replica`}},
		{"read-only setting unreadable", doctor.IDPostgresReadOnly, &fakeConn{showErr: boom}, nil, want{doctor.StatusFail, `cannot ask whether the server is a replica`}},
		{"replica", doctor.IDPostgresReadOnly, &fakeConn{recovery: true}, nil, want{doctor.StatusFail, `read-only replica`}},
		{"read-only by default", doctor.IDPostgresReadOnly, &fakeConn{show: map[string]string{"default_transaction_read_only": "on"}}, nil,
			want{doctor.StatusFail, `default_transaction_read_only is on`}},
		{"privileges unreadable", doctor.IDPostgresPrivileges, &fakeConn{privErr: boom}, nil, want{doctor.StatusFail, `cannot read privileges`}},
		{"no schema", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Role: "compozy"}}, nil, want{doctor.StatusFail, `no schema of the search_path exists`}},
		{"no CREATE, migrated", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Schema: "public", Role: "app", Migrated: true}}, nil,
			want{doctor.StatusWarn, `role app may not create tables in schema public: migrations must be run by another role`}},
		{"no CREATE, not migrated", doctor.IDPostgresPrivileges, &fakeConn{priv: Privileges{Schema: "public", Role: "app"}}, nil,
			want{doctor.StatusFail, `'compozy migrate up' will fail with "permission denied for schema"`}},
		{"max_connections unreadable", doctor.IDPostgresConnections, &fakeConn{showErr: boom}, nil, want{doctor.StatusFail, `cannot read max_connections`}},
		{"max_connections garbled", doctor.IDPostgresConnections, &fakeConn{show: map[string]string{"max_connections": "many"}}, nil, want{doctor.StatusFail, `cannot read max_connections`}},
		{"backends unreadable", doctor.IDPostgresConnections, &fakeConn{backendsErr: boom}, nil, want{doctor.StatusFail, `cannot count the connections in use`}},
		{"pool larger than free", doctor.IDPostgresConnections, &fakeConn{backends: 90}, nil,
			want{doctor.StatusFail, `1 × max_open_conns 10 \+ 90 held by other clients = 100 of 97 connections \(max_connections 100 - 3 superuser_reserved_connections\): 103%\n.*too many clients already`}},
		{"pool near the free slots", doctor.IDPostgresConnections, &fakeConn{backends: 85}, nil, want{doctor.StatusWarn, `= 95 of 97 connections .*: 97%\nabove 80 %`}},
		{"clock unreadable", doctor.IDPostgresClock, &fakeConn{clockErr: boom}, nil, want{doctor.StatusFail, `cannot read the server clock`}},
		{"clock a minute ahead", doctor.IDPostgresClock, &fakeConn{clock: time.Now().Add(time.Minute)}, nil, want{doctor.StatusFail, `server clock differs by`}},
		{"SELECT 1 fails", doctor.IDPostgresLatency, &fakeConn{roundErr: boom}, nil, want{doctor.StatusFail, `SELECT 1 failed\nconn closed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			if tc.db != nil {
				tc.db(&db)
			}
			runCheck(t, connectedSet(t, db, tc.conn), tc.id, tc.want)
		})
	}
}

func TestClockAndLatencyResults(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration
		want doctor.Status
	}{{-45 * time.Second, doctor.StatusFail}, {5 * time.Second, doctor.StatusWarn}, {-3 * time.Second, doctor.StatusWarn}, {time.Second, doctor.StatusPass}} {
		if r := clockResult(tc.skew); r.Status != tc.want {
			t.Errorf("skew %s: %s %q", tc.skew, r.Status, r.Summary)
		}
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		ds   []time.Duration
		want doctor.Status
	}{
		{[]time.Duration{ms, 150 * ms, 200 * ms, 300 * ms, ms}, doctor.StatusFail},
		{[]time.Duration{25 * ms, 30 * ms, ms, 40 * ms, ms}, doctor.StatusWarn},
		{[]time.Duration{ms, ms, 500 * ms, ms, ms}, doctor.StatusPass},
	} {
		if r := latencyResult(tc.ds); r.Status != tc.want {
			t.Errorf("%v: %s %q", tc.ds, r.Status, r.Summary)
		}
	}
}

// TestPasswordFixNamesTheSource: the fix points at conn_string by config's field, whatever
// PasswordSource's wording.
func TestPasswordFixNamesTheSource(t *testing.T) {
	for _, tc := range []struct{ from, conn, re string }{
		{"", "", `set COMPOZY_DB_PASSWORD`},
		{"the conn_string URL, line 3", "line 3", `correct the password in the conn_string \(line 3\)`},
		{"inside the connection string (line 3)", "line 3", `correct the password in the conn_string \(line 3\)`},
		{"COMPOZY_DB_PASSWORD", "", `correct the password in COMPOZY_DB_PASSWORD; the order is`},
	} {
		db := postgresDB()
		db.PasswordSource, db.ConnStringPasswordFrom = tc.from, tc.conn
		if got := (&pgProbe{cfg: db}).passwordFix(); !rx(tc.re).MatchString(got) {
			t.Errorf("%q: %q does not match %q", tc.from, got, tc.re)
		}
	}
}

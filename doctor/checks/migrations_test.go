package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/doctor"
)

// migrationSet returns the migrations and storage.copy_incomplete checks of db reading conn
// (or failing to open with openErr).
func migrationSet(t *testing.T, db config.Database, conn *fakeConn, openErr error) []doctor.Check {
	t.Helper()
	s := testSet(t, db, Inputs{}, conn, nil)
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) {
		if openErr != nil {
			return nil, openErr
		}
		return conn, nil
	}}
	return append(s.migrationChecks(ms), s.copyIncompleteCheck(ms))
}

func TestMigrationsTables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		db      config.Database
		conn    *fakeConn
		openErr error
		want    want
	}{
		{"cannot open", sqliteDB(), &fakeConn{}, errors.New("boom"), want{doctor.StatusFail, `cannot read the database\nboom`}},
		{"cannot list", sqliteDB(), &fakeConn{missingErr: errors.New("look for table users: boom")}, nil, want{doctor.StatusFail, `cannot list tables`}},
		{"missing on SQLite", sqliteDB(), &fakeConn{missing: []string{"task_states", "users"}}, nil,
			want{doctor.StatusFail, `no such table: task_states\nmissing: task_states, users`}},
		{"missing on PostgreSQL", postgresDB(), &fakeConn{missing: []string{"workflow_states"}}, nil,
			want{doctor.StatusFail, `relation "workflow_states" does not exist`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCheck(t, migrationSet(t, tc.db, tc.conn, tc.openErr), doctor.IDMigrationsTable, tc.want)
			if len(tc.conn.missing) > 0 && (!r.Fixable || commands(r) != "compozy migrate up") {
				t.Errorf("fixable %v, commands %q", r.Fixable, commands(r))
			}
		})
	}
}

func TestMigrationsState(t *testing.T) {
	pending := []migrate.Migration{{Version: 4, File: "4_a.sql"}, {Version: 5, File: "5_b.sql"}}
	parity := []migrate.Migration{{Version: 4, File: "4_a.sql", NoSchemaChange: true}, {Version: 5, File: "5_b.sql", NoSchemaChange: true}}
	pgv := []migrate.Migration{{Version: migrate.VersionPgvector, File: "20251012060000_enable_pgvector_extension.sql"}}
	for _, tc := range []struct {
		name string
		id   string
		auto bool
		conn *fakeConn
		want want
		fix  bool
	}{
		{"cannot read", doctor.IDMigrationsPending, true, &fakeConn{checkErr: errors.New("no such table: goose_db_version")}, want{doctor.StatusFail, `cannot read the migration state`}, false},
		{"locked", doctor.IDMigrationsPending, true, &fakeConn{checkErr: fmt.Errorf("read versions: %w", sqliteBusy(t))}, want{doctor.StatusWarn, `locked by another process`}, false},
		// Routed by SQLite's code, not the words: a path with "locked" in it is no lock.
		{"a path that reads locked", doctor.IDMigrationsPending, true, &fakeConn{checkErr: errors.New("open /srv/locked/compozy.db: no such table: goose_db_version")},
			want{doctor.StatusFail, `cannot read the migration state`}, false},
		{"pending, auto_migrate on", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5}, Pending: pending}},
			want{doctor.StatusWarn, `2 pending \(database at version 3, latest 5\); auto_migrate applies them when Compozy starts\n4_a.sql\n5_b.sql`}, true},
		{"pending, auto_migrate off", doctor.IDMigrationsPending, false, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5}, Pending: pending}},
			want{doctor.StatusFail, `auto_migrate is off, so nothing will apply them`}, true},
		{"pending, parity only (SQLite)", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5}, Pending: parity}},
			want{doctor.StatusWarn, `2 pending \(database at version 3, latest 5\); all 2 are kept for parity with PostgreSQL: they change no schema and Compozy's own SQLite migrations do not include them, so Compozy never applies them; compozy migrate up does`}, true},
		{"pending, some parity", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5}, Pending: append(pending[:1:1], parity[1])}},
			want{doctor.StatusWarn, `auto_migrate applies 1 when Compozy starts; the other 1 change no schema and only compozy migrate up applies them`}, true},
		{"pending pgvector, server refuses", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: migrate.VersionPgvector}, Pending: pgv,
			Pgvector: &migrate.Pgvector{Available: false}}},
			want{doctor.StatusFail, `auto_migrate stops at 20251012060000 when Compozy starts \(Compozy's own migration runs CREATE EXTENSION vector, and pgvector is not available on this server\); compozy migrate up applies them, skipping the extension`}, true},
		{"pending pgvector, role may not", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: migrate.VersionPgvector}, Pending: pgv,
			Pgvector: &migrate.Pgvector{Available: true}}},
			want{doctor.StatusFail, `this role may not create the extension`}, true},
		{"pending pgvector, creatable", doctor.IDMigrationsPending, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: migrate.VersionPgvector}, Pending: pgv,
			Pgvector: &migrate.Pgvector{Available: true, MayCreate: true}}},
			want{doctor.StatusWarn, `; auto_migrate applies them when Compozy starts`}, true},
		{"pending below newer versions", doctor.IDMigrationsPending, false, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 9, Latest: 5}, Pending: pending, Unknown: []int64{9}, Newer: []int64{9}}},
			want{doctor.StatusFail, `2 pending`}, false},
		{"cannot read (newer)", doctor.IDMigrationsNewer, true, &fakeConn{checkErr: errors.New("boom")}, want{doctor.StatusFail, `cannot read the migration state`}, false},
		{"newer", doctor.IDMigrationsNewer, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 9, Latest: 5}, Unknown: []int64{9}, Newer: []int64{9}}},
			want{doctor.StatusFail, `at version 9, newer than the latest this binary knows \(5\)\nversions not known to this binary: 9`}, false},
		{"unknown", doctor.IDMigrationsNewer, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 5, Latest: 5}, Unknown: []int64{2, 3}}},
			want{doctor.StatusFail, `versions this binary does not know: 2, 3`}, false},
		{"cannot read (dirty)", doctor.IDMigrationsDirty, true, &fakeConn{checkErr: errors.New("boom")}, want{doctor.StatusFail, `cannot read the migration state`}, false},
		{"problems", doctor.IDMigrationsDirty, true, &fakeConn{check: &migrate.CheckResult{Problems: []string{"index x is invalid: drop it", "second"}}},
			want{doctor.StatusFail, `index x is invalid: drop it\nindex x is invalid: drop it\nsecond`}, false},
		{"out of order", doctor.IDMigrationsDirty, true, &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: 5, Latest: 5}, OutOfOrder: pending}},
			want{doctor.StatusFail, `migrations pending below the current version: 4, 5`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqliteDB()
			db.AutoMigrate = tc.auto
			if r := runCheck(t, migrationSet(t, db, tc.conn, nil), tc.id, tc.want); r.Fixable != tc.fix {
				t.Errorf("fixable %v, want %v", r.Fixable, tc.fix)
			}
		})
	}
}

// TestMigrationStateReadOnce: the three checks share one reading of the state per run, and a
// reading cut short by a check's deadline is tried again.
func TestMigrationStateReadOnce(t *testing.T) {
	n := 0
	conn := &countingConn{fakeConn: &fakeConn{}, n: &n}
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) { return conn, nil }}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ms.check(done); err == nil {
		t.Error("a cancelled read succeeded")
	}
	for range 3 {
		if _, err := ms.check(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Errorf("state read %d times, want 2 (the cancelled one, then once)", n)
	}
}

type countingConn struct {
	*fakeConn
	n *int
}

func (c *countingConn) Check(ctx context.Context) (*migrate.CheckResult, error) {
	*c.n++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.fakeConn.Check(ctx)
}

func TestCopyIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conn    *fakeConn
		openErr error
		want    want
		cmd     string
	}{
		{"cannot open", &fakeConn{}, errors.New("boom"), want{doctor.StatusSkip, `cannot read the database`}, ""},
		{"cannot look", &fakeConn{markErr: errors.New("permission denied for table")}, nil, want{doctor.StatusFail, `cannot look for the mark of an unfinished copy`}, ""},
		{"from SQLite", &fakeConn{mark: CopyMark{Marked: true, Source: "sqlite /old/compozy.db", Started: "2026-01-02T03:04:05Z"}}, nil,
			want{doctor.StatusFail, `a compozy db copy into this database did not finish \(from sqlite /old/compozy.db, started 2026-01-02T03:04:05Z\)`},
			"compozy db copy --from /old/compozy.db --to /data/compozy.db --force"},
		{"from PostgreSQL into PostgreSQL", &fakeConn{mark: CopyMark{Marked: true, Source: "postgres://app:[redacted]@db:5432/x?fallback=db2%3A5432&sslmode=require", Started: "then"},
			copyTo: "'postgres://app@db:5432/y'", copyToPG: true}, nil,
			want{doctor.StatusFail, `did not finish`},
			"compozy db copy --from 'postgres://app@db:5432,db2:5432/x?sslmode=require' --to 'postgres://app@db:5432/y' --force"},
		{"from an unknown source", &fakeConn{mark: CopyMark{Marked: true, Source: "an unknown source", Started: "at an unknown time"}}, nil,
			want{doctor.StatusFail, `from an unknown source`}, "compozy db copy --from SOURCE --to /data/compozy.db --force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCheck(t, migrationSet(t, sqliteDB(), tc.conn, tc.openErr), doctor.IDStorageCopyIncomplete, tc.want)
			if tc.cmd != "" && commands(r) != tc.cmd {
				t.Errorf("command\n got %s\nwant %s", commands(r), tc.cmd)
			}
			if tc.conn.copyToPG && !strings.Contains(r.Fix.Text, "export PGPASSWORD") {
				t.Errorf("fix %q does not say where the password goes", r.Fix.Text)
			}
			if strings.Contains(tc.cmd, "SOURCE") && !strings.Contains(r.Fix.Text, "give the source as before") {
				t.Errorf("fix %q", r.Fix.Text)
			}
		})
	}
}

func TestMigrateFail(t *testing.T) {
	if r := migrateFail(fmt.Errorf("goose: %w", errors.New("postgres://u:pw@h/db: refused"))); r.Status != doctor.StatusFail || strings.Contains(r.Detail, "pw@") {
		t.Errorf("%s %q", r.Status, r.Detail)
	}
}

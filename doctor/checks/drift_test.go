package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// fakeSchemas is Schemas with canned schemas; it records the version it was asked to build.
type fakeSchemas struct {
	live, want *migrate.Schema
	liveErr    error
	wantErr    error
	asked      []int64
}

func (f *fakeSchemas) Live(context.Context, *factory.Handle) (*migrate.Schema, error) {
	return f.live, f.liveErr
}

func (f *fakeSchemas) Expected(_ context.Context, _ *factory.Handle, version int64) (*migrate.Schema, error) {
	f.asked = append(f.asked, version)
	return f.want, f.wantErr
}

// schemaOf is a small schema: users(id, email) with an index and, when trigger is set, a
// trigger; extra columns are added to users.
func schemaOf(index, trigger string, extraCols ...string) *migrate.Schema {
	s := &migrate.Schema{Tables: map[string]*migrate.Table{}, Indexes: map[string]migrate.Object{},
		Triggers: map[string]migrate.Object{}, Comments: map[string]string{}}
	t := &migrate.Table{Name: "users", Columns: []migrate.Column{{Name: "id", Type: "text", NotNull: true}, {Name: "email", Type: "text", NotNull: true}}}
	for _, c := range extraCols {
		t.Columns = append(t.Columns, migrate.Column{Name: c, Type: "text"})
	}
	s.Tables["users"] = t
	if index != "" {
		q := "CREATE INDEX " + index + " ON users (email)"
		s.Indexes[index] = migrate.Object{Name: index, Table: "users", SQL: q, Norm: strings.ToLower(q)}
	}
	if trigger != "" {
		q := "CREATE TRIGGER trg_users AFTER UPDATE OF " + trigger + " ON users BEGIN SELECT 1; END"
		s.Triggers["trg_users"] = migrate.Object{Name: "trg_users", Table: "users", SQL: q, Norm: strings.ToLower(q)}
	}
	return s
}

// driftSet returns the checks with migrations.drift of a database at version cur (newer: a
// newer binary migrated it), reading schemas through sc.
func driftSet(t *testing.T, cur int64, newer bool, sc Schemas) []doctor.Check {
	t.Helper()
	conn := &fakeConn{check: &migrate.CheckResult{Versions: migrate.Versions{Current: cur, Latest: 20251016150000}}}
	if newer {
		conn.check.Newer = []int64{cur}
		conn.check.Unknown = []int64{cur}
	}
	s := testSet(t, sqliteDB(), Inputs{Schemas: sc}, conn, nil)
	ms := &migrationSource{open: func(context.Context) (MigrationConn, error) { return conn, nil }}
	return []doctor.Check{s.driftCheck(ms)}
}

func TestMigrationsDrift(t *testing.T) {
	const v = int64(20250711163858)
	for _, tc := range []struct {
		name    string
		cur     int64
		newer   bool
		sc      *fakeSchemas
		want    want
		fixable bool
	}{
		{"no drift", v, false, &fakeSchemas{live: schemaOf("idx_email", "email"), want: schemaOf("idx_email", "email")},
			want{doctor.StatusPass, `the schema is the one the migrations make at version 20250711163858`}, false},
		{"missing index, extra column", v, false,
			&fakeSchemas{live: schemaOf("", "email", "nickname"), want: schemaOf("idx_email", "email")},
			want{doctor.StatusWarn, `^2 differences from the schema the migrations make at version 20250711163858 \(1 missing, 1 extra\)\n` +
				`extra column users.nickname: nickname text \(extra, left in place\)\n` +
				`missing index idx_email: CREATE INDEX idx_email ON users \(email\); \(--fix recreates it\)$`}, true},
		{"missing trigger", v, false, &fakeSchemas{live: schemaOf("idx_email", ""), want: schemaOf("idx_email", "email")},
			want{doctor.StatusWarn, `1 missing\)\nmissing trigger trg_users: CREATE TRIGGER trg_users .*\(--fix recreates it\)$`}, true},
		{"changed trigger, extra index: nothing --fix may do", v, false,
			&fakeSchemas{live: func() *migrate.Schema {
				s := schemaOf("idx_email", "id")
				s.Indexes["idx_mine"] = migrate.Object{Name: "idx_mine", Table: "users", SQL: "CREATE INDEX idx_mine ON users (id)", Norm: "x"}
				return s
			}(), want: schemaOf("idx_email", "email")},
			want{doctor.StatusWarn, `\(1 different, 1 extra\)\nextra index idx_mine: CREATE INDEX idx_mine ON users \(id\) \(extra, left in place\)\n` +
				`different trigger trg_users: not the migrations' definition \(left in place; compozy migrate diff shows both`}, false},
		{"missing column, changed column", v, false,
			&fakeSchemas{live: func() *migrate.Schema {
				s := schemaOf("idx_email", "email")
				s.Tables["users"].Columns = s.Tables["users"].Columns[:1]
				s.Tables["users"].Columns[0].NotNull = false
				return s
			}(), want: schemaOf("idx_email", "email")},
			want{doctor.StatusWarn, `\(1 missing, 1 different\)\n` +
				`different column users.id: want id text NOT NULL; got id text \(no statement fixes it: restore a backup, or migrate down past the migration that makes it and up again\)\n` +
				`missing column users.email: want email text NOT NULL \(no statement fixes it`}, false},
		{"no migrations applied", 0, false, &fakeSchemas{}, want{doctor.StatusSkip, `no migrations applied yet`}, false},
		{"newer database", 20991231000000, true, &fakeSchemas{}, want{doctor.StatusSkip, `newer than this binary`}, false},
		{"no scratch schema", v, false, &fakeSchemas{live: schemaOf("", ""), wantErr: fmt.Errorf("postgres://db: %w: permission denied for database compozy", factory.ErrNoScratchSchema)},
			want{doctor.StatusSkip, `skipped: postgres://db: cannot create a scratch schema .*permission denied`}, false},
		{"cannot read", v, false, &fakeSchemas{liveErr: errors.New("read the schema: boom")}, want{doctor.StatusFail, `cannot read the schema\nread the schema: boom`}, false},
		{"cannot build", v, false, &fakeSchemas{live: schemaOf("", ""), wantErr: errors.New("build the expected schema: boom")},
			want{doctor.StatusFail, `cannot build the schema the migrations make`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCheck(t, driftSet(t, tc.cur, tc.newer, tc.sc), doctor.IDMigrationsDrift, tc.want)
			if r.Fixable != tc.fixable {
				t.Errorf("fixable %v, want %v", r.Fixable, tc.fixable)
			}
			if tc.fixable && commands(r) != "compozy doctor --fix --only migrations.drift\ncompozy migrate diff" {
				t.Errorf("commands %q", commands(r))
			}
			if r.Status == doctor.StatusWarn && !tc.fixable && commands(r) != "compozy migrate diff" {
				t.Errorf("commands %q", commands(r))
			}
			if tc.sc.live != nil && tc.sc.liveErr == nil && (len(tc.sc.asked) != 1 || tc.sc.asked[0] != tc.cur) {
				t.Errorf("the expected schema was built at %v, want the database's version %d", tc.sc.asked, tc.cur)
			}
		})
	}
}

// TestRecreationsNeverDrop: --fix runs the CREATE of missing indexes and triggers and nothing
// else: not an extra object's (which has no fix), not a changed trigger's (whose fix drops the
// one in place), not a comment's.
func TestRecreationsNeverDrop(t *testing.T) {
	live := schemaOf("idx_mine", "id", "nickname")
	want := schemaOf("idx_email", "email")
	want.Triggers["trg_missing"] = migrate.Object{Name: "trg_missing", Table: "users", SQL: "CREATE TRIGGER trg_missing AFTER INSERT ON users BEGIN SELECT 1; END", Norm: "t"}
	want.Comments["users.email"] = "the address"
	ds := migrate.Diff(live, want)
	got := recreations(ds)
	wantStmts := []string{"CREATE INDEX idx_email ON users (email);", "CREATE TRIGGER trg_missing AFTER INSERT ON users BEGIN SELECT 1; END;"}
	if strings.Join(got, "\n") != strings.Join(wantStmts, "\n") {
		t.Fatalf("recreations:\n%s\nwant:\n%s\nfrom %+v", strings.Join(got, "\n"), strings.Join(wantStmts, "\n"), ds)
	}
	for _, q := range got {
		if strings.Contains(strings.ToUpper(q), "DROP") {
			t.Errorf("--fix would drop: %s", q)
		}
	}
	var kinds []string
	for _, d := range ds {
		kinds = append(kinds, string(d.Kind)+" "+d.Object)
	}
	for _, k := range []string{"extra column users.nickname", "extra index idx_mine", "different trigger trg_users", "different comment on users.email"} {
		if !strings.Contains(strings.Join(kinds, "\n"), k) {
			t.Errorf("the diff lacks %q: %v", k, kinds)
		}
	}
}

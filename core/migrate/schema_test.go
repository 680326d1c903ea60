package migrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/migrations"
)

func memSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func drifts(ds []migrate.Drift) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(string(d.Kind) + " " + d.Object + "\n")
	}
	return b.String()
}

// TestDriftSQLite: a database the migrations made has no drift; a dropped index, an added
// column and a changed trigger are each reported, with the SQL that recreates what is missing or
// changed, and the extra column is reported, not dropped.
func TestDriftSQLite(t *testing.T) {
	ctx := context.Background()
	live := openSQLite(t, filepath.Join(t.TempDir(), "live.db"))
	m, err := migrate.New(live, migrations.SQLite, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := migrate.ExpectedSQLite(ctx, memSQLite(t), m.Latest())
	if err != nil {
		t.Fatal(err)
	}
	got, err := migrate.ReadSchema(ctx, live, migrations.SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	if ds := migrate.Diff(got, want); len(ds) != 0 {
		t.Fatalf("a migrated database drifts:\n%s", drifts(ds))
	}
	for _, q := range []string{
		`DROP INDEX idx_task_states_status`,
		`ALTER TABLE users ADD COLUMN nickname TEXT`,
		`DROP TRIGGER trg_task_states_updated_at`,
		`CREATE TRIGGER trg_task_states_updated_at AFTER UPDATE OF status ON task_states FOR EACH ROW BEGIN UPDATE task_states SET updated_at = datetime('now') WHERE task_exec_id = NEW.task_exec_id; END`,
	} {
		if _, err := live.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	got, err = migrate.ReadSchema(ctx, live, migrations.SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	ds := migrate.Diff(got, want)
	if s := drifts(ds); s != "missing index idx_task_states_status\ndifferent trigger trg_task_states_updated_at\nextra column users.nickname\n" &&
		!(strings.Contains(s, "missing index idx_task_states_status") && strings.Contains(s, "different trigger trg_task_states_updated_at") && strings.Contains(s, "extra column users.nickname") && len(ds) == 3) {
		t.Fatalf("drift:\n%s", s)
	}
	for _, d := range ds {
		if d.Kind == migrate.DriftExtra && d.Fix != "" {
			t.Errorf("an extra object has a fix (it would be dropped): %+v", d)
		}
		if d.Kind != migrate.DriftExtra {
			if d.Fix == "" {
				t.Errorf("no fix for %s", d.Object)
			}
			if _, err := live.ExecContext(ctx, d.Fix); err != nil {
				t.Errorf("fix of %s: %v", d.Object, err)
			}
		}
	}
	got, err = migrate.ReadSchema(ctx, live, migrations.SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := drifts(migrate.Diff(got, want)); s != "extra column users.nickname\n" {
		t.Errorf("after the fixes:\n%s", s)
	}
}

// TestDriftPostgres: the same on PostgreSQL, with the expected schema built in a scratch schema
// of a transaction that is rolled back (nothing is left behind).
func TestDriftPostgres(t *testing.T) {
	ctx := context.Background()
	db := openPostgres(t, testenv.PostgresDB(t))
	m, err := migrate.New(db, migrations.Postgres, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := migrate.ExpectedPostgres(ctx, db, m.Latest())
	if err != nil {
		t.Fatal(err)
	}
	got, err := migrate.ReadSchema(ctx, db, migrations.Postgres, "")
	if err != nil {
		t.Fatal(err)
	}
	if ds := migrate.Diff(got, want); len(ds) != 0 {
		t.Fatalf("a migrated database drifts:\n%s", drifts(ds))
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'compozy_drift_%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("scratch schemas left: %d %v", n, err)
	}
	for _, q := range []string{
		`DROP INDEX idx_task_states_parent_state_output_not_null`,
		`ALTER TABLE users ADD COLUMN nickname text`,
		`COMMENT ON COLUMN api_keys.fingerprint IS 'mine'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	got, err = migrate.ReadSchema(ctx, db, migrations.Postgres, "")
	if err != nil {
		t.Fatal(err)
	}
	ds := migrate.Diff(got, want)
	s := drifts(ds)
	for _, w := range []string{"missing index idx_task_states_parent_state_output_not_null", "extra column users.nickname", "different comment on api_keys.fingerprint"} {
		if !strings.Contains(s, w) {
			t.Errorf("drift lacks %q:\n%s", w, s)
		}
	}
	for _, d := range ds {
		if d.Fix != "" {
			if _, err := db.ExecContext(ctx, d.Fix); err != nil {
				t.Errorf("fix of %s: %v (%s)", d.Object, err, d.Fix)
			}
		}
	}
	got, _ = migrate.ReadSchema(ctx, db, migrations.Postgres, "")
	if s := drifts(migrate.Diff(got, want)); s != "extra column users.nickname\n" {
		t.Errorf("after the fixes:\n%s", s)
	}
}

// TestDuplicateVersionRows: a version recorded twice (two migrators at once) is a problem of
// Check, with the statement that keeps one row; running it clears the problem.
func TestDuplicateVersionRows(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "d.db"))
	m, err := migrate.New(db, migrations.SQLite, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (20250603124835, 1)`); err != nil {
		t.Fatal(err)
	}
	c, err := m.Check(ctx)
	if err != nil || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], "version 20250603124835 is recorded 2 times") {
		t.Fatalf("check: %+v %v", c, err)
	}
	fix := c.Problems[0][strings.Index(c.Problems[0], "DELETE"):]
	if _, err := db.ExecContext(ctx, fix); err != nil {
		t.Fatal(err)
	}
	if c, err := m.Check(ctx); err != nil || len(c.Problems) != 0 {
		t.Fatalf("after the fix: %+v %v", c, err)
	}
}

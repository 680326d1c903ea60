package migrations_test

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/migrations"
)

// upstreamVersions are Compozy's own goose versions (reference/upstream-schema.md): the union of
// its SQLite and PostgreSQL sets. Both dialects must carry exactly these.
var upstreamVersions = []string{
	"20250603124835_create_workflow_states",
	"20250603124915_create_task_states",
	"20250711163857_create_users",
	"20250711163858_create_api_keys",
	"20250711173300_add_api_key_fingerprint",
	"20250712120000_add_task_hierarchy_indexes",
	"20250916090000_add_task_state_query_indexes",
	"20251012060000_enable_pgvector_extension",
	"20251016150000_add_task_states_task_exec_idx",
}

func fileNames(t *testing.T, dialect string) []string {
	t.Helper()
	fsys, err := migrations.FS(dialect)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(p, ".sql"))
	}
	slices.Sort(names)
	return names
}

func TestDialectsCarryTheSameVersions(t *testing.T) {
	sqlite := fileNames(t, migrations.SQLite)
	postgres := fileNames(t, migrations.Postgres)
	if !slices.Equal(sqlite, postgres) {
		t.Errorf("the dialects' migration files differ:\n sqlite:   %v\n postgres: %v", sqlite, postgres)
	}
	for _, d := range migrations.Dialects() {
		if got := fileNames(t, d); !slices.Equal(got, upstreamVersions) {
			t.Errorf("%s migrations are not Compozy's versions:\n got:  %v\n want: %v", d, got, upstreamVersions)
		}
	}
}

func TestEveryFileParsesWithUpAndDown(t *testing.T) {
	for _, d := range migrations.Dialects() {
		fsys, err := migrations.FS(d)
		if err != nil {
			t.Fatal(err)
		}
		err = fs.WalkDir(fsys, ".", func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			s := string(b)
			if !strings.Contains(s, "-- +goose Up") || !strings.Contains(s, "-- +goose Down") {
				t.Errorf("%s/%s: needs both -- +goose Up and -- +goose Down", d, path)
			}
			if strings.Contains(s, "SELECT 1;") && !strings.Contains(s, "No-op") {
				t.Errorf("%s/%s: a no-op migration must say why in a comment", d, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestFSUnknownDialect(t *testing.T) {
	if _, err := migrations.FS("mysql"); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf("FS(mysql) = %v, want an error naming the dialect", err)
	}
}

func newProvider(t *testing.T, dialect goose.Dialect, db *sql.DB, fsys fs.FS) *goose.Provider {
	t.Helper()
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	return p
}

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "compozy.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// upDownUp applies every migration, reverts them all, and applies them again, checking the
// schema after each step with check(applied).
func upDownUp(t *testing.T, p *goose.Provider, check func(applied bool)) {
	t.Helper()
	ctx := testCtx(t)
	want := len(upstreamVersions)
	for round := range 2 {
		res, err := p.Up(ctx)
		if err != nil {
			t.Fatalf("up (round %d): %v", round+1, err)
		}
		if len(res) != want {
			t.Fatalf("up (round %d) applied %d migrations, want %d", round+1, len(res), want)
		}
		check(true)
		if round == 1 {
			break
		}
		res, err = p.DownTo(ctx, 0)
		if err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if len(res) != want {
			t.Fatalf("down to 0 reverted %d migrations, want %d", len(res), want)
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != 0 {
			t.Fatalf("version after down to 0 = %d, %v; want 0", v, err)
		}
		check(false)
	}
	if res, err := p.Up(ctx); err != nil || len(res) != 0 {
		t.Fatalf("second up = %d results, %v; want nothing to do", len(res), err)
	}
}

func TestUpDownUpSQLite(t *testing.T) {
	db := openSQLite(t)
	fsys, err := migrations.FS(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, goose.DialectSQLite3, db, fsys)
	ctx := testCtx(t)
	count := func(typ string) int {
		var n int
		q := `SELECT count(*) FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' AND tbl_name <> 'goose_db_version'`
		if err := db.QueryRowContext(ctx, q, typ).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	upDownUp(t, p, func(applied bool) {
		tables, indexes, triggers := count("table"), count("index"), count("trigger")
		if !applied {
			if tables+indexes+triggers != 0 {
				t.Fatalf("after down: %d tables, %d indexes, %d triggers left", tables, indexes, triggers)
			}
			return
		}
		// 4 + 5 + 2 + 5 named indexes (section 3.1); inline UNIQUE/PK autoindexes are excluded.
		if tables != 4 || indexes != 16 || triggers != 1 {
			t.Fatalf("after up: %d tables, %d indexes, %d triggers; want 4, 16, 1", tables, indexes, triggers)
		}
	})

	// The constraints hold.
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustFail := func(why, q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err == nil {
			t.Fatalf("%s: %s succeeded, want a constraint error", why, q)
		}
	}
	mustExec(`INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, usage) VALUES ('w1', 'wf', 'RUNNING', '[]')`)
	mustFail("usage must be an array", `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, usage) VALUES ('w2', 'wf', 'RUNNING', '{}')`)
	mustExec(`INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id) VALUES ('task', 'RUNNING', 't1', 'a', 'w1', 'wf')`)
	mustFail("input must be JSON", `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, input) VALUES ('task', 'RUNNING', 't2', 'a', 'w1', 'wf', 'not json')`)
	mustFail("unknown execution_type", `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, execution_type) VALUES ('task', 'RUNNING', 't3', 'a', 'w1', 'wf', 'wait')`)
	mustFail("router with an agent", `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, execution_type, agent_id) VALUES ('task', 'RUNNING', 't4', 'a', 'w1', 'wf', 'router', 'ag')`)
	mustFail("foreign key to workflow_states", `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id) VALUES ('task', 'RUNNING', 't5', 'a', 'nope', 'wf')`)
	mustExec(`UPDATE task_states SET updated_at = '2000-01-01 00:00:00'`)
	mustExec(`UPDATE task_states SET status = 'SUCCESS' WHERE task_exec_id = 't1'`)
	var updated string
	if err := db.QueryRowContext(ctx, `SELECT updated_at FROM task_states WHERE task_exec_id = 't1'`).Scan(&updated); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(updated, "2000") {
		t.Fatalf("trigger did not refresh updated_at: %s", updated)
	}
	mustExec(`INSERT INTO users (id, email, role) VALUES ('u1', 'A@x.io', 'admin')`)
	mustFail("email unique regardless of case", `INSERT INTO users (id, email, role) VALUES ('u2', 'a@X.io', 'user')`)
	mustFail("role check", `INSERT INTO users (id, email, role) VALUES ('u3', 'b@x.io', 'root')`)
	mustExec(`INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix) VALUES ('k1', 'u1', x'01', x'02', 'cpzy_1')`)
	mustFail("fingerprint unique", `INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix) VALUES ('k2', 'u1', x'01', x'02', 'cpzy_2')`)
	mustExec(`DELETE FROM workflow_states WHERE workflow_exec_id = 'w1'`)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM task_states`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("cascade delete left %d task rows (%v)", n, err)
	}
}

func TestUpDownUpPostgres(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	db := openPostgres(t, dsn)
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, goose.DialectPostgres, db, fsys)
	ctx := testCtx(t)
	scalar := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	var vectorAvailable bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&vectorAvailable); err != nil {
		t.Fatal(err)
	}
	upDownUp(t, p, func(applied bool) {
		tables := scalar(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`)
		indexes := scalar(`SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'goose_db_version' AND indexname LIKE 'idx_%'`)
		vector := scalar(`SELECT count(*) FROM pg_extension WHERE extname = 'vector'`)
		if !applied {
			if tables+indexes+vector != 0 {
				t.Fatalf("after down: %d tables, %d indexes, vector=%d left", tables, indexes, vector)
			}
			return
		}
		// workflow 5, task 22+2+3+1, users 2, api keys 4+1.
		if tables != 4 || indexes != 40 {
			t.Fatalf("after up: %d tables, %d idx_ indexes; want 4, 40", tables, indexes)
		}
		if vectorAvailable != (vector == 1) {
			t.Fatalf("pgvector available=%v but installed=%d", vectorAvailable, vector)
		}
		if scalar(`SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_task_states_task_exec_id' AND i.indisvalid`) != 1 {
			t.Fatal("idx_task_states_task_exec_id missing or invalid")
		}
	})
	if !vectorAvailable {
		t.Log("pgvector is not available on this server: 20251012060000 ran its no-op path")
	}
	for _, c := range []string{"fk_workflow", "fk_parent_task", "chk_execution_type_consistency", "chk_task_states_usage_json", "chk_workflow_states_usage_json"} {
		if scalar(`SELECT count(*) FROM pg_constraint WHERE conname = $1`, c) != 1 {
			t.Errorf("constraint %s missing", c)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, role) VALUES ('u1', 'A@x.io', 'admin')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, user_id, hash, prefix, fingerprint) VALUES ('k1', 'u1', '\x01', 'p1', sha256('\x01'))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, role) VALUES ('u2', 'a@X.io', 'user')`); err == nil {
		t.Fatal("case-insensitive unique email not enforced")
	}
}

// TestFingerprintBackfillPostgres stops before 20250711173300, stores a key without a fingerprint,
// and checks the migration backfills sha256(hash).
func TestFingerprintBackfillPostgres(t *testing.T) {
	db := openPostgres(t, testenv.PostgresDB(t))
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, goose.DialectPostgres, db, fsys)
	ctx := testCtx(t)
	if _, err := p.UpTo(ctx, 20250711163858); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, email, role) VALUES ('u1', 'a@x.io', 'admin')`,
		`INSERT INTO api_keys (id, user_id, hash, prefix) VALUES ('k1', 'u1', '\xdeadbeef', 'p1')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.UpTo(ctx, 20250711173300); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT fingerprint = sha256(hash) FROM api_keys WHERE id = 'k1'`).Scan(&ok); err != nil || !ok {
		t.Fatalf("fingerprint not backfilled with sha256(hash): %v, %v", ok, err)
	}
}

// TestPgvectorMigrationNeverFails runs the pgvector migration's logic against an extension this
// server does have (the real one is not installable here), once as a superuser (it is created and
// dropped) and once as a role without the privilege (both directions do nothing and succeed).
func TestPgvectorMigrationNeverFails(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	admin := openPostgres(t, dsn)
	ctx := testCtx(t)

	var ext string
	err := admin.QueryRowContext(ctx, `SELECT name FROM pg_available_extensions
		WHERE name IN ('pageinspect', 'pg_buffercache', 'pg_stat_statements') ORDER BY name LIMIT 1`).Scan(&ext)
	if err != nil {
		t.Skipf("no untrusted stand-in extension available: %v", err)
	}
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	const name = "20251012060000_enable_pgvector_extension.sql"
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	stand := strings.NewReplacer("extname = 'vector'", "extname = '"+ext+"'",
		"name = 'vector'", "name = '"+ext+"'", "EXTENSION IF NOT EXISTS vector", "EXTENSION IF NOT EXISTS "+ext,
		"EXTENSION IF EXISTS vector", "EXTENSION IF EXISTS "+ext).Replace(string(body))
	if strings.Count(stand, ext) != 5 {
		t.Fatalf("stand-in substitution changed %d places, want 5; update the test with the migration", strings.Count(stand, ext))
	}
	one := fstest.MapFS{name: {Data: []byte(stand)}}
	installed := func(db *sql.DB) bool {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_extension WHERE extname = $1`, ext).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	// A role that owns nothing and may not create untrusted extensions.
	var dbName string
	if err := admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	role := dbName + "_noext" // unique per test, like the database
	roleIdent := pgx.Identifier{role}.Sanitize()
	const rolePassword = "no-ext role pw"
	if _, err := admin.ExecContext(ctx, `CREATE ROLE `+roleIdent+` LOGIN PASSWORD '`+rolePassword+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, `DROP OWNED BY `+roleIdent)
		_, _ = admin.ExecContext(ctx, `DROP ROLE IF EXISTS `+roleIdent)
	})
	if _, err := admin.ExecContext(ctx, `GRANT ALL ON DATABASE `+pgx.Identifier{dbName}.Sanitize()+` TO `+roleIdent+`; GRANT ALL ON SCHEMA public TO `+roleIdent); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, rolePassword)
	limited := openPostgres(t, u.String())

	// Without the privilege: up and down succeed and change nothing.
	p := newProvider(t, goose.DialectPostgres, limited, one)
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up without privilege failed: %v", err)
	}
	if installed(admin) {
		t.Fatalf("%s created by a role without the privilege", ext)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down without privilege failed: %v", err)
	}

	// With the privilege: created, and dropped again by down.
	if _, err := admin.ExecContext(ctx, `DROP TABLE goose_db_version`); err != nil {
		t.Fatal(err)
	}
	p = newProvider(t, goose.DialectPostgres, admin, one)
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up as superuser: %v", err)
	}
	if !installed(admin) {
		t.Fatalf("%s not created by a superuser", ext)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down as superuser: %v", err)
	}
	if installed(admin) {
		t.Fatalf("%s not dropped by down", ext)
	}
}

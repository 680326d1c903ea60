package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/migrations"
)

const (
	vWorkflow  = int64(20250603124835)
	vUsers     = int64(20250711163857)
	vQueryIdx  = int64(20250916090000)
	vPgvector  = int64(20251012060000)
	vLatest    = int64(20251016150000)
	knownCount = 9
)

// target is one database to test against.
type target struct {
	dialect string
	// open returns a new connection pool to the same database each time it is called.
	open func(t *testing.T) *sql.DB
	// path is the SQLite file ("" for PostgreSQL).
	path string
	// dsn is the PostgreSQL DSN ("" for SQLite).
	dsn string
}

func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // like the storage layer's single writer
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

// targets returns a fresh SQLite file and a fresh PostgreSQL database.
func targets(t *testing.T) []func(t *testing.T) target {
	return []func(t *testing.T) target{
		func(t *testing.T) target {
			p := filepath.Join(t.TempDir(), "compozy.db")
			return target{dialect: migrations.SQLite, path: p, open: func(t *testing.T) *sql.DB { return openSQLite(t, p) }}
		},
		func(t *testing.T) target {
			dsn := testenv.PostgresDB(t)
			return target{dialect: migrations.Postgres, dsn: dsn, open: func(t *testing.T) *sql.DB { return openPostgres(t, dsn) }}
		},
	}
}

func forEachTarget(t *testing.T, fn func(t *testing.T, tg target)) {
	for i, mk := range targets(t) {
		name := []string{"sqlite", "postgres"}[i]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, mk(t))
		})
	}
}

func newMigrator(t *testing.T, tg target, db *sql.DB) *migrate.Migrator {
	t.Helper()
	m, err := migrate.New(db, tg.dialect, migrate.Options{Path: tg.path})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func resultVersions(rs []migrate.Result) []int64 {
	out := make([]int64, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Version)
	}
	return out
}

func tableExists(t *testing.T, tg target, db *sql.DB, name string) bool {
	t.Helper()
	q := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)`
	if tg.dialect == migrations.Postgres {
		q = `SELECT to_regclass($1) IS NOT NULL`
	}
	var ok bool
	if err := db.QueryRowContext(t.Context(), q, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestKnown(t *testing.T) {
	for _, d := range migrations.Dialects() {
		k, err := migrate.Known(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != knownCount || k[0].Version != vWorkflow || k[0].Name != "create_workflow_states" ||
			k[0].File != "20250603124835_create_workflow_states.sql" || k[len(k)-1].Version != vLatest {
			t.Fatalf("%s: Known = %+v", d, k)
		}
	}
	if _, err := migrate.Known("mysql"); err == nil {
		t.Fatal("Known(mysql) succeeded")
	}
}

func TestLifecycle(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		ctx := ctxFor(t)
		db := tg.open(t)
		m := newMigrator(t, tg, db)

		// Reads on a fresh database change nothing.
		v, err := m.Version(ctx)
		if err != nil || v != (migrate.Versions{Current: 0, Latest: vLatest}) {
			t.Fatalf("Version = %+v, %v", v, err)
		}
		st, err := m.Status(ctx)
		if err != nil || len(st) != knownCount {
			t.Fatalf("Status = %d entries, %v", len(st), err)
		}
		for _, s := range st {
			if s.State != migrate.StatePending || !s.AppliedAt.IsZero() {
				t.Fatalf("fresh status %+v", s)
			}
		}
		plan, err := m.Plan(ctx, 0)
		if err != nil || len(plan) != knownCount {
			t.Fatalf("Plan(all) = %d, %v", len(plan), err)
		}
		plan, err = m.Plan(ctx, vUsers)
		if err != nil || len(plan) != 3 || plan[2].Version != vUsers {
			t.Fatalf("Plan(%d) = %+v, %v", vUsers, plan, err)
		}
		if _, err := m.Plan(ctx, 42); err == nil {
			t.Fatal("Plan(unknown version) succeeded")
		}
		if tableExists(t, tg, db, migrate.VersionTable) {
			t.Fatal("a read created the version table")
		}
		if tg.path != "" {
			if _, err := os.Stat(tg.path + migrate.LockSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a read created the lock file: %v", err)
			}
		}

		// up --to, then the rest.
		res, err := m.UpTo(ctx, vUsers)
		if err != nil || len(res) != 3 {
			t.Fatalf("UpTo = %v, %v", resultVersions(res), err)
		}
		if res[0].File != "20250603124835_create_workflow_states.sql" || res[0].Direction != migrate.DirectionUp {
			t.Fatalf("result %+v", res[0])
		}
		c, err := m.Check(ctx)
		if err != nil || c.Current != vUsers || len(c.Pending) != knownCount-3 || c.UpToDate() {
			t.Fatalf("Check after UpTo = %+v, %v", c, err)
		}
		res, err = m.Up(ctx)
		if err != nil || len(res) != knownCount-3 || res[len(res)-1].Version != vLatest {
			t.Fatalf("Up = %v, %v", resultVersions(res), err)
		}
		res, err = m.Up(ctx)
		if err != nil || len(res) != 0 {
			t.Fatalf("second Up = %v, %v", resultVersions(res), err)
		}
		c, err = m.Check(ctx)
		if err != nil || !c.UpToDate() || c.Current != vLatest {
			t.Fatalf("Check after Up = %+v, %v", c, err)
		}
		st, err = m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.State != migrate.StateApplied || !recent(s.AppliedAt) {
				t.Fatalf("status after up: %+v", s)
			}
		}

		// down one, down --to, down to 0.
		plan, err = m.PlanDown(ctx, -1)
		if err != nil || len(plan) != 1 || plan[0].Version != vLatest {
			t.Fatalf("PlanDown(one) = %+v, %v", plan, err)
		}
		res, err = m.Down(ctx)
		if err != nil || len(res) != 1 || res[0].Version != vLatest || res[0].Direction != migrate.DirectionDown {
			t.Fatalf("Down = %+v, %v", res, err)
		}
		if v, _ := m.Version(ctx); v.Current != vPgvector {
			t.Fatalf("version after Down = %+v", v)
		}
		res, err = m.DownTo(ctx, vUsers)
		if err != nil || len(res) != 5 || res[0].Version != vPgvector || res[4].Version != vUsers+1 {
			t.Fatalf("DownTo = %v, %v", resultVersions(res), err)
		}
		if _, err := m.DownTo(ctx, 7); err == nil {
			t.Fatal("DownTo(unknown) succeeded")
		}
		res, err = m.DownTo(ctx, 0)
		if err != nil || len(res) != 3 {
			t.Fatalf("DownTo(0) = %v, %v", resultVersions(res), err)
		}
		res, err = m.Down(ctx)
		if err != nil || len(res) != 0 {
			t.Fatalf("Down on empty = %v, %v", res, err)
		}
		if tableExists(t, tg, db, "workflow_states") {
			t.Fatal("workflow_states left after DownTo(0)")
		}
		if v, _ := m.Version(ctx); v.Current != 0 {
			t.Fatalf("version after DownTo(0) = %+v", v)
		}
	})
}

func insertVersion(t *testing.T, db *sql.DB, v int64) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, v); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownVersions(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		ctx := ctxFor(t)
		db := tg.open(t)
		m := newMigrator(t, tg, db)
		if _, err := m.UpTo(ctx, vQueryIdx); err != nil {
			t.Fatal(err)
		}

		// A version from a feature branch of Compozy, older than our latest: reported, not newer.
		const branch = int64(20251015090000)
		insertVersion(t, db, branch)
		c, err := m.Check(ctx)
		if err != nil || len(c.Unknown) != 1 || c.Unknown[0] != branch || len(c.Newer) != 0 || c.UpToDate() {
			t.Fatalf("Check with a branch version = %+v, %v", c, err)
		}

		// A version from a newer Compozy.
		const newer = int64(20990101000000)
		insertVersion(t, db, newer)
		c, err = m.Check(ctx)
		if err != nil || len(c.Newer) != 1 || c.Newer[0] != newer || c.Current != newer {
			t.Fatalf("Check with a newer version = %+v, %v", c, err)
		}
		st, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := st[len(st)-1]
		if last.Version != newer || last.State != migrate.StateUnknown || last.AppliedAt.IsZero() {
			t.Fatalf("status of the newer version = %+v", last)
		}
		for name, run := range map[string]func() error{
			"Up":   func() error { _, err := m.Up(ctx); return err },
			"Plan": func() error { _, err := m.Plan(ctx, 0); return err },
			"Down": func() error { _, err := m.Down(ctx); return err },
		} {
			err := run()
			var ne *migrate.NewerError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), "20990101000000") {
				t.Fatalf("%s on a newer database = %v, want a NewerError naming the version", name, err)
			}
		}
		if v, _ := m.Version(ctx); v.Current != newer {
			t.Fatalf("Version = %+v", v)
		}
		// Nothing was applied by the refused Up.
		if tableExists(t, tg, db, "task_states") != true {
			t.Fatal("schema changed")
		}
		c, _ = m.Check(ctx)
		if len(c.Pending) != 2 {
			t.Fatalf("refused Up applied something: pending %+v", c.Pending)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = $1`, newer); err != nil {
			t.Fatal(err)
		}
		// The branch version sits above our pending 20251012060000: goose will not go out of order.
		_, err = m.Up(ctx)
		var ooo *migrate.OutOfOrderError
		if !errors.As(err, &ooo) {
			t.Fatalf("Up below a branch version = %v, want OutOfOrderError", err)
		}
		// Down of an unknown (not newer) version is refused with its number.
		_, err = m.Down(ctx)
		var uv *migrate.UnknownVersionError
		if !errors.As(err, &uv) || uv.Version != branch {
			t.Fatalf("Down of a branch version = %v", err)
		}
	})
}

func TestPartialFailureReportsApplied(t *testing.T) {
	fsys := fstest.MapFS{
		"1_one.sql":   {Data: []byte("-- +goose Up\nCREATE TABLE one (id INTEGER);\n-- +goose Down\nDROP TABLE one;\n")},
		"2_two.sql":   {Data: []byte("-- +goose Up\nCREATE TABLE two (id INTEGER);\n-- +goose Down\nDROP TABLE two;\n")},
		"3_three.sql": {Data: []byte("-- +goose Up\nCREATE TABLE one (id INTEGER);\n-- +goose Down\nSELECT 1;\n")},
		"4_four.sql":  {Data: []byte("-- +goose Up\nCREATE TABLE four (id INTEGER);\n-- +goose Down\nDROP TABLE four;\n")},
	}
	forEachTarget(t, func(t *testing.T, tg target) {
		ctx := ctxFor(t)
		db := tg.open(t)
		m, err := migrate.New(db, tg.dialect, migrate.Options{Path: tg.path, FS: fsys})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Up(ctx)
		var re *migrate.RunError
		if !errors.As(err, &re) {
			t.Fatalf("Up = %v, want a RunError", err)
		}
		if got := resultVersions(re.Applied); len(got) != 2 || got[0] != 1 || got[1] != 2 || len(res) != 2 {
			t.Fatalf("applied before the failure = %v (returned %v)", got, resultVersions(res))
		}
		if re.Failed.Version != 3 || re.Failed.File != "3_three.sql" || re.Failed.Err == nil || !strings.Contains(err.Error(), "3_three.sql") {
			t.Fatalf("failed = %+v, err %v", re.Failed, err)
		}
		if v, _ := m.Version(ctx); v.Current != 2 {
			t.Fatalf("version after the failure = %+v", v)
		}
	})
}

// TestConcurrentMigrators starts two migrators on the same database at once: both succeed, and
// every migration is applied exactly once. On a fresh database goose's version-table creation
// retries after a second, which hides a missing lock; so the second case starts from a database
// that already has the version table and one migration, where the two runs really race.
func TestConcurrentMigrators(t *testing.T) {
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh", true: "started"}[started], func(t *testing.T) {
			t.Parallel()
			concurrentMigrators(t, started)
		})
	}
}

func concurrentMigrators(t *testing.T, started bool) {
	forEachTarget(t, func(t *testing.T, tg target) {
		ctx := ctxFor(t)
		want := knownCount
		if started {
			if _, err := newMigrator(t, tg, tg.open(t)).UpTo(ctx, vWorkflow); err != nil {
				t.Fatal(err)
			}
			want--
		}
		const n = 2
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [n][]migrate.Result
			errs    [n]error
		)
		for i := range n {
			db := tg.open(t) // separate pools, as separate processes would have
			m := newMigrator(t, tg, db)
			wg.Go(func() {
				<-start
				results[i], errs[i] = m.Up(ctx)
			})
		}
		close(start)
		wg.Wait()
		total := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("migrator %d: %v", i, errs[i])
			}
			total += len(results[i])
		}
		if total != want {
			t.Fatalf("applied %d migrations in total (%v, %v), want %d", total, resultVersions(results[0]), resultVersions(results[1]), want)
		}
		assertAppliedOnce(t, tg.open(t))
	})
}

func assertAppliedOnce(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var v, c int64
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		if c != 1 {
			t.Errorf("version %d recorded %d times", v, c)
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != knownCount+1 { // + goose's version 0
		t.Errorf("goose_db_version has %d versions, want %d", seen, knownCount+1)
	}
}

// TestConcurrentProcesses runs two migrators in two processes (this test binary, re-executed)
// started together on the same database, fresh or started (see TestConcurrentMigrators).
func TestConcurrentProcesses(t *testing.T) {
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh", true: "started"}[started], func(t *testing.T) {
			t.Parallel()
			concurrentProcesses(t, started)
		})
	}
}

func concurrentProcesses(t *testing.T, started bool) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	forEachTarget(t, func(t *testing.T, tg target) {
		ctx := ctxFor(t)
		want := knownCount
		if started {
			db := tg.open(t)
			if _, err := newMigrator(t, tg, db).UpTo(ctx, vWorkflow); err != nil {
				t.Fatal(err)
			}
			db.Close()
			want--
		}
		startAt := time.Now().Add(500 * time.Millisecond).UnixNano()
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		for range 2 {
			cmd := exec.CommandContext(ctx, exe, "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "MIGRATE_HELPER=1", "MIGRATE_DIALECT="+tg.dialect,
				"MIGRATE_PATH="+tg.path, "MIGRATE_DSN="+tg.dsn, fmt.Sprintf("MIGRATE_START=%d", startAt))
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		total := 0
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("process %d: %v\n%s", i, err, outs[i])
			}
			var applied int
			if _, err := fmt.Sscanf(lastLine(outs[i].String(), "APPLIED "), "APPLIED %d", &applied); err != nil {
				t.Fatalf("process %d output: %v\n%s", i, err, outs[i])
			}
			total += applied
		}
		if total != want {
			t.Fatalf("the two processes applied %d migrations in total, want %d\n%s\n%s", total, want, outs[0], outs[1])
		}
		assertAppliedOnce(t, tg.open(t))
	})
}

func lastLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestHelperProcess is the other process of TestConcurrentProcesses; it does nothing otherwise.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("MIGRATE_HELPER") != "1" {
		t.Skip("helper process for TestConcurrentProcesses")
	}
	var startAt int64
	fmt.Sscanf(os.Getenv("MIGRATE_START"), "%d", &startAt)
	dialect, path := os.Getenv("MIGRATE_DIALECT"), os.Getenv("MIGRATE_PATH")
	var db *sql.DB
	if dialect == migrations.SQLite {
		db = openSQLite(t, path)
	} else {
		db = openPostgres(t, os.Getenv("MIGRATE_DSN"))
	}
	m, err := migrate.New(db, dialect, migrate.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Unix(0, startAt)))
	res, err := m.Up(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("APPLIED %d\n", len(res))
}

func TestSQLiteLockHonoursDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compozy.db")
	f, err := os.OpenFile(path+migrate.LockSuffix, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(openSQLite(t, path), migrations.SQLite, migrate.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = m.Up(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another migration is running") {
		t.Fatalf("Up while locked = %v", err)
	}
	if info, err := os.Stat(path + migrate.LockSuffix); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", info, err)
	}
}

func TestMemorySQLiteNeedsNoLock(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	m, err := migrate.New(db, migrations.SQLite, migrate.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := m.Up(t.Context()); err != nil || len(res) != knownCount {
		t.Fatalf("Up = %d, %v", len(res), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files created for :memory:: %v", entries)
	}
}

// TestInvalidIndexIsReportedAndRepaired leaves an INVALID idx_task_states_task_exec_id behind,
// as an interrupted CREATE INDEX CONCURRENTLY would; Check reports it and Up rebuilds it.
func TestInvalidIndexIsReportedAndRepaired(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	db := openPostgres(t, dsn)
	tg := target{dialect: migrations.Postgres}
	m := newMigrator(t, tg, db)
	ctx := ctxFor(t)
	if _, err := m.UpTo(ctx, vPgvector); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) VALUES ('w', 'wf', 'RUNNING')`,
		`INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id) VALUES ('task', 'RUNNING', 't1', 'a', 'w', 'wf'), ('task', 'RUNNING', 't2', 'a', 'w', 'wf')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// Fails on the duplicate status values and leaves the index INVALID.
	if _, err := db.ExecContext(ctx, `CREATE UNIQUE INDEX CONCURRENTLY idx_task_states_task_exec_id ON task_states (status)`); err == nil {
		t.Fatal("expected the unique index build to fail")
	}
	c, err := m.Check(ctx)
	if err != nil || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], "idx_task_states_task_exec_id is INVALID") {
		t.Fatalf("Check = %+v, %v", c, err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	c, err = m.Check(ctx)
	if err != nil || !c.UpToDate() {
		t.Fatalf("Check after Up = %+v, %v", c, err)
	}
	var def string
	if err := db.QueryRowContext(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_task_states_task_exec_id'`).Scan(&def); err != nil || !strings.Contains(def, "(task_exec_id)") {
		t.Fatalf("rebuilt index = %q, %v", def, err)
	}
}

// recent reports whether t is within ten minutes of now: a real applied_at, in the right zone.
func recent(t time.Time) bool {
	d := time.Since(t)
	return d > -10*time.Minute && d < 10*time.Minute
}

// TestAppliedAtInServerTimeZone runs against a database whose default time zone is not UTC:
// goose's tstamp has no time zone (it holds the session's wall-clock time), so reading it as
// UTC would be hours off.
func TestAppliedAtInServerTimeZone(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	ctx := ctxFor(t)
	admin := openPostgres(t, dsn)
	var name string
	if err := admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, `ALTER DATABASE "`+name+`" SET timezone = 'Asia/Kolkata'`); err != nil {
		t.Fatal(err)
	}
	tg := target{dialect: migrations.Postgres}
	db := openPostgres(t, dsn) // new sessions pick up the database's time zone
	if _, err := newMigrator(t, tg, db).UpTo(ctx, vWorkflow); err != nil {
		t.Fatal(err)
	}
	st, err := newMigrator(t, tg, db).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !recent(st[0].AppliedAt) {
		t.Errorf("applied_at = %v, want about now", st[0].AppliedAt)
	}
}

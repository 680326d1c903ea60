package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// Issue 13, "Schema drift", through the real binary: `migrate diff` and doctor's
// migrations.drift compare the live schema with the one the migrations make at the database's
// version. A fresh database and one made the way Compozy's own migrations make it show none; a
// dropped index is reported with its CREATE INDEX, which doctor --fix runs; an added column is
// reported as extra and never dropped; a rewritten trigger is reported with the SQL that
// replaces it. Reading (diff, doctor) changes no file.

// diffOut is the `migrate diff --json` document as a script reads it.
type diffOut struct {
	SchemaVersion   int           `json:"schema_version"`
	Driver          string        `json:"driver"`
	Target          string        `json:"target"`
	DatabaseVersion int64         `json:"database_version"`
	LatestVersion   int64         `json:"latest_version"`
	Pending         int           `json:"pending"`
	Drifted         bool          `json:"drifted"`
	Drift           []diffOutItem `json:"drift"`
}

type diffOutItem struct {
	migrate.Drift
	DoctorFixes bool `json:"doctor_fixes"`
}

func parseDiff(t *testing.T, r cliRun) diffOut {
	t.Helper()
	var d diffOut
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("migrate diff --json is not JSON: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	if d.SchemaVersion != 1 || d.Drift == nil {
		t.Fatalf("migrate diff --json: schema_version %d, drift %v:\n%s", d.SchemaVersion, d.Drift, r.out)
	}
	return d
}

// driftKinds is "kind object" of each difference, one a line.
func driftKinds(d diffOut) string {
	var lines []string
	for _, x := range d.Drift {
		lines = append(lines, string(x.Kind)+" "+x.Object)
	}
	return strings.Join(lines, "\n")
}

// find returns the difference about object.
func (d diffOut) find(t *testing.T, object string) diffOutItem {
	t.Helper()
	for _, x := range d.Drift {
		if x.Object == object {
			return x
		}
	}
	t.Fatalf("no drift of %s in:\n%s", object, driftKinds(d))
	return diffOutItem{}
}

// driftCheck runs `doctor --json --only migrations.drift` and returns the check's result.
func driftCheck(t *testing.T, run func(args ...string) cliRun, extra ...string) (doctor.Result, cliRun) {
	t.Helper()
	r := run(append([]string{"doctor", "--json", "--only", doctor.IDMigrationsDrift}, extra...)...)
	res, ok := parseDoctor(t, r).get(doctor.IDMigrationsDrift)
	if !ok {
		t.Fatalf("doctor ran no %s:\n%s\n%s", doctor.IDMigrationsDrift, r.out, r.errOut)
	}
	return res, r
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// changedTrigger is trg_task_states_updated_at rewritten: it fires on status only.
const changedTrigger = `CREATE TRIGGER trg_task_states_updated_at AFTER UPDATE OF status ON task_states
FOR EACH ROW BEGIN UPDATE task_states SET updated_at = datetime('now') WHERE task_exec_id = NEW.task_exec_id; END`

func TestMigrateDiffSQLite(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	data := filepath.Join(dir, "data")
	path := filepath.Join(data, "compozy.db")
	db := []string{"--db-driver", "sqlite", "--db-path", "./data/compozy.db"}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }

	// Nothing to compare: no file, then a file without migrations.
	r := run("migrate", "diff")
	wantCode(t, r, 2, "migrate diff (no file)")
	if !strings.Contains(r.errOut, "does not exist, so there is no schema to compare; run 'compozy migrate up' first") {
		t.Fatalf("no file:\n%s", r.errOut)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("migrate diff created the database: %v", err)
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	empty := openTestDB(t, "sqlite", path)
	execAll(t, empty, `CREATE TABLE notes (id INTEGER PRIMARY KEY)`)
	_ = empty.Close()
	r = run("migrate", "diff")
	wantCode(t, r, 2, "migrate diff (no migrations)")
	if !strings.Contains(r.errOut, "no migrations are applied to this database yet") {
		t.Fatalf("no migrations:\n%s", r.errOut)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}

	// Fresh: no drift.
	wantCode(t, run("migrate", "up"), 0, "migrate up")
	r = run("migrate", "diff")
	wantCode(t, r, 0, "migrate diff (fresh)")
	if !strings.Contains(r.out, "Compared with the schema this binary's migrations make at version "+latestVersion+".\nNo drift") {
		t.Fatalf("fresh:\n%s", r.out)
	}
	if d := parseDiff(t, run("migrate", "diff", "--json")); d.Drifted || len(d.Drift) != 0 || d.Driver != "sqlite" ||
		strconv.FormatInt(d.DatabaseVersion, 10) != latestVersion {
		t.Fatalf("fresh --json: %+v", d)
	}
	if res, r := driftCheck(t, run); res.Status != doctor.StatusPass {
		t.Fatalf("fresh doctor: %s %s\n%s", res.Status, res.Summary, r.out)
	}

	// Drift: rows (so --fix backs the file up), a dropped index, an added column, a rewritten
	// trigger.
	live := openTestDB(t, "sqlite", path)
	execAll(t, live,
		`INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin')`,
		`DROP INDEX idx_task_states_status`,
		`ALTER TABLE users ADD COLUMN nickname TEXT`,
		`DROP TRIGGER trg_task_states_updated_at`,
		changedTrigger)
	_ = live.Close()

	// Reading changes no file: not the database, not a -wal or -shm, not a backup.
	before := roSnapshot(t, data, dir)
	r = run("migrate", "diff")
	wantCode(t, r, 11, "migrate diff (drift)")
	for _, w := range []string{
		"3 differences:",
		"  missing index idx_task_states_status\n    want: CREATE INDEX idx_task_states_status ON task_states (status)\n    fix:  CREATE INDEX idx_task_states_status ON task_states (status);\n",
		"  extra column users.nickname\n    got:  nickname text\n    extra: left in place (compozy never drops it)\n",
		"  different trigger trg_task_states_updated_at\n",
		"    fix:  DROP TRIGGER IF EXISTS trg_task_states_updated_at;\n          CREATE TRIGGER trg_task_states_updated_at\n",
		"(to run by hand: compozy doctor --fix does not replace what is in place)",
		"To recreate the 1 missing index or trigger with the CREATE statement above (nothing is dropped): compozy doctor --fix",
	} {
		if !strings.Contains(r.out, w) {
			t.Errorf("migrate diff lacks %q:\n%s", w, r.out)
		}
	}
	d := parseDiff(t, run("migrate", "diff", "--json"))
	if got := driftKinds(d); got != "extra column users.nickname\nmissing index idx_task_states_status\ndifferent trigger trg_task_states_updated_at" || !d.Drifted {
		t.Fatalf("--json drift:\n%s", got)
	}
	trg := d.find(t, "trigger trg_task_states_updated_at")
	if !strings.Contains(trg.Got, "AFTER UPDATE OF status ON task_states") || !strings.Contains(trg.Want, "execution_type, usage, agent_id") {
		t.Errorf("trigger want/got: %+v", trg)
	}
	// Only the missing index is for doctor --fix: not the changed trigger, not the extra column.
	if !d.find(t, "index idx_task_states_status").DoctorFixes || trg.DoctorFixes || d.find(t, "column users.nickname").DoctorFixes ||
		d.find(t, "column users.nickname").Fix != "" {
		t.Errorf("doctor_fixes: %+v", d.Drift)
	}
	res, dr := driftCheck(t, run)
	if res.Status != doctor.StatusWarn || !res.Fixable ||
		!strings.Contains(res.Summary, "3 differences from the schema the migrations make at version "+latestVersion+" (1 missing, 1 different, 1 extra)") ||
		!strings.Contains(res.Detail, "missing index idx_task_states_status: CREATE INDEX idx_task_states_status ON task_states (status); (--fix recreates it)") ||
		!strings.Contains(res.Detail, "extra column users.nickname: nickname text (extra, left in place)") ||
		!strings.Contains(res.Detail, "different trigger trg_task_states_updated_at: not the migrations' definition (left in place") {
		t.Fatalf("doctor on drift: %s %s\n%s\n%s", res.Status, res.Summary, res.Detail, dr.out)
	}
	wantCode(t, run("doctor", "--only", doctor.IDMigrationsDrift), 0, "doctor (drift warns)")
	if d := roDiff(before, roSnapshot(t, data, dir)); d != "" {
		t.Fatalf("migrate diff or doctor changed files:\n%s", d)
	}

	// --fix recreates the index, backs the file up first, and drops nothing.
	r = run("doctor", "--fix", "--yes", "--only", doctor.IDMigrationsDrift)
	if !strings.Contains(r.out, "Fixed migrations.drift: recreate the missing indexes and triggers of sqlite "+path+" (CREATE INDEX, CREATE TRIGGER; nothing is dropped)") {
		t.Fatalf("doctor --fix:\n%s\n%s", r.out, r.errOut)
	}
	d = parseDiff(t, run("migrate", "diff", "--json"))
	if got := driftKinds(d); got != "extra column users.nickname\ndifferent trigger trg_task_states_updated_at" {
		t.Fatalf("after --fix:\n%s", got)
	}
	backups, _ := filepath.Glob(filepath.Join(data, "compozy-pre-migrate-v"+latestVersion+"-*.db"))
	if len(backups) != 1 {
		t.Errorf("--fix on a file with rows made %d backups, want 1: %v", len(backups), backups)
	}
	live = openTestDB(t, "sqlite", path)
	var n int
	if err := live.QueryRowContext(t.Context(), `SELECT count(*) FROM pragma_table_info('users') WHERE name = 'nickname'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the extra column is gone after --fix: %d %v", n, err)
	}
	if err := live.QueryRowContext(t.Context(), `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows after --fix: %d %v", n, err)
	}

	// The changed trigger's fix, run by hand, makes it the migrations' one again; dropping the
	// extra column by hand leaves no drift.
	execAll(t, live, d.find(t, "trigger trg_task_states_updated_at").Fix, `ALTER TABLE users DROP COLUMN nickname`)
	_ = live.Close()
	wantCode(t, run("migrate", "diff"), 0, "migrate diff (fixed by hand)")
}

func TestMigrateDiffPostgres(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	dsn := testenv.PostgresDB(t)
	db := []string{"--db-driver", "postgres", "--db-conn-string", dsn}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }

	r := run("migrate", "diff")
	wantCode(t, r, 2, "migrate diff (no migrations)")
	if !strings.Contains(r.errOut, "no migrations are applied to this database yet") {
		t.Fatalf("no migrations:\n%s", r.errOut)
	}

	wantCode(t, run("migrate", "up"), 0, "migrate up")
	wantCode(t, run("migrate", "diff"), 0, "migrate diff (fresh)")
	if res, r := driftCheck(t, run); res.Status != doctor.StatusPass {
		t.Fatalf("fresh doctor: %s %s\n%s", res.Status, res.Summary, r.out)
	}

	// PostgreSQL's migrations make no trigger (the repository keeps updated_at): a trigger
	// added there is extra; the one made by CREATE INDEX CONCURRENTLY counts like any other.
	live := openTestDB(t, "pgx", dsn)
	execAll(t, live,
		`DROP INDEX idx_task_states_task_exec_id`,
		`DROP INDEX idx_task_states_parent_state_output_not_null`,
		`ALTER TABLE users ADD COLUMN nickname text`,
		`CREATE FUNCTION touch_task() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$`,
		`CREATE TRIGGER trg_touch_task BEFORE UPDATE ON task_states FOR EACH ROW EXECUTE FUNCTION touch_task()`)
	r = run("migrate", "diff")
	wantCode(t, r, 11, "migrate diff (drift)")
	for _, w := range []string{
		"  missing index idx_task_states_parent_state_output_not_null\n",
		"    fix:  CREATE INDEX idx_task_states_parent_state_output_not_null ON task_states USING btree (parent_state_id) WHERE (output IS NOT NULL);\n",
		"    fix:  CREATE INDEX idx_task_states_task_exec_id ON task_states USING btree (task_exec_id);\n",
		"  extra column users.nickname\n",
		"  extra trigger trg_touch_task\n",
	} {
		if !strings.Contains(r.out, w) {
			t.Errorf("migrate diff lacks %q:\n%s", w, r.out)
		}
	}
	res, dr := driftCheck(t, run)
	if res.Status != doctor.StatusWarn || !res.Fixable || !strings.Contains(res.Summary, "(2 missing, 2 extra)") ||
		!strings.Contains(res.Detail, "extra trigger trg_touch_task: CREATE TRIGGER trg_touch_task BEFORE UPDATE ON task_states FOR EACH ROW EXECUTE FUNCTION touch_task() (extra, left in place)") {
		t.Fatalf("doctor on drift: %s %s\n%s\n%s", res.Status, res.Summary, res.Detail, dr.out)
	}
	var scratch int
	if err := live.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'compozy_drift_%'`).Scan(&scratch); err != nil || scratch != 0 {
		t.Fatalf("scratch schemas left behind: %d %v", scratch, err)
	}

	r = run("doctor", "--fix", "--yes", "--only", doctor.IDMigrationsDrift)
	if !strings.Contains(r.out, "Fixed migrations.drift") {
		t.Fatalf("doctor --fix:\n%s\n%s", r.out, r.errOut)
	}
	d := parseDiff(t, run("migrate", "diff", "--json"))
	if got := driftKinds(d); got != "extra column users.nickname\nextra trigger trg_touch_task" {
		t.Fatalf("after --fix:\n%s", got)
	}
	var n int
	if err := live.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_trigger WHERE tgname = 'trg_touch_task'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("--fix dropped the extra trigger: %d %v", n, err)
	}
	execAll(t, live, `DROP TRIGGER trg_touch_task ON task_states`, `ALTER TABLE users DROP COLUMN nickname`)
	wantCode(t, run("migrate", "diff"), 0, "migrate diff (clean again)")
}

// TestMigrateDiffPostgresNoScratch: a role that may read the tables but not create a schema in
// the database cannot have the expected schema built; migrate diff says so and exits 3 (nothing
// compared), and doctor skips migrations.drift saying why, instead of failing.
func TestMigrateDiffPostgresNoScratch(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	dsn := testenv.PostgresDB(t)
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "postgres", "--db-conn-string", dsn), 0, "migrate up")
	admin := openTestDB(t, "pgx", dsn)
	role := "compozy_reader_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if _, err := admin.ExecContext(t.Context(), `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Skipf("cannot create a role with the test's admin DSN (needs CREATEROLE): %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `DROP OWNED BY `+role)
		_, _ = admin.ExecContext(context.Background(), `DROP ROLE `+role)
	})
	execAll(t, admin, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO `+role, `REVOKE CREATE ON DATABASE `+pgDatabase(t, dsn)+` FROM PUBLIC`)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	run := func(args ...string) cliRun {
		return binRun(t, bin, dir, nil, append(args, "--db-driver", "postgres", "--db-conn-string", u.String())...)
	}
	r := run("migrate", "diff")
	wantCode(t, r, 3, "migrate diff (no CREATE on the database)")
	if !strings.Contains(r.errOut, "nothing was compared") || !strings.Contains(r.errOut, "cannot create a scratch schema") {
		t.Fatalf("no scratch schema:\n%s", r.errOut)
	}
	res, dr := driftCheck(t, run)
	if res.Status != doctor.StatusSkip || !strings.Contains(res.Summary, "cannot create a scratch schema") {
		t.Fatalf("doctor: %s %s\n%s", res.Status, res.Summary, dr.out)
	}
}

// pgDatabase is the database name of a PostgreSQL URL.
func pgDatabase(t *testing.T, dsn string) string {
	t.Helper()
	_, _, _, name := pgParts(t, dsn)
	return name
}

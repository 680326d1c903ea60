package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

func sameFolder(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("%s changed the folder:\nbefore %v\nafter  %v", what, before, after)
	}
}

// filesLike lists the names in dir that match re.
func filesLike(t *testing.T, dir, re string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if regexp.MustCompile(re).MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// seedSQLite adds users, API keys and workflows with tasks to a migrated database.
func seedSQLite(t *testing.T, path string, workflows int) {
	t.Helper()
	execSQLite(t, path, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin'), ('u2', 'b@example.com', 'user')`)
	execSQLite(t, path, `INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix, created_at) VALUES
		('k1', 'u1', x'01', x'0a', 'cpzy_1', '2026-01-01T00:00:00Z'), ('k2', 'u2', x'02', x'0b', 'cpzy_2', '2026-01-01T00:00:00Z')`)
	execSQLite(t, path, fmt.Sprintf(`INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, created_at, updated_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		SELECT 'wf-' || i, 'w', 'RUNNING', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n`, workflows))
}

func sqliteCount(t *testing.T, path, table string) int {
	t.Helper()
	db := openTestDB(t, "sqlite", path)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestMigrateDownGuard: a revert that drops tables holding rows lists them with their counts;
// without a terminal it is refused (exit 2) unless --yes and nothing changes, not even a
// backup; --dry-run shows the same list; on a terminal it asks, and "n" changes nothing. A
// revert that drops no data does not ask. Every run that changes the schema of a file with rows
// first writes a backup next to it, which holds every row.
func TestMigrateDownGuard(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "compozy.db")
	args := []string{"--db-driver", "sqlite", "--db-path", db}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "up")
	seedSQLite(t, db, 50)
	data := filepath.Dir(db)

	before := treeState(t, data)
	r := binRun(t, bin, dir, nil, append([]string{"migrate", "down", "--to", "0"}, args...)...)
	wantCode(t, r, ExitUsage, "down --to 0 without a terminal")
	for _, want := range []string{"api_keys: 2 rows", "users: 2 rows", "workflow_states: 50 rows", "This drops data:"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the refusal does not list %q:\n%s", want, r.out)
		}
	}
	if !strings.Contains(r.errOut, "--yes") || !strings.Contains(r.errOut, "nothing was changed") {
		t.Errorf("the refusal does not say what to do:\n%s", r.errOut)
	}
	sameFolder(t, "a refused down", before, treeState(t, data))

	r = binRun(t, bin, dir, nil, append([]string{"migrate", "down", "--to", "0", "--dry-run"}, args...)...)
	wantCode(t, r, 0, "down --to 0 --dry-run")
	if !strings.Contains(r.out, "api_keys: 2 rows") || !strings.Contains(r.out, "nothing was written") {
		t.Errorf("dry run:\n%s", r.out)
	}
	sameFolder(t, "down --dry-run", before, treeState(t, data))

	// On a terminal: the question, answered no.
	s := startPTY(t, dir, bin, ptyOpts{}, append([]string{"migrate", "down", "--to", "0"}, args...)...)
	s.waitFor("the question", func(sc string) bool { return strings.Contains(sc, "Revert and drop this data? [y/N]") })
	s.press("n\r")
	s.waitFor("the answer", func(sc string) bool { return strings.Contains(sc, "Nothing was changed.") })
	_ = s.cmd.Wait()
	sameFolder(t, "a down answered no", before, treeState(t, data))

	// The latest migration drops no data on SQLite: no question, but a backup first.
	r = binRun(t, bin, dir, nil, append([]string{"migrate", "down"}, args...)...)
	wantCode(t, r, 0, "down (drops an index only)")
	if strings.Contains(r.out, "This drops data") {
		t.Errorf("a down that drops no data asked:\n%s", r.out)
	}
	backups := filesLike(t, data, `^compozy-pre-migrate-v\d{14}-\d{8}T\d{6}Z(-\d+)?\.db$`)
	if len(backups) != 1 || !strings.Contains(r.out, "Backup: "+filepath.Join(data, backups[0])) || !strings.Contains(r.out, "To restore it: stop Compozy") {
		t.Fatalf("backup %v; output:\n%s", backups, r.out)
	}
	b := filepath.Join(data, backups[0])
	if fi, _ := os.Stat(b); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o", fi.Mode().Perm())
	}
	if n := sqliteCount(t, b, "workflow_states"); n != 50 {
		t.Errorf("the backup holds %d workflows, want 50", n)
	}

	// --yes: reverted, after a backup that keeps every row.
	r = binRun(t, bin, dir, nil, append([]string{"migrate", "down", "--to", "0", "--yes"}, args...)...)
	wantCode(t, r, 0, "down --to 0 --yes")
	if !strings.Contains(r.out, "api_keys: 2 rows") || !strings.Contains(r.out, "Reverted 8 migrations") {
		t.Errorf("down --yes:\n%s", r.out)
	}
	backups = filesLike(t, data, `^compozy-pre-migrate-`)
	if len(backups) != 2 {
		t.Fatalf("backups %v", backups)
	}
	newest := ""
	for _, n := range backups {
		if strings.Contains(r.out, filepath.Join(data, n)) {
			newest = n
		}
	}
	if newest == "" {
		t.Fatalf("the output names none of %v:\n%s", backups, r.out)
	}
	if n := sqliteCount(t, filepath.Join(data, newest), "api_keys"); n != 2 {
		t.Errorf("the backup before the revert holds %d API keys, want 2", n)
	}
}

// TestMigrateBackupKeepsNewestThree: migrate up and down back up a file with rows each time;
// the newest three backups stay, older ones go; --no-backup writes none; a database without
// rows gets none.
func TestMigrateBackupKeepsNewestThree(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "compozy.db")
	args := []string{"--db-driver", "sqlite", "--db-path", db}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "up")
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "down"}, args...)...), 0, "down")
	if got := filesLike(t, dir, `pre-migrate`); len(got) != 0 {
		t.Fatalf("an empty database was backed up: %v", got)
	}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "up")
	seedSQLite(t, db, 5)
	for i := range 3 {
		wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "down"}, args...)...), 0, fmt.Sprint("down ", i))
		wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, fmt.Sprint("up ", i))
	}
	if got := filesLike(t, dir, `^compozy-pre-migrate-`); len(got) != 3 {
		t.Fatalf("after 6 schema changes: %v, want the newest 3", got)
	}
	r := binRun(t, bin, dir, nil, append([]string{"migrate", "down", "--no-backup"}, args...)...)
	wantCode(t, r, 0, "down --no-backup")
	if strings.Contains(r.out, "Backup:") || len(filesLike(t, dir, `^compozy-pre-migrate-`)) != 3 {
		t.Errorf("--no-backup backed up:\n%s", r.out)
	}
	if n := sqliteCount(t, db, "workflow_states"); n != 5 {
		t.Errorf("%d workflows left, want 5", n)
	}
}

// TestMigrateDownPostgresNamesPgDump: on PostgreSQL a revert that drops data prints the pg_dump
// command to run first, without the password, and is refused without a terminal.
func TestMigrateDownPostgresNamesPgDump(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	dir := t.TempDir()
	const secret = "Pg-S3cret-in-env"
	env := []string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + dsn, "COMPOZY_DB_PASSWORD=" + secret}
	wantCode(t, binRun(t, bin, dir, env, "migrate", "up"), 0, "up")
	adminExec(t, dsn, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin')`)
	r := binRun(t, bin, dir, env, "migrate", "down", "--to", "0")
	wantCode(t, r, ExitUsage, "down --to 0 without --yes")
	if !strings.Contains(r.out, "users: 1 row") || !regexp.MustCompile(`PGPASSWORD='<password>' pg_dump --format=custom --no-password --file=\S+\.dump`).MatchString(r.out) {
		t.Errorf("the refusal does not show the data and the pg_dump command:\n%s", r.out)
	}
	if strings.Contains(r.out+r.errOut, secret) {
		t.Error("the password leaked")
	}
	var n int
	if err := openTestDB(t, "pgx", dsn).QueryRowContext(t.Context(), "SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Fatalf("users after the refusal: %d, %v", n, err)
	}
}

// TestDoctorCopyIncomplete: a database that carries the mark of an unfinished db copy fails
// storage.copy_incomplete (exit 1), naming the source and the fix.
func TestDoctorCopyIncomplete(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	execSQLite(t, db, `CREATE TABLE compozy_db_copy_incomplete (source TEXT NOT NULL, started_at TEXT NOT NULL);
		INSERT INTO compozy_db_copy_incomplete VALUES ('postgres://app:[redacted]@db:5432/compozy', '2026-12-01T10:00:00Z')`)
	r := binRun(t, buildCompozy(t), dir, nil, "doctor", "--json")
	d := parseDoctor(t, r)
	c := expectCheck(t, d, doctor.IDStorageCopyIncomplete, doctor.StatusFail, `did not finish \(from postgres://app:\[redacted\]@db:5432/compozy, started 2026-12-01T10:00:00Z\)`)
	if len(c.Fix.Commands) == 0 || !strings.Contains(c.Fix.Commands[0], "--force") {
		t.Errorf("fix: %+v", c.Fix)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	execSQLite(t, db, `DROP TABLE compozy_db_copy_incomplete`)
	d = parseDoctor(t, binRun(t, buildCompozy(t), dir, nil, "doctor", "--json"))
	expectCheck(t, d, doctor.IDStorageCopyIncomplete, doctor.StatusPass, "")
}

// TestDoctorFixReportsOneStep: a fix that fails says its step once ("migrate up: ..."), not
// "migrate up: migrate up:".
func TestDoctorFixReportsOneStep(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "  auto_migrate: false\n")
	newSQLiteDB(t, db, "WAL", 20250603124915)
	// A view named users: create_users skips CREATE TABLE IF NOT EXISTS and fails on its index.
	execSQLite(t, db, `CREATE VIEW users AS SELECT 1 AS id`)
	r := binRun(t, buildCompozy(t), dir, nil, "doctor", "--fix", "--yes")
	if !strings.Contains(r.out, "FAILED") || strings.Contains(r.out, "migrate up: migrate up:") {
		t.Errorf("doctor --fix output:\n%s", r.out)
	}
}

// TestInitUpdateKeepsTheDatabaseWithData: `init --update --yes` whose answers would move the
// database away from one that holds Compozy data keeps the current database: section (and says
// so); with --db-path it switches and names the db copy command; either way the data is where
// it was.
func TestInitUpdateKeepsTheDatabaseWithData(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "compozy.yaml"), "# mine\ndatabase:\n  driver: sqlite\n  path: ./prod.db\n")
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up"), 0, "up")
	prod := filepath.Join(dir, "prod.db")
	seedSQLite(t, prod, 2000)

	r := binRun(t, bin, dir, nil, "init", "--update", "--use-case", "dev", "--yes")
	wantCode(t, r, 0, "init --update --use-case dev --yes")
	cfg := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if !strings.Contains(cfg, "path: ./prod.db") || strings.Contains(cfg, "data/compozy.db") {
		t.Errorf("the database was replaced:\n%s", cfg)
	}
	if !strings.Contains(r.out, "holds Compozy data") || !strings.Contains(r.out, "workflow_states 2000") || !strings.Contains(r.out, "Keeping the current database") {
		t.Errorf("init did not say what it kept:\n%s", r.out)
	}
	if n := sqliteCount(t, prod, "workflow_states"); n != 2000 {
		t.Fatalf("%d workflows left", n)
	}

	r = binRun(t, bin, dir, nil, "init", "--update", "--use-case", "dev", "--db-path", "./next.db", "--yes")
	wantCode(t, r, 0, "init --update --db-path ./next.db --yes")
	if cfg := readFile(t, filepath.Join(dir, "compozy.yaml")); !strings.Contains(cfg, "./next.db") {
		t.Errorf("--db-path did not switch:\n%s", cfg)
	}
	if !strings.Contains(r.out, "compozy db copy --from "+prod) {
		t.Errorf("the switch does not name the copy:\n%s", r.out)
	}
	if n := sqliteCount(t, prod, "workflow_states"); n != 2000 {
		t.Fatalf("%d workflows left", n)
	}
}

// TestInitUpdateSwitchAndCopy: in the accessible wizard, the data question comes before
// anything is written; "switch and copy" writes the new database and copies every row into it,
// verified, and the old database keeps its rows.
func TestInitUpdateSwitchAndCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./prod.db\n")
	wantCode(t, runCLI(t, dir, nil, "migrate", "up"), 0, "up")
	prod := filepath.Join(dir, "prod.db")
	seedSQLite(t, prod, 300)
	// The data question: 2 (switch and copy); write: yes; run migrate and doctor: no.
	r := runCLIWith(t, dir, cliIn{stdin: "2\ny\nn\n"}, "init", "--update", "--accessible", "--db-driver", "sqlite", "--db-path", "./new.db", "--vector-provider", "filesystem")
	wantCode(t, r, 0, "init --update --accessible")
	for _, want := range []string{"Keep the current database", "Switch, and copy the data", "✓ Copied 304 rows; every table verified."} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if n := sqliteCount(t, filepath.Join(dir, "new.db"), "workflow_states"); n != 300 {
		t.Errorf("new.db holds %d workflows, want 300", n)
	}
	if n := sqliteCount(t, prod, "workflow_states"); n != 300 {
		t.Errorf("prod.db holds %d workflows, want 300", n)
	}
}

// TestMigrateDownRechecksUnderTheLock: two `migrate down` started together on PostgreSQL plan
// the same revert (an index only, no question); the second finds, under the lock, that the
// database changed and would now drop a column that holds values: it changes nothing. Rounds
// repeat the race; api_keys.fingerprint and its values survive every one.
func TestMigrateDownRechecksUnderTheLock(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	for round := range 3 {
		dsn := testenv.PostgresDB(t)
		env := []string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + dsn}
		dir := t.TempDir()
		wantCode(t, binRun(t, bin, dir, env, "migrate", "up", "--to", "20250712120000"), 0, "up --to")
		adminExec(t, dsn, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin');
			INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix) VALUES ('k1', 'u1', '\x01', '\x0a', 'p1'), ('k2', 'u1', '\x02', '\x0b', 'p2')`)
		results := make(chan cliRun, 2)
		for range 2 {
			go func() { results <- binRun(t, bin, dir, env, "migrate", "down") }()
		}
		a, b := <-results, <-results
		var n int
		if err := openTestDB(t, "pgx", dsn).QueryRowContext(t.Context(), "SELECT count(fingerprint) FROM api_keys").Scan(&n); err != nil || n != 2 {
			t.Fatalf("round %d: api_keys.fingerprint after two downs: %d values, %v\nfirst (exit %d):\n%s%s\nsecond (exit %d):\n%s%s",
				round, n, err, a.code, a.out, a.errOut, b.code, b.out, b.errOut)
		}
		if a.code == 0 && b.code == 0 {
			t.Fatalf("round %d: both downs succeeded", round)
		}
	}
}

// TestStillAsShown: a down whose plan under the lock differs from the one shown is refused, with
// --yes too; data that grew after it was listed is refused unless --yes.
func TestStillAsShown(t *testing.T) {
	t.Parallel()
	s := &migrateSession{}
	m1, m2 := migrate.Migration{Version: 1, File: "1_a.sql"}, migrate.Migration{Version: 2, File: "2_b.sql"}
	shown := migratePlan{plan: []migrate.Migration{m2}, losses: []migrate.Loss{{Table: "users", Rows: 1}}}
	if err := s.stillAsShown(migrateRun{}, shown, []migrate.Migration{m2}, []migrate.Loss{{Table: "users", Rows: 1}}); err != nil {
		t.Errorf("the same plan and data: %v", err)
	}
	if err := s.stillAsShown(migrateRun{yes: true}, shown, []migrate.Migration{m1}, nil); err == nil {
		t.Error("another plan was accepted with --yes")
	}
	more := []migrate.Loss{{Table: "users", Rows: 501}}
	if err := s.stillAsShown(migrateRun{}, shown, []migrate.Migration{m2}, more); err == nil || !strings.Contains(err.Error(), "users: 501 rows") {
		t.Errorf("more rows than confirmed: %v", err)
	}
	if err := s.stillAsShown(migrateRun{yes: true}, shown, []migrate.Migration{m2}, more); err != nil {
		t.Errorf("--yes with more rows: %v", err)
	}
}

// TestInitUpdateKeepsAnUnreadableDatabase: a database that cannot be read now (a hot journal
// left by a crashed writer) may hold data; init --update --yes keeps it instead of replacing
// it, and says why.
func TestInitUpdateKeepsAnUnreadableDatabase(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	prod := filepath.Join(dir, "prod.db")
	newSQLiteDB(t, prod, "DELETE", 0)
	seedSQLite(t, prod, 20)
	crashROHelper(t, prod, "crash-rollback")
	if !sqlitefile.JournalHasTransaction(prod) {
		t.Fatal("no hot journal")
	}
	writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./prod.db\n")
	// The connection test of the kept database fails (it cannot be read): nothing is written.
	r := binRun(t, bin, dir, nil, "init", "--update", "--use-case", "dev", "--yes")
	wantCode(t, r, ExitFailed, "init --update --yes")
	if cfg := readFile(t, filepath.Join(dir, "compozy.yaml")); cfg != "database:\n  driver: sqlite\n  path: ./prod.db\n" {
		t.Errorf("a failed init changed the file:\n%s", cfg)
	}
	r = binRun(t, bin, dir, nil, "init", "--update", "--use-case", "dev", "--yes", "--skip-test")
	wantCode(t, r, 0, "init --update --yes --skip-test")
	if cfg := readFile(t, filepath.Join(dir, "compozy.yaml")); !strings.Contains(cfg, "path: ./prod.db") {
		t.Errorf("the unreadable database was replaced:\n%s", cfg)
	}
	if !strings.Contains(r.out, "cannot read now") || !strings.Contains(r.out, "Keeping the current database") {
		t.Errorf("output:\n%s", r.out)
	}
}

// TestDotDotAfterALinkInThePath: --db-path link/../c.db names the c.db beside the link's
// target, as the shell reads it, for every command (the config used to clean it to ./c.db).
func TestDotDotAfterALinkInThePath(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	o := t.TempDir()
	if err := os.Mkdir(filepath.Join(o, "deep"), 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(o, "c.db")
	wantCode(t, binRun(t, bin, o, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", db), 0, "up")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(o, "deep"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	args := []string{"--db-driver", "sqlite", "--db-path", "link/../c.db"}
	r := binRun(t, bin, dir, nil, append([]string{"migrate", "status", "--check"}, args...)...)
	wantCode(t, r, 0, "status --check through link/..")
	r = binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...)
	wantCode(t, r, 0, "up through link/..")
	if !strings.Contains(r.out, "Target: sqlite "+db) {
		t.Errorf("up used another file:\n%s", r.out)
	}
	if _, err := os.Stat(filepath.Join(dir, "c.db")); err == nil {
		t.Error("a new database was created beside the link")
	}
}

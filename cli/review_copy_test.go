package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// copyPair is a migrated SQLite source with 3 workflows (and 2 users, 2 API keys) and a
// migrated SQLite target, in one folder.
func copyPair(t *testing.T, bin string, targetWorkflows int) (dir, src, dst string) {
	t.Helper()
	dir = t.TempDir()
	src, dst = filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	for _, p := range []string{src, dst} {
		wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", p), 0, "migrate up "+p)
	}
	seedSQLite(t, src, 3)
	if targetWorkflows > 0 {
		seedSQLite(t, dst, targetWorkflows)
	}
	return dir, src, dst
}

// TestReviewCopyForceSQLite: db copy --force into a SQLite target that holds rows lists them
// per table, read without changing a file; without a terminal it needs --yes (exit 2, the
// folder unchanged), without --force it is refused (exit 1, unchanged); with --yes it first
// writes <stem>-pre-copy-<UTC time>.db beside the target (0600, every row), prints it and how to
// restore it (which works), and keeps the newest three.
func TestReviewCopyForceSQLite(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, src, dst := copyPair(t, bin, 5004)
	before := treeState(t, dir)

	r := binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", dst, "--force")
	wantCode(t, r, ExitUsage, "copy --force without --yes and no terminal")
	for _, want := range []string{"workflow_states: 5004 rows", "users: 2 rows", "api_keys: 2 rows", "A backup of it is written next to it"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the list lacks %q:\n%s", want, r.out)
		}
	}
	if !strings.Contains(r.errOut, "would replace the 5008 rows the target sqlite "+dst+" holds (workflow_states: 5004 rows, users: 2 rows, api_keys: 2 rows); nothing was changed: pass --yes") {
		t.Errorf("the refusal does not name the count:\n%s", r.errOut)
	}
	sameFolder(t, "a refused copy --force", before, treeState(t, dir))

	r = binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", dst, "--yes")
	wantCode(t, r, ExitFailed, "copy into a target with rows without --force")
	if !strings.Contains(r.errOut, "already holds rows (api_keys 2, users 2, workflow_states 5004)") {
		t.Errorf("refusal:\n%s", r.errOut)
	}
	sameFolder(t, "a refused copy without --force", before, treeState(t, dir))

	r = binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", dst, "--force", "--yes")
	wantCode(t, r, 0, "copy --force --yes")
	m := regexp.MustCompile(`(?m)^Backup: (\S+) \(5008 rows, .*mode 0600\)\n  To restore it: (.+)$`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no backup line:\n%s", r.out)
	}
	backupPath, restore := m[1], m[2]
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Join(dir, "dst-pre-copy-")) + `\d{8}T\d{6}Z\.db$`).MatchString(backupPath) {
		t.Errorf("backup name %s", backupPath)
	}
	if st, err := os.Stat(backupPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup %s: %v", backupPath, err)
	}
	if n := sqliteCount(t, backupPath, "workflow_states"); n != 5004 {
		t.Errorf("the backup holds %d workflows, want 5004", n)
	}
	if n := sqliteCount(t, dst, "workflow_states"); n != 3 {
		t.Errorf("the target holds %d workflows after the copy, want 3", n)
	}
	// The restore hint works as printed.
	restoreCmd := strings.TrimPrefix(restore, "stop Compozy, then: ")
	if out, err := exec.Command("sh", "-c", restoreCmd).CombinedOutput(); err != nil {
		t.Fatalf("restore %q: %v\n%s", restoreCmd, err, out)
	}
	if n := sqliteCount(t, dst, "workflow_states"); n != 5004 {
		t.Errorf("after the restore the target holds %d workflows, want 5004", n)
	}

	// Three more copies --force: the newest three backups stay.
	var last cliRun
	for range 3 {
		last = binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", dst, "--force", "--yes", "--json")
		wantCode(t, last, 0, "copy --force --yes --json")
	}
	var doc struct {
		Backup string `json:"backup"`
		OK     bool   `json:"ok"`
	}
	if err := json.Unmarshal([]byte(last.out), &doc); err != nil || !doc.OK || !strings.HasPrefix(doc.Backup, filepath.Join(dir, "dst-pre-copy-")) {
		t.Errorf("--json: %v %+v\n%s", err, doc, last.out)
	}
	backups := filesLike(t, dir, `^dst-pre-copy-.*\.db$`)
	if len(backups) != 3 || !strings.Contains(last.errOut, "Removed the oldest backup") {
		t.Errorf("backups after four copies: %v\n%s", backups, last.errOut)
	}
	if !slicesContain(backups, filepath.Base(doc.Backup)) {
		t.Errorf("the newest backup %s was removed: %v", doc.Backup, backups)
	}
}

func slicesContain(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestReviewCopyForceTerminal: on a terminal the question names the rows --force replaces; "n"
// changes nothing, "y" backs up and copies.
func TestReviewCopyForceTerminal(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, src, dst := copyPair(t, bin, 40)
	before := treeState(t, dir)
	question := "Replace the 44 rows the target sqlite " + dst + " holds (workflow_states: 40 rows, users: 2 rows, api_keys: 2 rows) with a copy of the source? [y/N]"
	flat := func(sc string) string { return strings.ReplaceAll(sc, "\n", "") }

	s := startPTY(t, dir, bin, ptyOpts{cols: 400, rows: 50}, "db", "copy", "--from", src, "--to", dst, "--force")
	s.waitFor("the question", func(sc string) bool { return strings.Contains(flat(sc), question) })
	s.press("n\r")
	if code := s.exit(); code == 0 {
		t.Errorf("answer n: exit 0\n%s", s.screen())
	}
	sameFolder(t, "a copy answered n", before, treeState(t, dir))

	s = startPTY(t, dir, bin, ptyOpts{cols: 400, rows: 50}, "db", "copy", "--from", src, "--to", dst, "--force")
	s.waitFor("the question", func(sc string) bool { return strings.Contains(flat(sc), question) })
	s.press("y\r")
	if code := s.exit(); code != 0 {
		t.Fatalf("answer y: exit %d\n%s", code, s.screen())
	}
	if len(filesLike(t, dir, `^dst-pre-copy-.*\.db$`)) != 1 || sqliteCount(t, dst, "workflow_states") != 3 {
		t.Errorf("after y: backups %v, %d workflows\n%s", filesLike(t, dir, `^dst-pre-copy-`), sqliteCount(t, dst, "workflow_states"), s.screen())
	}
}

// TestReviewCopyForcePostgres: a PostgreSQL target with rows is listed, the pg_dump command to
// run first is printed (no password), --force without --yes is refused without a terminal and
// changes nothing; with --yes the rows are replaced.
func TestReviewCopyForcePostgres(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, src, _ := copyPair(t, bin, 0)
	pg := testenv.PostgresDB(t)
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-conn-string", pg), 0, "migrate up postgres")
	adminExec(t, pg, `INSERT INTO users (id, email, role) VALUES ('p1', 'p1@example.com', 'admin'), ('p2', 'p2@example.com', 'user'), ('p3', 'p3@example.com', 'user')`)
	adminExec(t, pg, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) SELECT 'pg-' || i, 'w', 'RUNNING' FROM generate_series(1, 7) i`)
	const secret = "Copy-S3cret"
	env := []string{"PGPASSWORD=" + secret} // trust auth: accepted and ignored; must never show

	r := binRun(t, bin, dir, env, "db", "copy", "--from", src, "--to", pg, "--force")
	wantCode(t, r, ExitUsage, "copy --force to PostgreSQL without --yes")
	for _, want := range []string{"workflow_states: 7 rows", "users: 3 rows", "Back it up first (pg_dump"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if !regexp.MustCompile(`(?m)^  PGHOST=\S+ PGPORT=\S+ .*PGPASSWORD='<password>' pg_dump --format=custom --no-password --file=\S+\.dump$`).MatchString(r.out) {
		t.Errorf("no pg_dump command:\n%s", r.out)
	}
	if strings.Contains(r.out+r.errOut, secret) {
		t.Error("the password leaked")
	}
	var users int
	db := openTestDB(t, "pgx", pg)
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM users").Scan(&users); err != nil || users != 3 {
		t.Fatalf("users after the refusal: %d, %v", users, err)
	}
	r = binRun(t, bin, dir, env, "db", "copy", "--from", src, "--to", pg, "--force", "--yes")
	wantCode(t, r, 0, "copy --force --yes to PostgreSQL")
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM users").Scan(&users); err != nil || users != 2 {
		t.Fatalf("users after the copy: %d, %v", users, err)
	}
}

// copyFix runs doctor on dir and returns the copy_incomplete result, which must fail.
func copyFix(t *testing.T, bin, dir string, env []string) doctor.Result {
	t.Helper()
	r := binRun(t, bin, dir, env, "doctor", "--json", "--only", doctor.IDStorageCopyIncomplete)
	c := expectCheck(t, parseDoctor(t, r), doctor.IDStorageCopyIncomplete, doctor.StatusFail, "did not finish")
	if len(c.Fix.Commands) != 1 {
		t.Fatalf("fix: %+v", c.Fix)
	}
	return c
}

// runFix runs the doctor's command (compozy replaced by the binary; --yes as there is no
// terminal to confirm on) in dir.
func runFix(t *testing.T, bin, dir, command string, env []string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", strings.Replace(command, "compozy ", bin+" ", 1)+" --yes")
	cmd.Dir, cmd.Env = dir, cleanEnv(env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the doctor's fix %q failed: %v\n%s", command, err, out)
	}
	if !strings.Contains(string(out), "every table matches") {
		t.Errorf("the fix did not copy:\n%s", out)
	}
}

// TestReviewDoctorCopyIncompleteSQLite: a copy into a SQLite file (in a folder whose name has a
// space) stops half way, leaving the mark; doctor's fix names the real source and target paths
// (no "sqlite " prefix, no SOURCE), and run as printed it completes the copy into the same file;
// doctor then passes.
func TestReviewDoctorCopyIncompleteSQLite(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	dst := filepath.Join(dir, "t dir", "t.db")
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", src), 0, "migrate up source")
	seedSQLite(t, src, 50)
	cfg := fmt.Sprintf("database:\n  driver: sqlite\n  path: %q\n", dst) + fsVectorYAML
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up"), 0, "migrate up target")
	// The copy stops at workflow_states, after the mark and the users were written.
	execSQLite(t, dst, `CREATE TRIGGER stop_copy BEFORE INSERT ON workflow_states BEGIN SELECT RAISE(ABORT, 'stopped by the test'); END`)
	r := binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", dst, "--yes")
	if r.code == 0 || !strings.Contains(r.errOut, "stopped by the test") {
		t.Fatalf("the copy did not stop: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	execSQLite(t, dst, `DROP TRIGGER stop_copy`)

	c := copyFix(t, bin, dir, nil)
	want := "compozy db copy --from " + src + " --to '" + dst + "' --force"
	if c.Fix.Commands[0] != want {
		t.Errorf("fix command\n %s\nwant\n %s", c.Fix.Commands[0], want)
	}
	runFix(t, bin, dir, c.Fix.Commands[0], nil)
	if _, err := os.Stat(filepath.Join(dir, "sqlite ")); err == nil {
		t.Error(`the fix created a folder named "sqlite "`)
	}
	if n := sqliteCount(t, dst, "workflow_states"); n != 50 {
		t.Errorf("the target holds %d workflows, want 50", n)
	}
	r = binRun(t, bin, dir, nil, "doctor", "--json", "--only", doctor.IDStorageCopyIncomplete)
	expectCheck(t, parseDoctor(t, r), doctor.IDStorageCopyIncomplete, doctor.StatusPass, "")
}

// TestReviewDoctorCopyIncompletePostgres: a copy from PostgreSQL into a password-checked
// PostgreSQL database is killed (kill -9) half way; doctor's fix names both URLs without a
// password and says the password goes in PGPASSWORD; run with PGPASSWORD it completes the
// copy, and doctor passes.
func TestReviewDoctorCopyIncompletePostgres(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	srcURL := testenv.PostgresDB(t)
	dir := writeConfig(t, s.file(s.keys(), "  password: ${COMPOZY_DB_PASSWORD}\n"))
	env := []string{"COMPOZY_DB_PASSWORD=" + rightPassword, "PGPASSWORD=", "PGPASSFILE=/nonexistent"}
	wantCode(t, binRun(t, bin, dir, env, "migrate", "up"), 0, "migrate up target")
	wantCode(t, binRun(t, bin, t.TempDir(), nil, "migrate", "up", "--db-conn-string", srcURL), 0, "migrate up source")
	adminExec(t, srcURL, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin'), ('u2', 'b@example.com', 'user')`)
	adminExec(t, srcURL, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) SELECT 'wf-' || i, 'w', 'RUNNING' FROM generate_series(1, 30) i`)

	// The target's users table stalls the copy's COPY, so that it is killed half way.
	admin := pgWithDatabase(t, srcURL, s.name) // the admin role, on the target's database
	adminExec(t, admin, `CREATE FUNCTION review_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(600); RETURN NULL; END $$`)
	adminExec(t, admin, `CREATE TRIGGER review_stall BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION review_stall()`)
	cmd := exec.Command(bin, "db", "copy", "--from", srcURL, "--to", filepath.Join(dir, "compozy.yaml"), "--yes")
	cmd.Dir, cmd.Env = dir, cleanEnv(env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	adb := openTestDB(t, "pgx", admin)
	for deadline := time.Now().Add(time.Minute); ; {
		var n int
		if err := adb.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-waited:
			t.Fatalf("the copy ended before it stalled: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the copy never reached the stalled table")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-waited
	adminExec(t, admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	adminExec(t, admin, `DROP TRIGGER review_stall ON users`)

	c := copyFix(t, bin, dir, env)
	command := c.Fix.Commands[0]
	_, srcPort, srcUser, srcName := pgParts(t, srcURL)
	wantFrom := fmt.Sprintf("--from 'postgres://%s@%s:%s/%s?sslmode=disable", srcUser, s.host, srcPort, srcName)
	wantTo := fmt.Sprintf("--to 'postgres://%s@%s:%s/%s?sslmode=disable", s.role, s.host, s.port, s.name)
	if !strings.Contains(command, wantFrom) || !strings.Contains(command, wantTo) || !strings.HasSuffix(command, " --force") {
		t.Errorf("fix command %s\nwant %s... %s...", command, wantFrom, wantTo)
	}
	if !strings.Contains(c.Fix.Text, "PGPASSWORD") || strings.Contains(command, "redacted") || strings.Contains(command, "SOURCE") {
		t.Errorf("fix: %+v", c.Fix)
	}
	noSecret(t, cliRun{out: command + c.Fix.Text}, "doctor's fix")
	runFix(t, bin, dir, command, []string{"PGPASSWORD=" + rightPassword, "PGPASSFILE=/nonexistent"})
	r := binRun(t, bin, dir, env, "doctor", "--json", "--only", doctor.IDStorageCopyIncomplete)
	expectCheck(t, parseDoctor(t, r), doctor.IDStorageCopyIncomplete, doctor.StatusPass, "")
	var n int
	if err := openTestDB(t, "pgx", admin).QueryRowContext(t.Context(), "SELECT count(*) FROM workflow_states").Scan(&n); err != nil || n != 30 {
		t.Errorf("workflows in the target: %d, %v", n, err)
	}
}

// pgWithDatabase is the URL dsn with another database.
func pgWithDatabase(t *testing.T, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestReviewPasswordSourceCopyBench: a password the server refuses says where it came from in
// db copy (the target URL with PGPASSWORD, the configured source with COMPOZY_DB_PASSWORD) and
// db bench (the scratch database's first connection), once, and no output shows it.
func TestReviewPasswordSourceCopyBench(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	dir := writeConfig(t, s.file(s.keys()))
	src := filepath.Join(dir, "src.db")
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", src), 0, "migrate up")
	failed := `password authentication failed for user "` + s.role + `"`
	check := func(r cliRun, what, from string) {
		t.Helper()
		if r.code == 0 || strings.Count(r.errOut, failed) != 1 || !strings.Contains(r.errOut, failed+" ("+from+")") {
			t.Errorf("%s: exit %d, want %q once:\n%s%s", what, r.code, failed+" ("+from+")", r.out, r.errOut)
		}
		noSecret(t, r, what)
	}
	isolated := []string{"PGPASSFILE=/nonexistent"}

	r := binRun(t, bin, dir, append(isolated, "PGPASSWORD="+wrongPassword), "db", "copy", "--from", src, "--to", s.dsn, "--yes")
	check(r, "db copy --to URL", "password from PGPASSWORD")

	r = binRun(t, bin, dir, append(isolated, "PGPASSWORD=", "COMPOZY_DB_PASSWORD="+wrongPassword), "db", "copy", "--to", filepath.Join(t.TempDir(), "c.db"), "--yes")
	check(r, "db copy from the configured database", "password from COMPOZY_DB_PASSWORD")

	r = binRun(t, bin, dir, append(isolated, "PGPASSWORD=", "COMPOZY_DB_PASSWORD="+wrongPassword), "db", "bench", "--workflows", "1", "--duration", "1s", "--warmup", "0s")
	check(r, "db bench", "password from COMPOZY_DB_PASSWORD")
}

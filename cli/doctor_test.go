package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/sqlite"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// doctorDoc is the part of `doctor --json` the tests read.
type doctorDoc struct {
	SchemaVersion int             `json:"schema_version"`
	Checks        []doctor.Result `json:"checks"`
	Summary       doctor.Summary  `json:"summary"`
}

func parseDoctor(t *testing.T, r cliRun) doctorDoc {
	t.Helper()
	var d doctorDoc
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("doctor --json output is not JSON: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return d
}

func (d doctorDoc) get(id string) (doctor.Result, bool) {
	for _, c := range d.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return doctor.Result{}, false
}

// expectCheck asserts one check's status, and that its summary matches re when re is set.
func expectCheck(t *testing.T, d doctorDoc, id string, st doctor.Status, re string) doctor.Result {
	t.Helper()
	c, ok := d.get(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	if c.Status != st {
		t.Errorf("%s: status %s, want %s: %s\n%s", id, c.Status, st, c.Summary, c.Detail)
	}
	if re != "" && !regexp.MustCompile(re).MatchString(c.Summary+"\n"+c.Detail) {
		t.Errorf("%s: %q does not match %q", id, c.Summary+"\n"+c.Detail, re)
	}
	return c
}

// newSQLiteDB creates a migrated SQLite database at path (journal mode mode), up to version to
// (0 = all).
func newSQLiteDB(t *testing.T, path, mode string, to int64) {
	t.Helper()
	ctx := t.Context()
	d, err := sqlite.Open(ctx, sqlite.Options{Path: path, JournalMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := migrate.New(d.Writer(), "sqlite", migrate.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if to == 0 {
		_, err = m.Up(ctx)
	} else {
		_, err = m.UpTo(ctx, to)
	}
	if err != nil {
		t.Fatal(err)
	}
}

const fsVectorYAML = `
knowledge:
  vector_dbs:
    - id: main
      provider: filesystem
      path: ./vectors
      dimension: 8
`

// sqliteDir is a folder with compozy.yaml pointing at ./data/compozy.db.
func sqliteDir(t *testing.T, extra string) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	yaml := "database:\n  driver: sqlite\n  path: ./data/compozy.db\n" + extra + fsVectorYAML
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := vfactory.Open(t.Context(), config.VectorDB{ID: "main", Provider: "filesystem", Path: filepath.Join(dir, "vectors"), Dimension: 8}, vfactory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "data", "compozy.db")
}

// snapshot records every file under dir: name, size, mode and mtime.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		m[p] = fmt.Sprintf("%d %v %d", fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func countRows(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	for _, tb := range doctor.CompozyTables() {
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", tb, n))
	}
	return strings.Join(out, " ")
}

func TestDoctorSQLiteHealthyChangesNothing(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	before, rows := snapshot(t, dir), countRows(t, db)
	r := runCLI(t, dir, nil, "doctor", "--json")
	d := parseDoctor(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.out)
	}
	for _, c := range d.Checks {
		if c.Status != doctor.StatusPass {
			t.Errorf("%s: %s: %s", c.ID, c.Status, c.Summary)
		}
	}
	expectCheck(t, d, doctor.IDStorageRoundTrip, doctor.StatusPass, "rolled back")
	if d.SchemaVersion != 1 || d.Summary.Total != len(d.Checks) || d.Summary.Pass != len(d.Checks) {
		t.Errorf("summary %+v", d.Summary)
	}
	after := snapshot(t, dir)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("doctor changed files:\nbefore %v\nafter  %v", before, after)
	}
	if got := countRows(t, db); got != rows {
		t.Errorf("rows %s, before %s", got, rows)
	}
	// Plain output of the same run: one line per check, no escape codes.
	p := runCLI(t, dir, nil, "doctor")
	if p.code != 0 || strings.Contains(p.out, "\x1b") || !strings.Contains(p.out, "✓ PASS  sqlite.journal_mode") ||
		!strings.Contains(p.out, "No problems found.") {
		t.Errorf("plain output (exit %d):\n%s", p.code, p.out)
	}
}

// TestDoctorTable is the table of the issue: a state built for real -> a check's status -> the
// exit code.
func TestDoctorTable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		extra  string // more database: keys
		setup  func(t *testing.T, dir, db string)
		env    []string
		id     string
		status doctor.Status
		re     string
		code   int
	}{
		{name: "file readable by others", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			chmod(t, db, 0o644)
		}, id: doctor.IDSQLitePermissions, status: doctor.StatusWarn, re: "mode 0644 lets others read", code: 0},
		{name: "garbage file", setup: func(t *testing.T, dir, db string) {
			writeFile(t, db, strings.Repeat("not a database at all ", 300))
		}, id: doctor.IDSQLiteFile, status: doctor.StatusFail, re: "is not a SQLite database", code: 1},
		{name: "truncated database", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			if err := os.Truncate(db, 8192); err != nil {
				t.Fatal(err)
			}
		}, id: doctor.IDSQLiteFile, status: doctor.StatusFail, re: "is truncated", code: 1},
		{name: "damaged page", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			f, err := os.OpenFile(db, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte(strings.Repeat("\xff", 4096)), 4096*5); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}, id: doctor.IDSQLiteIntegrity, status: doctor.StatusFail, re: "", code: 1},
		{name: "missing file", id: doctor.IDSQLiteFile, status: doctor.StatusSkip, re: "does not exist yet: compozy migrate up creates it", code: 0},
		{name: "journal_mode delete", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "DELETE", 0)
		}, id: doctor.IDSQLiteJournal, status: doctor.StatusWarn, re: "rollback journal", code: 0},
		{name: "pending migrations, auto_migrate off", extra: "  auto_migrate: false\n", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", doctorOneBehind(t))
		}, id: doctor.IDMigrationsPending, status: doctor.StatusFail, re: `\d+ pending .*auto_migrate is off`, code: 1},
		{name: "pending migrations, auto_migrate on", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", doctorOneBehind(t))
		}, id: doctor.IDMigrationsPending, status: doctor.StatusWarn, re: "1 pending .*it changes no schema and Compozy's own SQLite migrations do not include it, so Compozy never applies it; compozy migrate up does", code: 0},
		{name: "no tables", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", doctorFirstVersion(t))
			execSQLite(t, db, "DROP TABLE IF EXISTS task_states")
		}, id: doctor.IDMigrationsTable, status: doctor.StatusFail, re: "no such table: task_states", code: 1},
		{name: "database newer than binary", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			execSQLite(t, db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (29991231000000, 1)")
		}, id: doctor.IDMigrationsNewer, status: doctor.StatusFail, re: "newer than the latest this binary knows", code: 1},
		{name: "in-memory database", setup: func(t *testing.T, dir, db string) {
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: \":memory:\"\n"+fsVectorYAML)
		}, id: doctor.IDSQLiteMemory, status: doctor.StatusWarn, re: "lost when compozy exits", code: 0},
		{name: "migration applied out of order", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			execSQLite(t, db, fmt.Sprintf("DELETE FROM goose_db_version WHERE version_id = %d", doctorFirstVersion(t)+0))
		}, id: doctor.IDMigrationsDirty, status: doctor.StatusFail, re: "pending below the current version", code: 1},
		{name: "plaintext password readable by others", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			cfg := filepath.Join(dir, "compozy.yaml")
			writeFile(t, cfg, "database:\n  driver: sqlite\n  path: ./data/compozy.db\n  password: hunter2-Secret\n"+fsVectorYAML)
			chmod(t, cfg, 0o644)
		}, id: doctor.IDConfigSecrets, status: doctor.StatusFail, re: `plaintext password in .*compozy.yaml, which others can read \(mode 0644\)`, code: 1},
		{name: "concurrency above SQLite's measured limit", extra: "", setup: func(t *testing.T, dir, db string) {
			newSQLiteDB(t, db, "WAL", 0)
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./data/compozy.db\nruntime:\n  max_concurrent_workflows: 5000\n"+fsVectorYAML)
		}, id: doctor.IDConfigConcurrency, status: doctor.StatusWarn, re: "5000 concurrent workflows", code: 0},
		{name: "named config file missing", env: []string{"COMPOZY_CONFIG_FILE=nope.yaml"},
			id: doctor.IDConfigFile, status: doctor.StatusFail, re: `nope.yaml: config file not found \(named by COMPOZY_CONFIG_FILE\)`, code: 2},
		{name: "config not YAML", setup: func(t *testing.T, dir, db string) {
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: [unclosed\n")
		}, id: doctor.IDConfigFile, status: doctor.StatusFail, re: `compozy.yaml:\d+`, code: 2},
		{name: "unknown key", setup: func(t *testing.T, dir, db string) {
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./data/compozy.db\n  jornal_mode: wal\n")
		}, id: doctor.IDConfigKeys, status: doctor.StatusFail, re: `compozy.yaml:4:\d+: .*journal_mode`, code: 2},
		{name: "sqlite with pgvector", setup: func(t *testing.T, dir, db string) {
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: sqlite\n  path: ./data/compozy.db\nknowledge:\n  vector_dbs:\n    - id: main\n      provider: pgvector\n      dimension: 8\n")
		}, id: doctor.IDConfigVector, status: doctor.StatusFail, re: `compozy.yaml:\d+:\d+: .*pgvector provider is incompatible with SQLite driver`, code: 2},
		{name: "unset DB_PASSWORD", setup: func(t *testing.T, dir, db string) {
			writeFile(t, filepath.Join(dir, "compozy.yaml"), "database:\n  driver: postgres\n  host: 127.0.0.1\n  password: ${DB_PASSWORD}\n")
		}, id: doctor.IDConfigVars, status: doctor.StatusFail, re: `compozy.yaml:4:\d+: .*environment variable DB_PASSWORD is not set`, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, db := sqliteDir(t, tc.extra)
			if tc.setup != nil {
				tc.setup(t, dir, db)
			}
			r := runCLI(t, dir, tc.env, "doctor", "--json")
			d := parseDoctor(t, r)
			expectCheck(t, d, tc.id, tc.status, tc.re)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.out)
			}
			if d.Summary.ExitCode != r.code {
				t.Errorf("summary.exit_code %d, exit %d", d.Summary.ExitCode, r.code)
			}
			if strings.Contains(r.out+r.errOut, "hunter2") {
				t.Errorf("a password leaked into the output")
			}
		})
	}
}

// doctorOneBehind is the version before the latest: the database has its tables, and one
// migration is pending.
func doctorOneBehind(t *testing.T) int64 {
	t.Helper()
	k, err := migrate.Known("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return k[len(k)-2].Version
}

func rx(re string) *regexp.Regexp { return regexp.MustCompile(re) }

func doctorFirstVersion(t *testing.T) int64 {
	t.Helper()
	k, err := migrate.Known("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return k[0].Version
}

func chmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func execSQLite(t *testing.T, path, q string) {
	t.Helper()
	db := openTestDB(t, "sqlite", path)
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	db.Close()
}

// TestDoctorLockHelper is not a test: TestDoctorSQLiteLockHolder runs the test binary with it
// as a second process that holds SQLite's write lock until its stdin closes.
func TestDoctorLockHelper(t *testing.T) {
	t.Parallel()
	path := os.Getenv("COMPOZY_DOCTOR_LOCK_HELPER")
	if path == "" {
		t.Skip("helper process only")
	}
	if os.Getenv("COMPOZY_DOCTOR_LOCK_MODE") == "flock" { // a migration in progress
		f, err := os.OpenFile(path+migrate.LockSuffix, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN IMMEDIATE", "CREATE TABLE IF NOT EXISTS lock_probe (x)", "INSERT INTO lock_probe VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_, _ = conn.ExecContext(ctx, "ROLLBACK")
}

// startLockHolder runs the test binary as a second process that holds a lock on db (mode "":
// SQLite's write lock; "flock": the migration lock file) until the test ends.
func startLockHolder(t *testing.T, db, mode string) int {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDoctorLockHelper$")
	cmd.Env = append(os.Environ(), "COMPOZY_DOCTOR_LOCK_HELPER="+db, "COMPOZY_DOCTOR_LOCK_MODE="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd.Process.Pid
}

func TestDoctorSQLiteLockHolder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ mode, re string }{
		{"", `another process holds the write lock: PID %d \(.*TestDoctorLockHelper`},
		{"flock", `a migration is running: PID %d \(.*TestDoctorLockHelper.*\) holds .*compozy\.db\.migrate\.lock`},
	} {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			dir, db := sqliteDir(t, "")
			newSQLiteDB(t, db, "WAL", 0)
			pid := startLockHolder(t, db, tc.mode)
			r := runCLI(t, dir, nil, "doctor", "--json", "--only", "sqlite")
			d := parseDoctor(t, r)
			expectCheck(t, d, doctor.IDSQLiteLock, doctor.StatusWarn, fmt.Sprintf(tc.re, pid))
			if r.code != 0 {
				t.Errorf("exit %d", r.code)
			}
		})
	}
}

// TestDoctorFixSQLite: a rollback-journal database one migration behind; --fix --dry-run lists
// both fixes and changes nothing; --fix --yes switches it to WAL and migrates it, then the
// checks pass.
func TestDoctorFixSQLite(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "  auto_migrate: false\n")
	newSQLiteDB(t, db, "DELETE", doctorOneBehind(t))
	before := snapshot(t, dir)
	dry := runCLI(t, dir, nil, "doctor", "--fix", "--dry-run")
	if dry.code != 1 || !rx(`Dry run: 2 fix\(es\) would be applied \(nothing was changed\):\n  sqlite\.journal_mode: PRAGMA journal_mode=WAL on .*\n  migrations\.pending: compozy migrate up on sqlite `).MatchString(dry.out) {
		t.Errorf("dry run (exit %d):\n%s", dry.code, dry.out)
	}
	if after := snapshot(t, dir); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("--dry-run changed files")
	}
	fix := runCLI(t, dir, nil, "doctor", "--fix", "--yes")
	if fix.code != 0 || !strings.Contains(fix.out, "Applied 2 fix(es); checking again.") || !strings.Contains(fix.out, "No problems found.") {
		t.Errorf("--fix --yes (exit %d):\n%s%s", fix.code, fix.out, fix.errOut)
	}
}

// TestDoctorFixAsks: on a terminal, --fix asks before each fix.
func TestDoctorFixAsks(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o644)
	for _, tc := range []struct {
		answer string
		mode   os.FileMode
	}{{"n\n", 0o644}, {"y\n", 0o600}} {
		r := runCLIWith(t, dir, cliIn{stdin: tc.answer, stdinTTY: true, stdoutTTY: true, stderrTTY: true}, "doctor", "--fix")
		if !strings.Contains(r.out, "Fix sqlite.permissions: chmod 600 "+db+" (and its -wal/-shm files)? [y/N] ") {
			t.Errorf("no question:\n%s", r.out)
		}
		fi, err := os.Stat(db)
		if err != nil || fi.Mode().Perm() != tc.mode {
			t.Errorf("answer %q: mode %v, want %v", tc.answer, fi.Mode().Perm(), tc.mode)
		}
	}
}

// TestDoctorUnprivileged runs the binary as nobody, so permissions are really denied (CI runs
// as root, which may read and write anything).
func TestDoctorUnprivileged(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the binary as nobody")
	}
	bin := buildCompozy(t)
	traversable(t, filepath.Dir(bin))
	for _, tc := range []struct {
		name    string
		dirMode os.FileMode
		id      string
		re      string
	}{
		{"folder not writable", 0o755, doctor.IDSQLiteFolder, "is not writable by nobody"},
		{"file not readable", 0o777, doctor.IDSQLiteFile, "is not readable by nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			traversable(t, dir)
			data := filepath.Join(dir, "data")
			if err := os.Mkdir(data, 0o755); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(data, "compozy.db")
			newSQLiteDB(t, db, "WAL", 0)
			chmod(t, db, 0o600)
			chmod(t, data, tc.dirMode)
			r := binRunWith(t, bin, dir, binIn{env: []string{"HOME=/nonexistent"}, cred: &syscall.Credential{Uid: 65534, Gid: 65534}},
				"doctor", "--json", "--db-driver", "sqlite", "--db-path", db)
			code := r.code
			d := parseDoctor(t, cliRun{out: r.out, code: code})
			expectCheck(t, d, tc.id, doctor.StatusFail, tc.re)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
		})
	}
}

// traversable makes dir and its parents up to the temp root traversable by other users.
func traversable(t *testing.T, dir string) {
	t.Helper()
	root := os.TempDir()
	for d := dir; strings.HasPrefix(d, root) && d != root; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		chmod(t, d, fi.Mode().Perm()|0o755)
	}
}

// --- PostgreSQL ---

func pgEnv(dsn string, extra ...string) []string {
	return append([]string{"COMPOZY_DB_DRIVER=postgres", "COMPOZY_DB_CONN_STRING=" + dsn}, extra...)
}

func adminExec(t *testing.T, dsn, q string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Errorf("%s: %v", q, err)
	}
}

func migratePG(t *testing.T, dsn string) {
	t.Helper()
	r := runCLI(t, t.TempDir(), pgEnv(dsn), "migrate", "up")
	if r.code != 0 {
		t.Fatalf("migrate up: %d %s %s", r.code, r.out, r.errOut)
	}
}

func TestDoctorPostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	migratePG(t, dsn)

	t.Run("healthy", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), pgEnv(dsn), "doctor", "--json")
		d := parseDoctor(t, r)
		for _, id := range []string{doctor.IDPostgresConnect, doctor.IDPostgresVersion, doctor.IDPostgresReadOnly, doctor.IDPostgresPrivileges,
			doctor.IDPostgresConnections, doctor.IDPostgresClock, doctor.IDPostgresLatency, doctor.IDMigrationsPending, doctor.IDStorageRoundTrip} {
			expectCheck(t, d, id, doctor.StatusPass, "")
		}
		if r.code != 0 {
			t.Errorf("exit %d:\n%s", r.code, r.out)
		}
		db := openTestDB(t, "pgx", dsn)
		for _, tb := range doctor.CompozyTables() {
			var n int
			if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+tb).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d rows (%v) after doctor", tb, n, err)
			}
		}
	})
	t.Run("missing database", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), pgEnv(strings.Replace(dsn, "/compozy_test_", "/compozy_nope_", 1)), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^database: database "compozy_nope_\w+" does not exist`)
		expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusSkip, "postgres.connect did not pass")
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("pool larger than the free connections", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), pgEnv(dsn, "COMPOZY_DB_MAX_OPEN_CONNS=5000"), "doctor", "--json", "--only", "postgres")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnections, doctor.StatusFail, `^1 × max_open_conns 5000 \+ \d+ held by other clients = \d+ of \d+ connections \(max_connections \d+`)
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("pgvector without the extension", func(t *testing.T) {
		var avail int
		db := openTestDB(t, "pgx", dsn)
		if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'").Scan(&avail); err != nil {
			t.Fatal(err)
		}
		if avail > 0 {
			t.Skip("pgvector is installed on this server")
		}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "compozy.yaml"), "knowledge:\n  vector_dbs:\n    - id: kb\n      provider: pgvector\n      dimension: 8\n")
		r := runCLI(t, dir, pgEnv(dsn), "doctor", "--json", "--only", "vector")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDVectorPgvectorExtension, doctor.StatusFail, "")
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("role missing", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), pgEnv(strings.Replace(dsn, "postgres@", "compozy_no_such_role@", 1)), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^role: role "compozy_no_such_role" does not exist`)
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("TLS verify-full without the CA", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), pgEnv(strings.Replace(dsn, "sslmode=disable", "sslmode=verify-full", 1)), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, `^TLS: `)
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("read-only database", func(t *testing.T) {
		ro := testenv.PostgresDB(t)
		migratePG(t, ro)
		name := ro[strings.LastIndex(ro, "/")+1:]
		if i := strings.IndexByte(name, '?'); i >= 0 {
			name = name[:i]
		}
		adminExec(t, testenv.AdminPostgresDSN(), "ALTER DATABASE "+name+" SET default_transaction_read_only = on")
		r := runCLI(t, t.TempDir(), pgEnv(ro), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresReadOnly, doctor.StatusFail, "default_transaction_read_only is on")
		expectCheck(t, d, doctor.IDStorageRoundTrip, doctor.StatusSkip, "postgres.read_only did not pass")
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("port closed", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		r := runCLI(t, t.TempDir(), pgEnv("postgres://postgres@"+addr+"/x?sslmode=disable"), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, "^TCP: connection refused at "+regexp.QuoteMeta(addr))
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("silent listener times out", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // hold it open, say nothing
			}
		}()
		r := runCLI(t, t.TempDir(), pgEnv("postgres://postgres@"+l.Addr().String()+"/x?sslmode=disable&connect_timeout=0",
			"COMPOZY_DB_CONNECT_TIMEOUT=0"), "doctor", "--json", "--timeout", "700ms")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusError, "timed out after 700ms")
		expectCheck(t, d, doctor.IDConfigFile, doctor.StatusPass, "")
		for _, c := range d.Checks {
			if c.ID != doctor.IDPostgresConnect && c.Status != doctor.StatusPass && c.Status != doctor.StatusSkip {
				t.Errorf("%s: %s (%s)", c.ID, c.Status, c.Summary)
			}
		}
		expectCheck(t, d, doctor.IDPostgresVersion, doctor.StatusSkip, "postgres.connect did not pass")
		expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusSkip, "")
		if r.code != 3 {
			t.Errorf("exit %d, want 3", r.code)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		role := "compozy_pw_" + fmt.Sprint(time.Now().UnixNano()%1e9)
		admin := testenv.AdminPostgresDSN()
		requirePasswordRule(t, admin)
		adminExec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'right-Secret' IN ROLE compozy_pwtest", role))
		t.Cleanup(func() { adminExec(t, admin, "DROP ROLE IF EXISTS "+role) })
		u := strings.Replace(dsn, "postgres@", role+"@", 1)
		r := runCLI(t, t.TempDir(), pgEnv(u, "COMPOZY_DB_PASSWORD=wrong-Secret"), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail, "^authentication: password authentication failed for user "+role)
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
		if strings.Contains(r.out+r.errOut, "wrong-Secret") {
			t.Errorf("the password leaked into the output")
		}
	})
	t.Run("role without CREATE", func(t *testing.T) {
		fresh := testenv.PostgresDB(t)
		role := "compozy_nocreate_" + fmt.Sprint(time.Now().UnixNano()%1e9)
		admin := testenv.AdminPostgresDSN()
		adminExec(t, admin, "CREATE ROLE "+role+" LOGIN")
		t.Cleanup(func() { adminExec(t, admin, "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role) })
		adminExec(t, fresh, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
		r := runCLI(t, t.TempDir(), pgEnv(strings.Replace(fresh, "postgres@", role+"@", 1)), "doctor", "--json")
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDPostgresPrivileges, doctor.StatusFail, "may not create tables in schema public")
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
}

// requirePasswordRule checks that .ci/setup-pg-auth ran: the group role exists and pg_hba.conf
// asks its members for a password.
func requirePasswordRule(t *testing.T, admin string) {
	t.Helper()
	db := openTestDB(t, "pgx", admin)
	var n int
	err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_hba_file_rules
		WHERE '+compozy_pwtest' = ANY(user_name) AND auth_method = 'scram-sha-256'
		AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'compozy_pwtest')`).Scan(&n)
	if err == nil && n == 0 {
		err = fmt.Errorf("no scram-sha-256 rule for +compozy_pwtest in pg_hba.conf")
	}
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL password authentication", "run .ci/setup-pg-auth", err)
	}
}

func TestDoctorListExplain(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "doctor", "list")
	if r.code != 0 {
		t.Fatal(r.errOut)
	}
	for _, in := range doctor.Registry() {
		if !strings.Contains(r.out, in.ID) {
			t.Errorf("list lacks %s", in.ID)
		}
		e := runCLI(t, t.TempDir(), nil, "doctor", "explain", in.ID)
		if e.code != 0 || !strings.Contains(e.out, "Symptom") || !strings.Contains(e.out, "Fix") {
			t.Errorf("explain %s: %d %s", in.ID, e.code, e.out)
		}
	}
	if e := runCLI(t, t.TempDir(), nil, "doctor", "explain", "nope"); e.code != 2 {
		t.Errorf("explain nope: exit %d", e.code)
	}
	if e := runCLI(t, t.TempDir(), nil, "doctor", "--only", "nope"); e.code != 2 {
		t.Errorf("--only nope: exit %d", e.code)
	}
}

// TestDoctorStrictOnlySkip: warnings fail the run with --strict; --skip leaves a check out and
// skips what depends on it; bad flag combinations are usage errors.
func TestDoctorStrictOnlySkip(t *testing.T) {
	t.Parallel()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o644)
	if r := runCLI(t, dir, nil, "doctor"); r.code != 0 {
		t.Errorf("warning only: exit %d", r.code)
	}
	if r := runCLI(t, dir, nil, "doctor", "--strict"); r.code != 1 {
		t.Errorf("--strict: exit %d", r.code)
	}
	r := runCLI(t, dir, nil, "doctor", "--json", "--skip", "sqlite.file,vector")
	d := parseDoctor(t, r)
	if _, ok := d.get(doctor.IDSQLiteFile); ok {
		t.Errorf("--skip sqlite.file still reports it")
	}
	if _, ok := d.get(doctor.IDVectorProvider); ok {
		t.Errorf("--skip vector still reports vector checks")
	}
	expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusSkip, "depends on sqlite.file, left out by --skip")
	for _, args := range [][]string{{"doctor", "--yes"}, {"doctor", "--dry-run"}, {"doctor", "--timeout", "0s"}, {"doctor", "extra"}} {
		if r := runCLI(t, dir, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
	}
}

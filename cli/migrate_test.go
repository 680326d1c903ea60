package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/internal/testenv"
)

const (
	firstVersion  = "20250603124835"
	latestVersion = "20251016150000"
	migrationsN   = 9
)

var okLine = regexp.MustCompile(`(?m)^OK   (\d{14})_[a-z0-9_]+\.sql \(\d+(\.\d)?(ms|s)\)$`)

func okVersions(out string) []string {
	var vs []string
	for _, m := range okLine.FindAllStringSubmatch(out, -1) {
		vs = append(vs, m[1])
	}
	return vs
}

func wantCode(t *testing.T, r cliRun, code int, args string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("compozy %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, code, r.out, r.errOut)
	}
}

// TestMigrateSQLiteSequence is the acceptance sequence on SQLite through Main: dry run on a
// missing file, up, status, up again, down, status --check (10), up, status --check (0).
func TestMigrateSQLiteSequence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", "./data/compozy.db"}
	path := filepath.Join(dir, "data", "compozy.db")
	run := func(args ...string) cliRun { return runCLI(t, dir, nil, append(args, db...)...) }

	r := run("migrate", "up", "--dry-run")
	wantCode(t, r, 0, "up --dry-run")
	if !strings.Contains(r.out, "does not exist yet, so all 9 migrations are pending") ||
		strings.Count(r.out, ".sql") != migrationsN || !strings.Contains(r.out, "Target: sqlite "+path+"\n") {
		t.Fatalf("dry run output:\n%s", r.out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dry run created something: %v", err)
	}
	r = run("migrate", "status", "--check")
	wantCode(t, r, ExitPending, "status --check on a missing file")
	r = run("migrate", "version")
	wantCode(t, r, 0, "version on a missing file")
	if !strings.Contains(r.out, "Database version: 0 (") {
		t.Fatalf("version output:\n%s", r.out)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read created the database: %v", err)
	}

	r = run("migrate", "up")
	wantCode(t, r, 0, "up")
	if !strings.HasPrefix(r.out, "Target: sqlite "+path+"\n") {
		t.Fatalf("up must print the target first:\n%s", r.out)
	}
	if got := okVersions(r.out); len(got) != migrationsN || got[0] != firstVersion || got[migrationsN-1] != latestVersion {
		t.Fatalf("up applied %v:\n%s", got, r.out)
	}
	if !strings.Contains(r.out, "Applied 9 migrations in ") || !strings.Contains(r.out, "at version "+latestVersion+" (the latest)") {
		t.Fatalf("up summary:\n%s", r.out)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v, %v; want mode 0600", info, err)
	}

	r = run("migrate", "status")
	wantCode(t, r, 0, "status")
	if n := strings.Count(r.out, " applied "); n != migrationsN || !strings.Contains(r.out, "VERSION") {
		t.Fatalf("status lists %d applied:\n%s", n, r.out)
	}

	before := versionRows(t, openTestDB(t, "sqlite", path))
	r = run("migrate", "up")
	wantCode(t, r, 0, "second up")
	if len(okVersions(r.out)) != 0 || !strings.Contains(r.out, "up to date") {
		t.Fatalf("second up:\n%s", r.out)
	}
	if after := versionRows(t, openTestDB(t, "sqlite", path)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("second up changed goose_db_version: %v -> %v", before, after)
	}

	r = run("migrate", "down")
	wantCode(t, r, 0, "down")
	if got := okVersions(r.out); len(got) != 1 || got[0] != latestVersion || !strings.Contains(r.out, "Reverted 1 migration") {
		t.Fatalf("down:\n%s", r.out)
	}
	r = run("migrate", "status", "--check")
	wantCode(t, r, ExitPending, "status --check after down")
	if strings.Count(strings.TrimSpace(r.out), "\n") != 0 || !strings.Contains(r.out, "1 migration pending") {
		t.Fatalf("status --check must print one line:\n%s", r.out)
	}
	r = run("migrate", "up", "--dry-run")
	wantCode(t, r, 0, "up --dry-run")
	if !strings.Contains(r.out, "1 migration would be applied") || !strings.Contains(r.out, latestVersion) {
		t.Fatalf("dry run:\n%s", r.out)
	}
	r = run("migrate", "up")
	wantCode(t, r, 0, "up")
	r = run("migrate", "status", "--check")
	wantCode(t, r, 0, "status --check after up")
	r = run("migrate", "version")
	wantCode(t, r, 0, "version")
	if !strings.Contains(r.out, "Database version: "+latestVersion) || !strings.Contains(r.out, "Latest known:     "+latestVersion) {
		t.Fatalf("version:\n%s", r.out)
	}
}

// TestMigrateFailureReportsApplied: a migration that fails mid-run is reported with what was
// applied before it and where the database stands; the exit code is 1.
func TestMigrateFailureReportsApplied(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	// A view named users: CREATE TABLE IF NOT EXISTS skips it, and indexing it fails.
	if _, err := openTestDB(t, "sqlite", path).ExecContext(t.Context(), `CREATE VIEW users AS SELECT 1 AS id`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", path)
	wantCode(t, r, ExitFailed, "up with a broken schema")
	if got := okVersions(r.out); len(got) != 2 {
		t.Fatalf("applied before the failure: %v\n%s", got, r.out)
	}
	if !regexp.MustCompile(`(?m)^FAIL 20250711163857_create_users\.sql \(`).MatchString(r.out) ||
		!strings.Contains(r.out, "2 migrations applied before the failure; the database is at version 20250603124915.") {
		t.Fatalf("stdout:\n%s", r.out)
	}
	if !strings.Contains(r.errOut, "Error: migration 20250711163857_create_users.sql failed: ") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
}

func TestMigrateToFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", filepath.Join(dir, "c.db")}
	run := func(args ...string) cliRun { return runCLI(t, dir, nil, append(args, db...)...) }

	r := run("migrate", "up", "--to", "123")
	wantCode(t, r, ExitUsage, "up --to 123")
	if !strings.Contains(r.errOut, "--to 123 is not a migration this binary knows") || !strings.Contains(r.errOut, firstVersion+" (create_workflow_states)") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
	r = run("migrate", "down", "--to", "soon")
	wantCode(t, r, ExitUsage, "down --to soon")
	r = run("migrate", "up", "--to", "20250711163857")
	wantCode(t, r, 0, "up --to")
	if got := okVersions(r.out); len(got) != 3 {
		t.Fatalf("up --to applied %v", got)
	}
	r = run("migrate", "down", "--to", "0", "--dry-run")
	wantCode(t, r, 0, "down --to 0 --dry-run")
	if !strings.Contains(r.out, "3 migrations would be reverted") {
		t.Fatalf("down dry run:\n%s", r.out)
	}
	r = run("migrate", "down", "--to", firstVersion)
	wantCode(t, r, 0, "down --to first")
	if got := okVersions(r.out); len(got) != 2 {
		t.Fatalf("down --to reverted %v", got)
	}
	r = run("migrate", "version")
	if !strings.Contains(r.out, "Database version: "+firstVersion) {
		t.Fatalf("version:\n%s", r.out)
	}
}

func TestMigrateStatusJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", filepath.Join(dir, "c.db")}
	wantCode(t, runCLI(t, dir, nil, append([]string{"migrate", "up", "--to", "20250711163857"}, db...)...), 0, "up --to")
	r := runCLI(t, dir, nil, append([]string{"migrate", "status", "--json"}, db...)...)
	wantCode(t, r, 0, "status --json")
	var doc struct {
		SchemaVersion  int    `json:"schema_version"`
		Driver         string `json:"driver"`
		CurrentVersion int64  `json:"current_version"`
		LatestVersion  int64  `json:"latest_version"`
		Pending        int    `json:"pending"`
		UpToDate       bool   `json:"up_to_date"`
		Check          string `json:"check"`
		Migrations     []struct {
			Version   int64     `json:"version"`
			Name      string    `json:"name"`
			State     string    `json:"state"`
			AppliedAt time.Time `json:"applied_at"`
		} `json:"migrations"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, r.out)
	}
	if doc.SchemaVersion != 1 || doc.Driver != "sqlite" || doc.CurrentVersion != 20250711163857 ||
		doc.LatestVersion != 20251016150000 || doc.Pending != 6 || doc.UpToDate || doc.Check != "pending" ||
		len(doc.Migrations) != migrationsN || doc.Migrations[0].State != "applied" || doc.Migrations[0].AppliedAt.IsZero() ||
		doc.Migrations[8].State != "pending" {
		t.Fatalf("status --json = %+v", doc)
	}
	r = runCLI(t, dir, nil, append([]string{"migrate", "status", "--json", "--check"}, db...)...)
	wantCode(t, r, ExitPending, "status --json --check")
	if !json.Valid([]byte(r.out)) {
		t.Fatalf("status --json --check output is not JSON:\n%s", r.out)
	}
}

// TestMigrateNewerDatabase: a version this binary does not know makes status --check exit 13,
// and up refuse with a message naming it.
func TestMigrateNewerDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	db := []string{"--db-driver", "sqlite", "--db-path", path}
	wantCode(t, runCLI(t, dir, nil, append([]string{"migrate", "up"}, db...)...), 0, "up")
	if _, err := openTestDB(t, "sqlite", path).ExecContext(t.Context(),
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (20990101000000, 1)`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, nil, append([]string{"migrate", "status", "--check"}, db...)...)
	wantCode(t, r, ExitDatabaseNewer, "status --check")
	if !strings.Contains(r.out, "20990101000000") || !strings.Contains(r.out, "upgrade compozy") {
		t.Fatalf("status --check:\n%s", r.out)
	}
	r = runCLI(t, dir, nil, append([]string{"migrate", "status"}, db...)...)
	if !regexp.MustCompile(`20990101000000\s+\(not known to this binary\)\s+unknown`).MatchString(r.out) {
		t.Fatalf("status:\n%s", r.out)
	}
	r = runCLI(t, dir, nil, append([]string{"migrate", "up"}, db...)...)
	wantCode(t, r, ExitDatabaseNewer, "up on a newer database")
	if !strings.Contains(r.errOut, "20990101000000") || !strings.Contains(r.errOut, "newer than the latest this binary knows") {
		t.Fatalf("up stderr:\n%s", r.errOut)
	}
	r = runCLI(t, dir, nil, append([]string{"migrate", "down"}, db...)...)
	wantCode(t, r, ExitDatabaseNewer, "down on a newer database")
}

// pgSequence runs the acceptance sequence on PostgreSQL with the given database flags and
// environment, through Main, and checks that secret never shows.
func pgSequence(t *testing.T, env []string, secret string, db ...string) {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) cliRun {
		r := runCLI(t, dir, env, append(args, db...)...)
		if secret != "" && strings.Contains(r.out+r.errOut, secret) {
			t.Fatalf("the password was printed:\n%s\n%s", r.out, r.errOut)
		}
		return r
	}
	r := run("migrate", "up", "--dry-run")
	wantCode(t, r, 0, "up --dry-run")
	if strings.Count(r.out, ".sql") != migrationsN {
		t.Fatalf("dry run:\n%s", r.out)
	}
	r = run("migrate", "status", "--check")
	wantCode(t, r, ExitPending, "status --check before up")
	r = run("migrate", "up")
	wantCode(t, r, 0, "up")
	if !strings.HasPrefix(r.out, "Target: postgres://") {
		t.Fatalf("up must print the target first:\n%s", r.out)
	}
	if got := okVersions(r.out); len(got) != migrationsN {
		t.Fatalf("up applied %v:\n%s", got, r.out)
	}
	r = run("migrate", "status")
	wantCode(t, r, 0, "status")
	if n := strings.Count(r.out, " applied "); n != migrationsN {
		t.Fatalf("status lists %d applied:\n%s", n, r.out)
	}
	r = run("migrate", "up")
	wantCode(t, r, 0, "second up")
	if len(okVersions(r.out)) != 0 || !strings.Contains(r.out, "up to date") {
		t.Fatalf("second up:\n%s", r.out)
	}
	r = run("migrate", "down")
	wantCode(t, r, 0, "down")
	if got := okVersions(r.out); len(got) != 1 || got[0] != latestVersion {
		t.Fatalf("down:\n%s", r.out)
	}
	wantCode(t, run("migrate", "status", "--check"), ExitPending, "status --check after down")
	wantCode(t, run("migrate", "up"), 0, "up")
	wantCode(t, run("migrate", "status", "--check"), 0, "status --check after up")
	r = run("migrate", "version")
	if !strings.Contains(r.out, "Database version: "+latestVersion) {
		t.Fatalf("version:\n%s", r.out)
	}
}

func TestMigratePostgresConnString(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	pgSequence(t, nil, "", "--db-driver", "postgres", "--db-conn-string", dsn)
}

// withPasswordRole creates a login role with a password full of DSN-hostile characters and
// makes it the owner of the database in dsn; it returns the role and the password.
func withPasswordRole(t *testing.T, dsn string) (role, password string) {
	t.Helper()
	_, _, _, name := pgParts(t, dsn)
	role, password = name+"_pw", `p@ss w/rd:'"?#%&=x`
	admin := openTestDB(t, "pgx", dsn)
	ident := pgx.Identifier{role}.Sanitize()
	lit := "'" + strings.ReplaceAll(password, "'", "''") + "'"
	for _, q := range []string{
		`CREATE ROLE ` + ident + ` LOGIN PASSWORD ` + lit,
		`ALTER DATABASE ` + pgx.Identifier{name}.Sanitize() + ` OWNER TO ` + ident,
	} {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Runs before testenv drops the database, which the role owns: drop both here.
		// (t.Context() is already cancelled in a cleanup.)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := sql.Open("pgx", testenv.AdminPostgresDSN())
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer c.Close()
		for _, q := range []string{
			`DROP DATABASE IF EXISTS ` + pgx.Identifier{name}.Sanitize() + ` WITH (FORCE)`,
			`DROP ROLE IF EXISTS ` + ident,
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return role, password
}

// TestMigratePostgresFlagsAndPassword runs the sequence through --db-host/--db-port/--db-user/
// --db-name with the password in COMPOZY_DB_PASSWORD. The password is full of characters that
// break a naively built DSN; it must never be printed. (The local server trusts 127.0.0.1, so
// it does not check the password itself; a mangled DSN still fails to reach the database.)
func TestMigratePostgresFlagsAndPassword(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	host, port, _, name := pgParts(t, dsn)
	role, password := withPasswordRole(t, dsn)
	pgSequence(t, []string{"COMPOZY_DB_PASSWORD=" + password}, password,
		"--db-driver", "postgres", "--db-host", host, "--db-port", port, "--db-user", role, "--db-name", name, "--db-ssl-mode", "disable")
	var owner string
	if err := openTestDB(t, "pgx", dsn).QueryRowContext(t.Context(),
		`SELECT tableowner FROM pg_tables WHERE tablename = 'workflow_states'`).Scan(&owner); err != nil || owner != role {
		t.Fatalf("workflow_states owner = %q, %v; want %q (the migrations ran as the flags' user)", owner, err, role)
	}
}

// TestMigrateBinary builds the binary once (`go build -o`) and runs the acceptance sequences
// and the concurrent runs through it.
func TestMigrateBinary(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); binarySQLite(t, bin) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); binaryPostgres(t, bin) })
	t.Run("concurrent", func(t *testing.T) { binaryConcurrent(t, bin) })
}

// binarySQLite is the acceptance sequence on SQLite, with the database path relative to the
// working directory.
func binarySQLite(t *testing.T, bin string) {
	dir := t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", "./data/compozy.db"}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }
	r := run("migrate", "up")
	wantCode(t, r, 0, "up")
	if len(okVersions(r.out)) != migrationsN {
		t.Fatalf("up:\n%s", r.out)
	}
	info, err := os.Stat(filepath.Join(dir, "data", "compozy.db"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v, %v; want mode 0600", info, err)
	}
	r = run("migrate", "status")
	if strings.Count(r.out, " applied ") != migrationsN {
		t.Fatalf("status:\n%s", r.out)
	}
	r = run("migrate", "up")
	if len(okVersions(r.out)) != 0 || !strings.Contains(r.out, "up to date") {
		t.Fatalf("second up:\n%s", r.out)
	}
	wantCode(t, run("migrate", "down"), 0, "down")
	wantCode(t, run("migrate", "status", "--check"), ExitPending, "status --check")
	wantCode(t, run("migrate", "up"), 0, "up")
	wantCode(t, run("migrate", "status", "--check"), 0, "status --check")
}

// binaryPostgres is the acceptance sequence on PostgreSQL, through the --db-host/... flags
// with COMPOZY_DB_PASSWORD, and then --db-conn-string.
func binaryPostgres(t *testing.T, bin string) {
	dsn := testenv.PostgresDB(t)
	host, port, _, name := pgParts(t, dsn)
	role, password := withPasswordRole(t, dsn)
	env := []string{"COMPOZY_DB_PASSWORD=" + password}
	db := []string{"--db-driver", "postgres", "--db-host", host, "--db-port", port, "--db-user", role, "--db-name", name, "--db-ssl-mode", "disable"}
	run := func(args ...string) cliRun {
		r := binRun(t, bin, t.TempDir(), env, append(args, db...)...)
		if strings.Contains(r.out+r.errOut, password) {
			t.Fatalf("the password was printed:\n%s%s", r.out, r.errOut)
		}
		return r
	}
	r := run("migrate", "up")
	wantCode(t, r, 0, "up")
	if len(okVersions(r.out)) != migrationsN {
		t.Fatalf("up:\n%s", r.out)
	}
	wantCode(t, run("migrate", "down"), 0, "down")
	wantCode(t, run("migrate", "status", "--check"), ExitPending, "status --check")
	wantCode(t, run("migrate", "up"), 0, "up")
	wantCode(t, run("migrate", "status", "--check"), 0, "status --check")
	// The same database through --db-conn-string.
	r = binRun(t, bin, t.TempDir(), nil, "migrate", "status", "--check", "--db-driver", "postgres", "--db-conn-string", dsn)
	wantCode(t, r, 0, "status --check via --db-conn-string")
}

// binaryConcurrent starts two `compozy migrate up` processes together on the same database, on
// both drivers, fresh and already started (where the runs really race: on a fresh database
// goose's version-table creation makes the loser retry a second later): both succeed and every
// migration is applied exactly once.
func binaryConcurrent(t *testing.T, bin string) {
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh", true: "started"}[started], func(t *testing.T) {
			t.Parallel()
			binaryConcurrentRun(t, bin, started)
		})
	}
}

func binaryConcurrentRun(t *testing.T, bin string, started bool) {
	cases := []struct {
		name string
		db   func(t *testing.T) (args []string, driver, dsn string)
	}{
		{"sqlite", func(t *testing.T) ([]string, string, string) {
			p := filepath.Join(t.TempDir(), "data", "compozy.db")
			return []string{"--db-driver", "sqlite", "--db-path", p}, "sqlite", p
		}},
		{"postgres", func(t *testing.T) ([]string, string, string) {
			dsn := testenv.PostgresDB(t)
			return []string{"--db-driver", "postgres", "--db-conn-string", dsn}, "pgx", dsn
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args, driver, dsn := tc.db(t)
			want := migrationsN
			if started {
				r := binRun(t, bin, t.TempDir(), nil, append([]string{"migrate", "up", "--to", firstVersion}, args...)...)
				wantCode(t, r, 0, "up --to "+firstVersion)
				want--
			}
			var cmds []*exec.Cmd
			var outs []*strings.Builder
			for range 2 {
				cmd := exec.CommandContext(t.Context(), bin, append([]string{"migrate", "up"}, args...)...)
				cmd.Dir, cmd.Env = t.TempDir(), cleanEnv()
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			for _, cmd := range cmds { // start them back to back
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
			}
			var applied []string
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("process %d: %v\n%s", i, err, outs[i])
				}
				applied = append(applied, okVersions(outs[i].String())...)
			}
			if len(applied) != want {
				t.Fatalf("the two processes applied %d migrations, want %d:\n%s\n%s", len(applied), want, outs[0], outs[1])
			}
			rows := versionRows(t, openTestDB(t, driver, dsn))
			if len(rows) != migrationsN+1 {
				t.Fatalf("goose_db_version = %v", rows)
			}
			for v, n := range rows {
				if n != 1 {
					t.Errorf("version %d recorded %d times", v, n)
				}
			}
		})
	}
}

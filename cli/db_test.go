package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/tui/term"
)

// migratedSQLite creates a migrated SQLite database in dir and returns its path.
func migratedSQLite(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "data", "compozy.db")
	if r := runCLI(t, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", path); r.code != 0 {
		t.Fatalf("migrate up: %d\n%s%s", r.code, r.out, r.errOut)
	}
	return path
}

// folderState is every file of dir with its content hash and mode.
func folderState(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		sum := sha256.Sum256(b)
		m[e.Name()] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
	}
	return m
}

// TestDBBenchSQLite: the JSON document has the documented shape, the configured variants run
// with no errors, and the user's database folder is exactly as it was (the scratch file is
// gone, the database untouched).
func TestDBBenchSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := migratedSQLite(t, dir)
	before := folderState(t, filepath.Dir(path))
	r := runCLI(t, dir, nil, "db", "bench", "--db-driver", "sqlite", "--db-path", path,
		"--workflows", "1,4", "--duration", "300ms", "--warmup", "0s", "--variants", "configured,naive,full", "--json")
	if r.code != 0 {
		t.Fatalf("db bench: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var doc struct {
		SchemaVersion int    `json:"schema_version"`
		Driver        string `json:"driver"`
		Target        string `json:"target"`
		Results       []struct {
			Variant           string           `json:"variant"`
			Workers           int              `json:"workers"`
			Workflows         int64            `json:"workflows"`
			WorkflowsPerSec   float64          `json:"workflows_per_sec"`
			TransitionsPerSec float64          `json:"transitions_per_sec"`
			WriteP50MS        *float64         `json:"write_p50_ms"`
			WriteP99MS        *float64         `json:"write_p99_ms"`
			ReadP50MS         *float64         `json:"read_p50_ms"`
			ReadP99MS         *float64         `json:"read_p99_ms"`
			FailedWorkflows   int64            `json:"failed_workflows"`
			Errors            map[string]int64 `json:"errors"`
		} `json:"results"`
		Ceilings []struct {
			CommitsPerSec float64 `json:"commits_per_sec"`
			Synchronous   string  `json:"synchronous"`
		} `json:"sqlite_commit_ceilings"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("bench --json is not JSON: %v\n%s", err, r.out)
	}
	if doc.SchemaVersion != 1 || doc.Driver != "sqlite" || !strings.Contains(doc.Target, path) {
		t.Errorf("header: %+v", doc)
	}
	if len(doc.Results) != 6 {
		t.Fatalf("%d results, want 3 variants x 2 levels", len(doc.Results))
	}
	for _, res := range doc.Results {
		if res.WriteP50MS == nil || res.WriteP99MS == nil || res.ReadP50MS == nil || res.ReadP99MS == nil || res.Errors == nil {
			t.Errorf("%s N=%d: missing fields", res.Variant, res.Workers)
		}
		if strings.Contains(res.Variant, "naive") {
			continue
		}
		if res.FailedWorkflows != 0 || len(res.Errors) != 0 || res.Workflows == 0 || res.WorkflowsPerSec <= 0 {
			t.Errorf("%s N=%d: %d workflows, %d failed, errors %v", res.Variant, res.Workers, res.Workflows, res.FailedWorkflows, res.Errors)
		}
	}
	if len(doc.Ceilings) != 2 || doc.Ceilings[0].CommitsPerSec <= 0 || doc.Ceilings[1].Synchronous != "FULL" || doc.Verdict == "" {
		t.Errorf("ceilings %+v, verdict %q", doc.Ceilings, doc.Verdict)
	}
	after := folderState(t, filepath.Dir(path))
	if len(before) != len(after) {
		t.Errorf("the database folder changed: %v -> %v", keys(before), keys(after))
	}
	for name, st := range before {
		if strings.HasSuffix(name, "-shm") || strings.HasSuffix(name, "-wal") {
			continue
		}
		if after[name] != st {
			t.Errorf("%s changed during the bench", name)
		}
	}

	// Plain output: a table and a verdict.
	r = runCLI(t, dir, nil, "db", "bench", "--db-driver", "sqlite", "--db-path", path,
		"--workflows", "2", "--duration", "200ms", "--warmup", "0s", "--variants", "configured", "--repeat", "3")
	if r.code != 0 || !strings.Contains(r.out, "VARIANT") || !strings.Contains(r.out, "Verdict: ") ||
		!strings.Contains(r.out, "3 runs per point") {
		t.Errorf("plain bench: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if r.errOut != "" {
		t.Errorf("progress written without a terminal: %q", r.errOut)
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func TestDBBenchUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--workflows", "0"},
		{"--workflows", "a,b"},
		{"--duration", "0s"},
		{"--variants", "fast"},
		{"--repeat", "0"},
	} {
		r := runCLI(t, dir, nil, append([]string{"db", "bench", "--db-driver", "sqlite", "--db-path", filepath.Join(dir, "x.db")}, args...)...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.code, ExitUsage, r.errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a refused bench created the database")
	}
}

// TestDBBackupSQLite: a backup next to the database, 0600, checked; a second one in the same
// second gets another name; --to an existing file is refused.
func TestDBBackupSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := migratedSQLite(t, dir)
	r := runCLI(t, dir, nil, "db", "backup", "--db-driver", "sqlite", "--db-path", path, "--json")
	if r.code != 0 {
		t.Fatalf("db backup: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var doc backupDoc
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(doc.File) != filepath.Dir(path) || doc.Check != "ok" || doc.SchemaVersion != 1 {
		t.Errorf("backup doc: %+v", doc)
	}
	info, err := os.Stat(doc.File)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v", err, info.Mode())
	}
	r2 := runCLI(t, dir, nil, "db", "backup", "--db-driver", "sqlite", "--db-path", path)
	if r2.code != 0 || strings.Contains(r2.out, doc.File+" ") {
		t.Errorf("second backup: exit %d\n%s%s", r2.code, r2.out, r2.errOut)
	}
	r3 := runCLI(t, dir, nil, "db", "backup", "--db-driver", "sqlite", "--db-path", path, "--to", doc.File)
	if r3.code != ExitFailed || !strings.Contains(r3.errOut, "already exists") {
		t.Errorf("backup onto an existing file: exit %d\n%s", r3.code, r3.errOut)
	}
}

// TestDBBackupPostgresCommand: without pg_dump on PATH, the exact command is printed, with the
// password neither on its command line nor anywhere in the output.
func TestDBBackupPostgresCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir) // no pg_dump
	r := runCLI(t, dir, []string{"COMPOZY_DB_PASSWORD=s3cr3t pw"}, "db", "backup", "--db-driver", "postgres",
		"--db-host", "db.example", "--db-user", "app", "--db-name", "compozy", "--to", filepath.Join(dir, "x.dump"))
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitFailed, r.out, r.errOut)
	}
	if strings.Contains(r.out+r.errOut, "s3cr3t") {
		t.Fatalf("password in the output:\n%s%s", r.out, r.errOut)
	}
	for _, want := range []string{"PGHOST=db.example", "PGUSER=app", "PGDATABASE=compozy", "PGPASSWORD='<password>'", "pg_dump --format=custom"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
}

// TestDBCopyCLI copies SQLite -> PostgreSQL -> SQLite through the command, then checks the
// refusals: a non-empty target, and writing without --yes when there is no terminal.
func TestDBCopyCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := migratedSQLite(t, dir)
	d, err := sqlite.Open(context.Background(), sqlite.Options{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Users().Create(context.Background(), &storage.User{ID: "u1", Email: "ana@example.com", Role: storage.RoleUser}); err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	pg := testenv.PostgresDB(t)
	r := runCLI(t, dir, nil, "db", "copy", "--from", src, "--to", pg)
	if r.code != ExitUsage || !strings.Contains(r.errOut, "--yes") {
		t.Fatalf("copy without --yes: exit %d\n%s", r.code, r.errOut)
	}
	r = runCLI(t, dir, nil, "db", "copy", "--from", src, "--to", pg, "--yes")
	if r.code != 0 || !strings.Contains(r.out, "every table matches") {
		t.Fatalf("copy to PostgreSQL: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	back := filepath.Join(dir, "back.db")
	r = runCLI(t, dir, nil, "db", "copy", "--from", pg, "--to", back, "--yes", "--json")
	if r.code != 0 {
		t.Fatalf("copy back: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var doc struct {
		SchemaVersion int                  `json:"schema_version"`
		OK            bool                 `json:"ok"`
		Tables        []dbcopy.TableResult `json:"tables"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || !doc.OK || doc.SchemaVersion != 1 || len(doc.Tables) != 4 {
		t.Fatalf("copy --json: %v\n%s", err, r.out)
	}
	// A target that holds rows is refused (exit 1) and --force replaces them.
	r = runCLI(t, dir, nil, "db", "copy", "--from", back, "--to", pg, "--yes")
	if r.code != ExitFailed || !strings.Contains(r.errOut, "already holds rows (users 1)") || !strings.Contains(r.errOut, "--force") {
		t.Fatalf("copy into a non-empty target: exit %d\n%s", r.code, r.errOut)
	}
	r = runCLI(t, dir, nil, "db", "copy", "--from", back, "--to", pg, "--yes", "--force")
	if r.code != 0 || !strings.Contains(r.out, "Replaced the rows") {
		t.Fatalf("copy --force: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if !strings.Contains(r.out, "Source: sqlite "+back) {
		t.Errorf("source not printed:\n%s", r.out)
	}
}

// TestDBBenchProgressOnTerminal: with standard error a terminal, a redrawn progress line goes
// there, and standard output stays plain.
func TestDBBenchProgressOnTerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := migratedSQLite(t, dir)
	r := runCLIWith(t, dir, cliIn{stderrTTY: true}, "db", "bench", "--db-driver", "sqlite", "--db-path", path,
		"--workflows", "2", "--duration", "500ms", "--warmup", "0s", "--variants", "configured")
	if r.code != 0 {
		t.Fatal(r.errOut)
	}
	if !strings.Contains(r.errOut, "\r\033[K") || !strings.Contains(r.errOut, "workflows") {
		t.Errorf("no progress line on the terminal: %q", r.errOut)
	}
	if strings.Contains(r.out, "\r") {
		t.Errorf("control characters on standard output: %q", r.out)
	}
}

func TestResolveDBArg(t *testing.T) {
	t.Parallel()
	f := &Factory{workDir: "/w"}
	ios, _, _, _ := term.Test()
	f.IO = ios
	for in, want := range map[string]string{
		"postgres://a@b/c":         "postgres",
		"postgresql://a@b/c":       "postgres",
		"host=db dbname=compozy":   "postgres",
		"./data/compozy.db":        "sqlite",
		"/abs/x=y.db":              "sqlite",
		"C:data.db":                "sqlite",
		"data/with space=weird.db": "sqlite",
	} {
		db, err := resolveDBArg(t.Context(), f, "--to", in)
		if err != nil || db.Driver != want {
			t.Errorf("%q: %s, %v; want %s", in, db.Driver, err, want)
		}
	}
	if db, _ := resolveDBArg(t.Context(), f, "--to", "x.db"); db.Path != "/w/x.db" {
		t.Errorf("relative path: %s", db.Path)
	}
}

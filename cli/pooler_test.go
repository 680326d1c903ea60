package cli

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// versionRowCount is how many rows goose_db_version holds; -1 when the table does not exist.
func versionRowCount(t *testing.T, db *sql.DB) int {
	t.Helper()
	var exists bool
	if err := db.QueryRowContext(t.Context(), "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		return -1
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM goose_db_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Through a transaction-pooling PgBouncer (.ci/run starts one): the doctor names it and says
// what breaks, migrate up and down refuse before changing anything (exit 2, naming the direct
// URL), and, with the schema migrated directly, the doctor's storage round trip and db bench
// work through it.
func TestPgBouncerThroughTheBinary(t *testing.T) {
	pooled, direct := testenv.PgBouncerDB(t)
	bin := buildCompozy(t)
	db := openTestDB(t, "pgx", direct)

	r := binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), "doctor", "--json", "--only", "postgres")
	d := parseDoctor(t, r)
	c := expectCheck(t, d, doctor.IDPostgresPooler, doctor.StatusWarn, `^PgBouncer [0-9.]+ \(transaction pooling\): session advisory locks \(the migration lock\) and named prepared statements`)
	if !strings.Contains(c.Fix.Text, "direct URL") || !strings.Contains(c.Fix.Text, "simple_protocol") {
		t.Errorf("fix %q: want the direct URL for migrations and the exec mode for the pooled one", c.Fix.Text)
	}
	if len(c.Fix.Commands) != 1 || !strings.Contains(c.Fix.Commands[0], "compozy migrate up --db-conn-string") || strings.Contains(c.Fix.Commands[0], ":6432/") {
		t.Errorf("fix commands %q: want migrate up through the server behind PgBouncer", c.Fix.Commands)
	}

	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "up", "--to", "20250603124835"}} {
		r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, "refused, nothing was changed") || !strings.Contains(r.errOut, "direct URL") {
			t.Errorf("%v through PgBouncer: exit %d, want %d naming the direct URL\n%s%s", args, r.code, ExitUsage, r.out, r.errOut)
		}
		if n := versionRowCount(t, db); n != -1 {
			t.Fatalf("%v through PgBouncer: goose_db_version has %d rows, want no table", args, n)
		}
	}

	r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(direct)...), "migrate", "up")
	if r.code != 0 {
		t.Fatalf("migrate up directly: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	before := versionRowCount(t, db)
	r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), "migrate", "down", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "refused, nothing was changed") {
		t.Errorf("migrate down through PgBouncer: exit %d, want %d\n%s%s", r.code, ExitUsage, r.out, r.errOut)
	}
	if after := versionRowCount(t, db); after != before {
		t.Errorf("migrate down through PgBouncer: goose_db_version went from %d to %d rows", before, after)
	}

	r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), "doctor", "--json")
	d = parseDoctor(t, r)
	for _, id := range []string{doctor.IDMigrationsTable, doctor.IDMigrationsPending, doctor.IDMigrationsDrift, doctor.IDStorageRoundTrip} {
		expectCheck(t, d, id, doctor.StatusPass, "")
	}
	if r.code != 0 {
		t.Errorf("doctor through PgBouncer: exit %d (a warning only is expected)\n%s", r.code, r.errOut)
	}

	r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), "db", "bench", "--json", "--workflows", "2", "--duration", "300ms", "--warmup", "0s")
	if r.code != 0 {
		t.Fatalf("db bench through PgBouncer: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	var bench struct {
		Results []struct {
			Workflows int            `json:"workflows"`
			Failed    int            `json:"failed_workflows"`
			Errors    map[string]int `json:"errors"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.out), &bench); err != nil || len(bench.Results) != 1 {
		t.Fatalf("db bench --json: %v\n%s", err, r.out)
	}
	if b := bench.Results[0]; b.Workflows == 0 || b.Failed != 0 || len(b.Errors) != 0 {
		t.Errorf("db bench through PgBouncer: %+v, want workflows and no failures", b)
	}
}

// A direct connection has no pooler, and migrate works (the refusal is for poolers only).
func TestPoolerCheckDirect(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	r := binRun(t, buildCompozy(t), t.TempDir(), cleanEnv(pgEnv(dsn)...), "doctor", "--json", "--only", "postgres")
	expectCheck(t, parseDoctor(t, r), doctor.IDPostgresPooler, doctor.StatusPass, "^no pooler")
}

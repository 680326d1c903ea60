package cli

import (
	"database/sql"
	"encoding/json"
	"net/url"
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

	upDirect := c.Fix.Commands[0]
	pgbouncerBeforeMigrating(t, bin, db, pooled, upDirect)

	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "up", "--to", "20250603124835"}} {
		r = binRun(t, bin, t.TempDir(), cleanEnv(pgEnv(pooled)...), args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, "refused, nothing was changed") || !strings.Contains(r.errOut, "direct URL") ||
			!strings.Contains(r.errOut, "for example "+upDirect+" (the password from COMPOZY_DB_PASSWORD or PGPASSWORD)") {
			t.Errorf("%v through PgBouncer: exit %d, want %d naming the direct URL's command %s\n%s%s", args, r.code, ExitUsage, upDirect, r.out, r.errOut)
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

// pgbouncerBeforeMigrating: through PgBouncer, with nothing migrated yet, the doctor's
// migration checks give upDirect (postgres.pooler's command) and are not fixable, --fix --yes
// skips them saying why (no FAILED line), --fix --dry-run counts no fix, migrate up --dry-run
// says the real run would be refused (exit 2, as the refusal) and migrate status names
// upDirect. Nothing is written, and the password is printed nowhere.
func pgbouncerBeforeMigrating(t *testing.T, bin string, db *sql.DB, pooled, upDirect string) {
	t.Helper()
	u, err := url.Parse(pooled)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	noSecret := func(what string, r cliRun) {
		t.Helper()
		if password != "" && strings.Contains(r.out+r.errOut, password) {
			t.Errorf("%s printed the password", what)
		}
	}
	if strings.Contains(upDirect, ":6432/") || !strings.HasPrefix(upDirect, "compozy migrate up --db-conn-string '") {
		t.Fatalf("postgres.pooler's command %q: want migrate up through the server behind PgBouncer", upDirect)
	}
	env := cleanEnv(pgEnv(pooled)...)

	r := binRun(t, bin, t.TempDir(), env, "doctor", "--json")
	d := parseDoctor(t, r)
	for _, id := range []string{doctor.IDMigrationsTable, doctor.IDMigrationsPending} {
		c, ok := d.get(id)
		switch {
		case !ok:
			t.Fatalf("no result for %s", id)
		case c.Fixable || !strings.HasPrefix(c.NotFixable, "compozy migrate up refuses to run through PgBouncer"):
			t.Errorf("%s: fixable %v, not_fixable %q: want not fixable, saying why", id, c.Fixable, c.NotFixable)
		case len(c.Fix.Commands) != 1 || c.Fix.Commands[0] != upDirect:
			t.Errorf("%s: fix commands %q, want postgres.pooler's %q", id, c.Fix.Commands, upDirect)
		}
	}
	noSecret("doctor --json", r)

	r = binRun(t, bin, t.TempDir(), env, "doctor", "--fix", "--yes")
	skipped := "Skipped migrations.tables, migrations.pending: compozy migrate up refuses to run through PgBouncer"
	if strings.Contains(r.out, "FAILED") || !strings.Contains(r.out, skipped) || !strings.Contains(r.out, "run instead:\n    $ "+upDirect+"\n") ||
		strings.Contains(r.out, "--fix can apply this") {
		t.Errorf("doctor --fix --yes through PgBouncer: want the migrations skipped with the direct URL's command, no FAILED\n%s%s", r.out, r.errOut)
	}
	noSecret("doctor --fix --yes", r)

	r = binRun(t, bin, t.TempDir(), env, "doctor", "--fix", "--dry-run")
	if !strings.Contains(r.out, skipped) || !strings.Contains(r.out, "Nothing to fix automatically.") || strings.Contains(r.out, "would be applied") {
		t.Errorf("doctor --fix --dry-run through PgBouncer: want the migrations skipped and no fix counted\n%s%s", r.out, r.errOut)
	}

	r = binRun(t, bin, t.TempDir(), env, "migrate", "up", "--dry-run")
	if r.code != ExitUsage || !strings.Contains(r.out, "9 migrations would be applied") ||
		!strings.Contains(r.errOut, "migrate up --dry-run: the real run would be refused and change nothing: the connection goes through PgBouncer") ||
		!strings.Contains(r.errOut, upDirect) {
		t.Errorf("migrate up --dry-run through PgBouncer: exit %d, want %d saying the real run would be refused, naming %s\n%s%s", r.code, ExitUsage, upDirect, r.out, r.errOut)
	}
	noSecret("migrate up --dry-run", r)

	r = binRun(t, bin, t.TempDir(), env, "migrate", "status")
	if r.code != 0 || !strings.Contains(r.out, "9 migrations pending (database at version 0, latest ") ||
		!strings.Contains(r.out, "; run "+upDirect+" (the server's direct URL: migrate up refuses to run through PgBouncer") ||
		strings.Contains(r.out, "run 'compozy migrate up'") {
		t.Errorf("migrate status through PgBouncer: exit %d, want the direct URL's command\n%s%s", r.code, r.out, r.errOut)
	}
	r = binRun(t, bin, t.TempDir(), env, "migrate", "version")
	if r.code != 0 || !strings.Contains(r.out, "Migrations are pending: run "+upDirect+" (the server's direct URL") {
		t.Errorf("migrate version through PgBouncer: exit %d, want the direct URL's command\n%s%s", r.code, r.out, r.errOut)
	}
	r = binRun(t, bin, t.TempDir(), env, "migrate", "status", "--check")
	if r.code != ExitPending || !strings.Contains(r.out, upDirect) {
		t.Errorf("migrate status --check through PgBouncer: exit %d, want %d naming %s\n%s%s", r.code, ExitPending, upDirect, r.out, r.errOut)
	}
	if n := versionRowCount(t, db); n != -1 {
		t.Fatalf("through PgBouncer: goose_db_version has %d rows, want no table", n)
	}
}

// A direct connection has no pooler, and migrate works (the refusal is for poolers only).
func TestPoolerCheckDirect(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	r := binRun(t, buildCompozy(t), t.TempDir(), cleanEnv(pgEnv(dsn)...), "doctor", "--json", "--only", "postgres")
	expectCheck(t, parseDoctor(t, r), doctor.IDPostgresPooler, doctor.StatusPass, "^no pooler")
}

// Through .ci/run's PgBouncer (max_client_conn 200, default_pool_size 20), postgres.connections
// weighs the replicas against PgBouncer's max_client_conn and PgBouncer's pool (not replicas ×
// max_open_conns) against the server: three replicas of 25 fit, ten (250 clients) do not, and
// the fix names the PgBouncer setting; the server side stays the pool's 20 either way.
func TestPgBouncerConnectionBudget(t *testing.T) {
	pooled, _ := testenv.PgBouncerDB(t)
	bin := buildCompozy(t)
	dir := t.TempDir()
	server := `; the server: PgBouncer's pool for user postgres on database compozy_test_\w+ opens up to 20 \(pool_size 20 \+ reserve_pool 0\) \+ \d+ held by other clients = \d+ of \d+ connections \(max_connections \d+ - \d+ superuser_reserved_connections.*\): \d+%`
	r := binRun(t, bin, dir, cleanEnv(pgEnv(pooled)...), "doctor", "--json", "--only", doctor.IDPostgresConnections, "--replicas", "3")
	expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnections, doctor.StatusPass,
		`^PgBouncer 1\.\d+\.\d+: 3 × max_open_conns 25 \+ \d+ other clients = \d+ of max_client_conn 200 client connections: \d+%`+server)
	if r.code != 0 {
		t.Errorf("three replicas through PgBouncer: exit %d\n%s", r.code, r.errOut)
	}

	r = binRun(t, bin, dir, cleanEnv(pgEnv(pooled, "COMPOZY_REPLICAS=10")...), "doctor", "--json", "--only", doctor.IDPostgresConnections)
	c := expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnections, doctor.StatusFail,
		`^PgBouncer 1\.\d+\.\d+: 10 × max_open_conns 25 \+ \d+ other clients = 2\d\d of max_client_conn 200 client connections: 1\d\d%`+server+
			`\n.*no more connections allowed \(max_client_conn\)`)
	if !strings.Contains(c.Fix.Text, "raise max_client_conn in pgbouncer.ini") || !strings.Contains(c.Fix.Text, "lower database.max_open_conns") {
		t.Errorf("fix %q: want max_client_conn and max_open_conns named", c.Fix.Text)
	}
	if r.code != 1 {
		t.Errorf("ten replicas through PgBouncer: exit %d, want 1\n%s", r.code, r.errOut)
	}
}

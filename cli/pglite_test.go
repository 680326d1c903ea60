package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// Real pgvector (PGlite, which .ci/run starts; COMPOZY_TEST_PGVECTOR_DSN): compozy init chooses
// PostgreSQL with pgvector from flags, migrates, creates the vector table and ends with a doctor
// whose vector.pgvector.* checks pass; a second vector DB added to the file is a table the
// doctor misses and --fix creates. PGlite runs every client on one session: compozy is given the
// DSN a user would write (without default_query_exec_mode), finds PGlite itself and runs the
// storage and the pgvector store in the simple protocol (vector.pgvector.reachable says so); the
// doctor warns that the migration lock cannot keep a second migrator out (postgres.pooler). The
// PGlite server is shared: every name here is the test's own.
func TestPgvectorOnPGlite(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	bin := buildCompozy(t)
	dir := t.TempDir()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "kb_" + hex.EncodeToString(b)

	r := binRun(t, bin, dir, cleanEnv(), "init", "--db-driver", "postgres", "--db-conn-string", dsn,
		"--vector-provider", "pgvector", "--dimension", "3", "--yes", "--migrate")
	if r.code != 0 {
		t.Fatalf("init: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if !strings.Contains(r.out, `✓ Created the pgvector table of vector DB "main"`) && !strings.Contains(r.out, "vector.pgvector.table [main]") {
		t.Errorf("init did not create or check the pgvector table:\n%s", r.out)
	}
	yaml, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(yaml), "provider: pgvector") || !strings.Contains(string(yaml), "driver: postgres") {
		t.Fatalf("compozy.yaml:\n%s", yaml)
	}

	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--json")
	d := parseDoctor(t, r)
	for _, id := range []string{"vector.pgvector.reachable", "vector.pgvector.extension", "vector.pgvector.table", "vector.pgvector.index",
		doctor.IDVectorDimension, doctor.IDMigrationsPending, doctor.IDStorageRoundTrip} {
		expectCheck(t, d, id, doctor.StatusPass, "")
	}
	expectCheck(t, d, doctor.IDPostgresPooler, doctor.StatusWarn, `^PGlite \(one session shared by every client\)`)
	expectCheck(t, d, "vector.pgvector.reachable", doctor.StatusPass, `queries run in the simple protocol \(nothing prepared on the server\): PGlite`)
	if r.code != 0 {
		t.Errorf("doctor: exit %d\n%s", r.code, r.out)
	}

	// Another knowledge base in its place: its table does not exist yet. (One vector DB at a
	// time: PGlite admits the few connections .ci/run gives it, -m.)
	more := strings.Replace(string(yaml), "    - id: main\n", "    - id: "+id+"\n", 1)
	if more == string(yaml) {
		t.Fatalf("cannot rename the vector DB in:\n%s", yaml)
	}
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(more), 0o600); err != nil {
		t.Fatal(err)
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--json", "--only", "vector")
	if r.code != 1 || !strings.Contains(r.out, "compozy_vectors_"+id) {
		t.Errorf("doctor with a missing pgvector table: exit %d, want 1 naming the table\n%s", r.code, r.out)
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--fix", "--yes")
	if r.code != 0 {
		t.Errorf("doctor --fix --yes: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--json", "--only", "vector")
	d = parseDoctor(t, r)
	for _, c := range d.Checks {
		if c.Status != doctor.StatusPass {
			t.Errorf("after --fix: %s %s: %s", c.ID, c.Status, c.Summary)
		}
	}
	// The test's own handle (database/sql, pgx's statement cache) says the mode itself.
	db := openTestDB(t, "pgx", testenv.PgvectorDSN(t))
	if _, err := db.ExecContext(t.Context(), "DROP TABLE IF EXISTS compozy_vectors_"+id); err != nil {
		t.Errorf("drop the test's table: %v", err)
	}
}

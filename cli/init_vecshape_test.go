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

// TestInitVectorShapeConflictFilesystem: init's connection test describes the filesystem store
// the entry names. One that holds vectors of another dimension is refused without questions
// (exit 2, nothing written, the flags that resolve it named); in the form, "Use it as it is"
// writes its dimension. The store is left as it was.
func TestInitVectorShapeConflictFilesystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A store of 4 dimensions, made the way a user would: init --migrate creates it.
	r := runCLI(t, dir, nil, "init", "-o", "first.yaml", "--db-driver", "sqlite", "--db-path", ":memory:",
		"--vector-provider", "filesystem", "--dimension", "4", "--yes", "--migrate")
	if r.code != 0 || !strings.Contains(r.out, "✓ Created vector store") {
		t.Fatalf("first init: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	store := filepath.Join(dir, "data", "vectors")
	before := storeFiles(t, store)

	r = runCLI(t, dir, nil, "init", "--db-driver", "sqlite", "--db-path", ":memory:", "--vector-provider", "filesystem", "--yes")
	if r.code != ExitUsage {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitUsage, r.out, r.errOut)
	}
	all := r.out + r.errOut
	for _, want := range []string{`✗ vector DB "main" (filesystem) answers, but filesystem store`, "holds 4-dimension vectors (0 stored), not 1536",
		"nothing was written", "--dimension 4", "--vector-path DIR"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Error("compozy.yaml written after the conflict")
	}

	// The form: use it as it is; write; do not run.
	r = runCLIWith(t, dir, cliIn{stdin: "1\ny\nn\n"}, "init", "--accessible", "--db-driver", "sqlite", "--db-path", ":memory:", "--vector-provider", "filesystem")
	if r.code != 0 || !strings.Contains(r.out, "The vector DB already holds a store of another shape.") {
		t.Fatalf("form: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	content, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := loads(t, dir, string(content)); cfg.Knowledge.VectorDBs[0].Dimension != 4 {
		t.Errorf("dimension %d, want 4:\n%s", cfg.Knowledge.VectorDBs[0].Dimension, content)
	}
	if after := storeFiles(t, store); after != before {
		t.Errorf("the store changed:\n%s\n%s", before, after)
	}
}

// storeFiles is every file under dir with its size and content hash, in order.
func storeFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + " " + string(data) + "\n")
		}
		return nil
	})
	return b.String()
}

// TestInitPgvectorShapeConflictOnPGlite: a pgvector table that exists with another dimension
// (vector(3), the answers 1536) is not "answers": init --yes exits 2 naming the table, the server
// and --dimension 3 / --vector-id ID, and writes nothing; --dimension 3 then writes; in the form,
// "Use another vector DB id" writes the new id. The doctor's vector.dimension fix for the table
// is a psql command naming the server, and --fix --yes does not run it. The table is never
// dropped or changed (its own name: the PGlite server is shared).
func TestInitPgvectorShapeConflictOnPGlite(t *testing.T) {
	dsn := testenv.PlainPgvectorDSN(t)
	bin := buildCompozy(t)
	dir := t.TempDir()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "try_" + hex.EncodeToString(b)
	table := "compozy_vectors_" + id
	db := openTestDB(t, "pgx", testenv.PgvectorDSN(t))
	for _, stmt := range []string{"CREATE EXTENSION IF NOT EXISTS vector",
		`CREATE TABLE "` + table + `" (id text PRIMARY KEY, embedding vector(3) NOT NULL, payload jsonb NOT NULL DEFAULT '{}'::jsonb)`,
		`INSERT INTO "` + table + `" (id, embedding) VALUES ('a', '[1,2,3]')`} {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = db.Exec(`DROP TABLE IF EXISTS "` + table + `"`) })
	intact := func(when string) {
		t.Helper()
		var typmod, n int
		if err := db.QueryRowContext(t.Context(), `SELECT a.atttypmod, (SELECT count(*) FROM "`+table+`")
			FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding'`, table).Scan(&typmod, &n); err != nil || typmod != 3 || n != 1 {
			t.Errorf("%s: the table is not as it was: vector(%d), %d rows, %v", when, typmod, n, err)
		}
	}
	flags := []string{"init", "--db-driver", "postgres", "--db-conn-string", dsn, "--vector-provider", "pgvector", "--vector-id", id}

	r := binRun(t, bin, dir, cleanEnv(), append(flags, "--yes")...)
	all := r.out + r.errOut
	if r.code != ExitUsage {
		t.Fatalf("--yes: exit %d, want %d\n%s", r.code, ExitUsage, all)
	}
	for _, want := range []string{`✗ vector DB "` + id + `" (pgvector) answers, but pgvector table "` + table + `" at 127.0.0.1:`,
		"holds 3-dimension vectors (1 stored), not 1536", "nothing was written", "--dimension 3", "--vector-id ID"} {
		if !strings.Contains(all, want) {
			t.Errorf("--yes: output lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "✓ vector DB") {
		t.Errorf("--yes: the vector DB is said to answer as it is:\n%s", all)
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Fatal("compozy.yaml written after the conflict")
	}
	intact("after --yes")

	r = binRun(t, bin, dir, cleanEnv(), append(flags, "--dimension", "3", "--yes")...)
	if r.code != 0 || !strings.Contains(r.out, "already holds 1 vectors of 3 dimensions") {
		t.Fatalf("--dimension 3: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	content, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if err != nil || !strings.Contains(string(content), "dimension: 3") {
		t.Fatalf("compozy.yaml (%v):\n%s", err, content)
	}

	// The file says 1536 again: the doctor's fix names the server and runs nowhere by itself.
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(strings.Replace(string(content), "dimension: 3", "dimension: 1536", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--json", "--only", "vector")
	d := parseDoctor(t, r)
	res := expectCheck(t, d, doctor.IDVectorDimension, doctor.StatusFail, "holds 3-dimension vectors but the config says 1536")
	if len(res.Fix.Commands) != 1 || !strings.HasPrefix(res.Fix.Commands[0], "psql 'postgres://") ||
		!strings.Contains(res.Fix.Commands[0], "127.0.0.1:") || !strings.HasSuffix(res.Fix.Commands[0], ` -c 'DROP TABLE "`+table+`";'`) ||
		!strings.Contains(res.Fix.Text, "run this SQL on the vector server 127.0.0.1:") {
		t.Errorf("vector.dimension fix: %+v", res.Fix)
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--only", "vector")
	if !strings.Contains(r.out, "$ psql 'postgres://") || strings.Contains(r.out, "$ DROP TABLE") {
		t.Errorf("doctor prints the fix as:\n%s", r.out)
	}
	_ = binRun(t, bin, dir, cleanEnv(), "doctor", "--only", "vector", "--fix", "--yes")
	intact("after doctor --fix --yes")

	// The form, on another file: another vector DB id (its table is created on first use).
	other := id + "_b"
	r = binRunWith(t, bin, dir, binIn{env: cleanEnv(), stdin: "2\n" + other + "\ny\nn\n"}, append(flags, "--accessible", "-o", "b.yaml")...)
	if r.code != 0 || !strings.Contains(r.out, "The vector DB already holds a table of another shape.") {
		t.Fatalf("form: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	content, err = os.ReadFile(filepath.Join(dir, "b.yaml"))
	if err != nil || !strings.Contains(string(content), "id: "+other) || !strings.Contains(string(content), "dimension: 1536") {
		t.Errorf("b.yaml (%v):\n%s", err, content)
	}
	intact("after the form")
}

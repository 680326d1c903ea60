package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/internal/testenv"
)

// TestInitPgvectorURLComments: with --vector-url the written YAML names the other server where
// pgvector is (no password), not "the PostgreSQL above"; a URL that is not a postgres:// URL is
// refused (exit 2); and a PostgreSQL without pgvector fails the test with the way out named:
// --vector-url.
func TestInitPgvectorURLComments(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t) // the plain PostgreSQL: no pgvector
	const secret = "Hq5Rt8Wm"

	dir := t.TempDir()
	r := binRun(t, bin, dir, cleanEnv(), "init", "--use-case", "production", "--db-conn-string", dsn,
		"--vector-url", "postgres://vec:"+secret+"@vec.internal:5433/vectors?sslmode=require", "--yes", "--dry-run")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	out := testenv.JoinComments(r.out)
	for _, want := range []string{
		"# On another PostgreSQL server, vec.internal:5433/vectors, not the database above (CREATE EXTENSION vector there).",
		"vector search: pgvector, on another PostgreSQL server, vec.internal:5433/vectors",
		`url: "postgres://vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors?sslmode=require"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--vector-url: the YAML lacks %q:\n%s", want, r.out)
		}
	}
	for _, bad := range []string{"Inside the PostgreSQL above", "inside the same PostgreSQL"} {
		if strings.Contains(r.out, bad) {
			t.Errorf("--vector-url: the YAML says %q:\n%s", bad, r.out)
		}
	}
	if strings.Contains(r.out+r.errOut, secret) {
		t.Errorf("the password shows:\n%s%s", r.out, r.errOut)
	}

	r = binRun(t, bin, dir, cleanEnv(), "init", "--use-case", "production", "--db-conn-string", dsn,
		"--vector-url", "host=vec.internal password="+secret, "--yes", "--dry-run")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "--vector-url: enter a URL that starts with postgres://") || strings.Contains(r.errOut, secret) {
		t.Errorf("a key=value --vector-url: exit %d\n%s", r.code, r.errOut)
	}

	r = binRun(t, bin, dir, cleanEnv(), "init", "--use-case", "production", "--db-conn-string", dsn, "--dimension", "8", "--yes")
	all := r.out + r.errOut
	if r.code != ExitFailed || !strings.Contains(all, `pg_available_extensions has no "vector"`) ||
		!strings.Contains(all, "put pgvector on another PostgreSQL server") || !strings.Contains(all, "--vector-url postgres://USER@HOST:5432/DB") {
		t.Errorf("no pgvector: exit %d, want %d naming --vector-url\n%s", r.code, ExitFailed, all)
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Errorf("compozy.yaml written")
	}
}

// TestInitFormPgvectorElsewhereOnPGlite drives the form on a terminal: PostgreSQL (the plain
// server, without pgvector) with pgvector in the same PostgreSQL fails the connection test
// with the reason; the failure's first choice, another server for pgvector, asks its URL (PGlite
// with pgvector, with a password, masked as typed); the test passes, and the file names that
// server, reads the password from ${COMPOZY_VECTOR_PASSWORD}, and holds no password. Serial:
// PGlite runs one session for every client; the test only reads there (--vector-id of its own).
func TestInitFormPgvectorElsewhereOnPGlite(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	vec := testenv.PlainPgvectorDSN(t)
	const secret = "Pg7Secret"
	vecURL := strings.Replace(vec, "postgres://postgres@", "postgres://postgres:"+secret+"@", 1)
	if vecURL == vec {
		t.Fatalf("the PGlite DSN has another user than postgres: %s", vec)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "try_" + hex.EncodeToString(b)

	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init", "--vector-id", id)
	chooseProduction(s)
	for _, step := range []struct{ question, keys string }{
		{"How many workflows run at once?", "\r"},
		{"Do you need knowledge bases", "y"},
		{"Can you run or reach a PostgreSQL server?", "y"},
		{"For vector search, what do you already have?", "\r"},
		{"Use postgres with vector DB pgvector?", "y"},
		{"How do you connect to PostgreSQL?", "\x1b[B"},
	} {
		s.step(step.question, step.keys)
	}
	s.waitFor("a connection string selected", func(sc string) bool { return strings.Contains(sc, "> A connection string") })
	s.press("\r")
	s.focus("Connection string")
	s.press("\x15" + dsn + "\r")
	s.focus("Password")
	s.press("\r")
	sc := s.focus("Where is pgvector?")
	if !strings.Contains(sc, "> In the same PostgreSQL") || !strings.Contains(sc, "On another PostgreSQL server") {
		t.Errorf("the question does not offer both, the same first:\n%s", sc)
	}
	s.press("\r")
	s.focus("Embedding dimension")
	s.press("\r")
	sc = s.waitFor("the failure choice", func(sc string) bool {
		return strings.Contains(sc, "┃ The connection test failed.") && strings.Contains(sc, "> Use another PostgreSQL server for pgvector")
	})
	for _, want := range []string{`pg_available_extensions has no "vector"`, "--vector-url"} {
		if !strings.Contains(sc, want) {
			t.Errorf("the failure screen lacks %q:\n%s", want, sc)
		}
	}
	s.press("\r")
	s.focus("pgvector server URL")
	s.press(vecURL)
	sc = s.waitFor("the URL typed", func(sc string) bool { return strings.Contains(sc, "127.0.0.1:55432") })
	if strings.Contains(sc, secret) {
		t.Errorf("the password shows while typed:\n%s", sc)
	}
	s.press("\r")
	sc = s.focus("Write compozy.yaml?")
	if !strings.Contains(sc, "✓ vector DB \""+id+"\" (pgvector)") || !strings.Contains(testenv.JoinComments(sc), "On another PostgreSQL server, 127.0.0.1:55432/postgres") {
		t.Errorf("the second test or the YAML shown:\n%s", sc)
	}
	s.press("y")
	s.focus("Run compozy migrate up and compozy doctor now?")
	s.press("n")
	_ = s.cmd.Wait()
	<-s.readDone
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.screen())
	}
	if sc := s.screen(); strings.Contains(sc, secret) || !strings.Contains(sc, "COMPOZY_VECTOR_PASSWORD") {
		t.Errorf("the final screen shows the password, or does not name the variable:\n%s", sc)
	}
	written := readFile(t, filepath.Join(dir, "compozy.yaml"))
	joined := testenv.JoinComments(written)
	for _, want := range []string{
		"# On another PostgreSQL server, 127.0.0.1:55432/postgres, not the database above (CREATE EXTENSION vector there).",
		"vector search: pgvector, on another PostgreSQL server, 127.0.0.1:55432/postgres",
		`url: "postgres://postgres:${COMPOZY_VECTOR_PASSWORD}@127.0.0.1:55432/postgres`,
		"id: " + id,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("compozy.yaml lacks %q:\n%s", want, written)
		}
	}
	if strings.Contains(written, secret) || strings.Contains(written, "Inside the PostgreSQL above") || strings.Contains(written, "inside the same PostgreSQL") {
		t.Errorf("compozy.yaml:\n%s", written)
	}
}

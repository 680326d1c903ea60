package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/templates"
	"compozy.dev/setup/wizard"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loads(t *testing.T, dir, content string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes(t.Context(), "compozy.yaml", []byte(content), config.LoadOptions{WorkDir: dir,
		Getenv: func(k string) string {
			if k == wizard.PasswordEnv {
				return "x"
			}
			return ""
		}, Environ: func() []string { return []string{wizard.PasswordEnv + "=x"} }})
	if err != nil {
		t.Fatalf("the written file does not load: %v\n%s", err, content)
	}
	return cfg
}

// TestInitNonTerminal: without a terminal and without enough flags, init exits 2 naming the
// missing flags, asks nothing, and writes nothing.
func TestInitNonTerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "needs --use-case, --workflows, --vectors, --server"},
		{[]string{"init", "--use-case", "dev", "--workflows", "1-10", "--vectors"}, "needs --server, --vector-available"},
		{[]string{"init", "--yes"}, "needs --use-case"},
	} {
		r := runCLI(t, dir, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, r.code, tc.want, r.errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

// TestInitFlags writes the file from flags alone, exactly what the template renders for the
// plan, and it loads; --dry-run prints the same YAML and writes nothing.
func TestInitFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"init", "--use-case", "single-tenant", "--workflows", "25-100", "--vectors", "--server=false",
		"--vector-available", "qdrant", "--vector-url", "http://127.0.0.1:1", "--dimension", "768", "--skip-test"}
	plan, err := wizard.Decide(wizard.Answers{UseCase: wizard.UseSingleTenant, Workflows: wizard.Workflows25to100, Vectors: true, Available: wizard.AvailQdrant})
	if err != nil {
		t.Fatal(err)
	}
	s := wizard.DefaultSettings()
	s.VectorURL, s.Dimension = "http://127.0.0.1:1", 768
	want, err := templates.Render(wizard.Data(plan, s))
	if err != nil {
		t.Fatal(err)
	}

	dry := runCLI(t, dir, nil, append(args, "--dry-run")...)
	if dry.code != 0 || dry.out != string(want) {
		t.Fatalf("--dry-run: exit %d\n%s\n%s", dry.code, dry.out, dry.errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Fatal("--dry-run wrote the file")
	}

	r := runCLI(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	got := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if got != string(want) {
		t.Errorf("written file differs from the rendered plan:\n%s", got)
	}
	for _, w := range []string{"Plan: sqlite + vector DB qdrant", "✓ Wrote compozy.yaml", "compozy migrate up", "compozy doctor"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q:\n%s", w, r.out)
		}
	}
	cfg := loads(t, dir, got)
	if cfg.Knowledge.VectorDBs[0].Dimension != 768 || cfg.Database.Driver != "sqlite" {
		t.Errorf("loaded %+v", cfg)
	}
	fi, _ := os.Stat(filepath.Join(dir, "compozy.yaml"))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}

	// The driver and vector DB named directly; pgvector with SQLite is refused with the reason.
	r = runCLI(t, dir, nil, "init", "-o", "other.yaml", "--db-driver", "sqlite", "--db-path", ":memory:", "--vector-provider", "filesystem", "--yes")
	if r.code != 0 || !strings.Contains(readFile(t, filepath.Join(dir, "other.yaml")), `path: ":memory:"`) {
		t.Errorf("--db-driver/--vector-provider: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	r = runCLI(t, dir, nil, "init", "-o", "bad.yaml", "--db-driver", "sqlite", "--vector-provider", "pgvector", "--yes")
	if r.code != 2 || !strings.Contains(r.errOut, "pgvector provider is incompatible with SQLite driver") {
		t.Errorf("sqlite + pgvector: exit %d\n%s", r.code, r.errOut)
	}

	// --migrate runs what the next steps name: the store, the migrations, a green doctor.
	fresh := t.TempDir()
	r = runCLI(t, fresh, nil, "init", "--use-case", "dev", "--yes", "--migrate")
	if r.code != 0 || !strings.Contains(r.out, "✓ Applied ") || !strings.Contains(r.out, "No problems found.") {
		t.Errorf("--migrate: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
}

// existingConfig has sections compozy does not own, with comments, and both owned sections.
const existingConfig = `# Project settings (hand-written)
server:
  port: 5001 # API

database:
  driver: postgres
  host: old-host

knowledge:
  embedder: openai # mine
  vector_dbs:
    - id: old
      provider: qdrant
      url: http://old:6333
      dimension: 768

runtime:
  max_concurrent_workflows: 8 # mine
`

// TestInitExistingFile: without --update or --force init refuses and says how to proceed;
// with --update only the owned sections change (every other byte survives) after a backup.
func TestInitExistingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.yaml")
	writeFile(t, path, existingConfig)
	args := []string{"init", "--use-case", "dev", "--yes"}
	r := runCLI(t, dir, nil, args...)
	if r.code != 2 || !strings.Contains(r.errOut, "compozy.yaml exists and is kept: pass --update") {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	if readFile(t, path) != existingConfig {
		t.Fatal("the refused run changed the file")
	}
	for _, flag := range []string{"--update", "--force"} {
		writeFile(t, path, existingConfig)
		r = runCLI(t, dir, nil, append(args, flag)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", flag, r.code, r.out, r.errOut)
		}
		got := readFile(t, path)
		for _, keep := range []string{"# Project settings (hand-written)\nserver:\n  port: 5001 # API\n\ndatabase:\n",
			"\n\nknowledge:\n  embedder: openai # mine\n  vector_dbs:\n    - id: main\n",
			"      metric: cosine\n\nruntime:\n  max_concurrent_workflows: 8 # mine\n"} {
			if !strings.Contains(got, keep) {
				t.Errorf("%s: lost %q:\n%s", flag, keep, got)
			}
		}
		if strings.Contains(got, "old-host") || strings.Contains(got, "id: old") {
			t.Errorf("%s: old sections kept:\n%s", flag, got)
		}
		loads(t, dir, got)
		if !strings.Contains(r.out, "backup of the previous file: compozy.yaml.") {
			t.Errorf("%s: no backup named:\n%s", flag, r.out)
		}
	}
	baks, _ := filepath.Glob(filepath.Join(dir, "compozy.yaml.*.bak"))
	if len(baks) != 2 {
		t.Fatalf("backups: %v", baks)
	}
	for _, b := range baks {
		if readFile(t, b) != existingConfig {
			t.Errorf("backup %s differs", b)
		}
	}
}

// TestInitAccessible answers every question on piped standard input in accessible mode; input
// that ends early is an error, not a silent default.
func TestInitAccessible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// use case dev, 1-10, vectors yes, server no, "nothing yet", accept, path, folder and
	// dimension (Enter keeps the default), write yes, run no.
	r := runCLIWith(t, dir, cliIn{stdin: "1\n1\ny\nn\n3\ny\n./db/app.db\n\n384\ny\nn\n"}, "init", "--accessible")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	got := readFile(t, filepath.Join(dir, "compozy.yaml"))
	cfg := loads(t, dir, got)
	if cfg.Database.Driver != "sqlite" || cfg.Database.Path != filepath.Join(dir, "db/app.db") ||
		cfg.Knowledge.VectorDBs[0].Provider != "filesystem" || cfg.Knowledge.VectorDBs[0].Dimension != 384 {
		t.Errorf("loaded %+v %+v\n%s", cfg.Database, cfg.Knowledge, got)
	}
	for _, w := range []string{"What is this setup for?", "Enter a number between 1 and 5", "Recommendation", "Matrix row: Local development",
		"Use sqlite with vector DB filesystem? [Y/n]", "Write compozy.yaml? [Y/n]"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q", w)
		}
	}

	// ACCESSIBLE=1 turns it on too; input that ends early writes nothing and exits 2, naming
	// the question it ended at.
	dir2 := t.TempDir()
	r = runCLIWith(t, dir2, cliIn{env: []string{"ACCESSIBLE=1"}, stdin: "2\n"}, "init")
	if r.code != 2 || !strings.Contains(r.errOut, `standard input ended at the question "How many workflows run at once?"`) {
		t.Errorf("short input: exit %d\n%s", r.code, r.errOut)
	}
	if _, err := os.Stat(filepath.Join(dir2, "compozy.yaml")); err == nil {
		t.Error("short input wrote the file")
	}
}

// TestInitPostgres tests the connection before writing, against the real PostgreSQL: a closed
// port and a wrong password write nothing and say what failed (without the password); the
// right password writes a file that holds only the ${COMPOZY_DB_PASSWORD} reference; a database
// that already holds Compozy's schema is recognised.
func TestInitPostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	host, port, _, name := pgParts(t, dsn)
	base := []string{"init", "--use-case", "production", "--workflows", "25-100", "--vectors=false", "--server",
		"--db-host", host, "--db-name", name, "--db-ssl-mode", "disable"}

	t.Run("closed port", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLI(t, dir, nil, append(base, "--db-port", "1", "--db-user", "postgres")...)
		if r.code != 1 || !strings.Contains(r.out, "✗ database") || !strings.Contains(r.out, "connection refused") ||
			!strings.Contains(r.errOut, "nothing was written") {
			t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
			t.Error("written after a failed test")
		}
	})

	role := "compozy_pw_" + fmt.Sprint(time.Now().UnixNano()%1e9)
	admin := testenv.AdminPostgresDSN()
	requirePasswordRule(t, admin)
	adminExec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'right-Secret' IN ROLE compozy_pwtest", role))
	t.Cleanup(func() { adminExec(t, admin, "DROP ROLE IF EXISTS "+role) })
	args := append(base, "--db-port", port, "--db-user", role)

	t.Run("wrong password", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLI(t, dir, []string{"COMPOZY_DB_PASSWORD=wrong-Secret"}, args...)
		if r.code != 1 || !strings.Contains(r.out, "password authentication failed") {
			t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
		if strings.Contains(r.out+r.errOut, "wrong-Secret") {
			t.Error("the password leaked into the output")
		}
		if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
			t.Error("written after a failed test")
		}
	})

	t.Run("right password", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLIWith(t, dir, cliIn{stdin: "right-Secret\n"}, append(args, "--db-password-stdin")...)
		if r.code != 0 || !strings.Contains(r.out, "✓ database") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
		got := readFile(t, filepath.Join(dir, "compozy.yaml"))
		if strings.Contains(got+r.out+r.errOut, "right-Secret") || !strings.Contains(got, `password: "${COMPOZY_DB_PASSWORD}"`) {
			t.Errorf("the file or output holds the password, or no reference:\n%s", got)
		}
		if !strings.Contains(r.out, "with COMPOZY_DB_PASSWORD set in the environment") {
			t.Errorf("next steps do not mention the password variable:\n%s", r.out)
		}
	})

	t.Run("existing Compozy database", func(t *testing.T) {
		if r := runCLI(t, t.TempDir(), pgEnv(dsn), "migrate", "up"); r.code != 0 {
			t.Fatalf("migrate up: %s", r.errOut)
		}
		dir := t.TempDir()
		r := runCLI(t, dir, nil, append(base, "--db-port", port, "--db-user", "postgres")...)
		if r.code != 0 || !strings.Contains(r.out, "already holds a Compozy database at version") {
			t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
		}
	})
}

// TestInitConnectionFailureChoices: after a failed connection test the wizard offers to change
// the answers, write anyway, or quit (driven in accessible mode against a closed port).
func TestInitConnectionFailureChoices(t *testing.T) {
	t.Parallel()
	// dev, 1-10, vectors, no server, Qdrant, accept, path, URL of a closed port, dimension.
	const toFailure = "1\n1\ny\nn\n1\ny\n\nhttp://127.0.0.1:1\n\n"
	for _, tc := range []struct {
		name, then string
		code       int
		provider   string
	}{
		{"quit", "3\n", 0, ""},
		{"write anyway", "2\ny\nn\n", 0, "qdrant"},
		// Back at the recommendation, every answer kept: choose sqlite and the filesystem
		// store; path, folder and dimension as they were; write; do not run.
		{"change the answers", "1\nn\n1\n3\n\n\n\ny\nn\n", 0, "filesystem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLIWith(t, dir, cliIn{stdin: toFailure + tc.then}, "init", "--accessible")
			if r.code != tc.code || !strings.Contains(r.out, "The connection test failed.") || !strings.Contains(r.out, "no Qdrant gRPC server answers") {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tc.code, r.out, r.errOut)
			}
			content, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
			if tc.provider == "" {
				if err == nil {
					t.Error("quit wrote the file")
				}
				if !strings.HasSuffix(strings.TrimSpace(r.out), "Nothing was written.") {
					t.Errorf("quitting does not end with \"Nothing was written.\":\n%s", r.out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg := loads(t, dir, string(content)); cfg.Knowledge.VectorDBs[0].Provider != tc.provider {
				t.Errorf("provider %s, want %s", cfg.Knowledge.VectorDBs[0].Provider, tc.provider)
			}
		})
	}
}

// TestInitVectorTest: the connection test runs the provider's server checks, so a plain Redis
// (no RediSearch) is refused before anything is written.
func TestInitVectorTest(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr()
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
		testenv.Unavailable(t, "Redis", "start redis-server on "+addr+" or set COMPOZY_TEST_REDIS_ADDR", err)
	} else {
		c.Close()
	}
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "init", "--use-case", "dev", "--yes", "--vector-available", "redis", "--vector-url", "redis://"+addr)
	if r.code != 1 || !strings.Contains(r.out, "RediSearch module is missing") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Error("written after a failed test")
	}
}

// TestInitSecretMode: a file that holds a plaintext password (in a part init keeps) is
// written 0600; compozy's own sections only ever hold ${VAR} references.
func TestInitSecretMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.yaml")
	writeFile(t, path, "knowledge:\n  vector_dbs:\n    - id: kb\n      provider: redis\n      url: redis://:hunter2@127.0.0.1:1\n      dimension: 4\n")
	chmod(t, path, 0o644)
	r := runCLI(t, dir, nil, "init", "--use-case", "dev", "--workflows", "1-10", "--vectors=false", "--server=false", "--update", "--skip-test")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	if got := readFile(t, path); !strings.Contains(got, "url: redis://:hunter2@127.0.0.1:1") || !strings.Contains(got, "driver: sqlite") {
		t.Errorf("file:\n%s", got)
	}
	if strings.Contains(r.out+r.errOut, "hunter2") {
		t.Error("the password was printed")
	}
}

// TestInitAccessiblePostgres walks the PostgreSQL questions in accessible mode against the real
// server: the password question becomes a note naming COMPOZY_DB_PASSWORD (huh cannot read a
// hidden password from a pipe).
func TestInitAccessiblePostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	host, port, user, name := pgParts(t, dsn)
	dir := t.TempDir()
	// production, 1-10, no vectors, server, accept; host/port/user/database, SSL disable; write; do not run.
	answers := "5\n1\nn\ny\ny\n1\n" + host + "\n" + port + "\n" + user + "\n" + name + "\n1\ny\nn\n"
	r := runCLIWith(t, dir, cliIn{stdin: answers}, "init", "--accessible")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{"How do you connect to PostgreSQL?", "Set COMPOZY_DB_PASSWORD in the environment", "✓ database postgres://"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	cfg := loads(t, dir, readFile(t, filepath.Join(dir, "compozy.yaml")))
	if d := cfg.Database; d.Driver != "postgres" || d.Host != host || fmt.Sprint(d.Port) != port || d.User != user || d.Name != name || d.SSLMode != "disable" {
		t.Errorf("loaded %+v", d)
	}
}

// TestInitAccessibleExistingFile: asked about an existing file, the wizard offers to update it
// (keeping the rest, with a backup) before any other question; declining writes nothing and
// exits 0 (quitting by choice).
func TestInitAccessibleExistingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.yaml")
	writeFile(t, path, existingConfig)
	if r := runCLIWith(t, dir, cliIn{stdin: "n\n"}, "init", "--accessible"); r.code != 0 || readFile(t, path) != existingConfig ||
		!strings.Contains(r.out, "compozy.yaml is kept as it is; nothing was written.") {
		t.Fatalf("declined: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// update yes, dev, 1-10, no vectors, no server, accept, path; the kept vector DB (old, a
	// Qdrant that does not exist) fails the test: write anyway; write yes; run no.
	r := runCLIWith(t, dir, cliIn{stdin: "y\n1\n1\nn\nn\ny\n\n2\ny\nn\n"}, "init", "--accessible")
	if r.code != 0 || !strings.Contains(r.out, "compozy.yaml exists. Update its database:") {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	got := readFile(t, path)
	if !strings.HasPrefix(got, "# Project settings (hand-written)\nserver:\n  port: 5001 # API\n\ndatabase:\n  # Decision matrix") ||
		!strings.Contains(got, "  vector_dbs:\n    - id: old\n") || !strings.HasSuffix(got, "runtime:\n  max_concurrent_workflows: 8 # mine\n") {
		t.Errorf("updated file:\n%s", got)
	}
	if baks, _ := filepath.Glob(path + ".*.bak"); len(baks) != 1 {
		t.Errorf("backups: %v", baks)
	}
}

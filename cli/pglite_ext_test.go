package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// privatePGlite starts a PGlite server of its own for the test, from the install .ci/run makes
// (COMPOZY_TEST_PGLITE_DIR, default /var/lib/compozy-ci/pglite), on a free port, and returns
// its DSN as a user would write it (no default_query_exec_mode: compozy finds PGlite and chooses
// the simple protocol itself). It is stopped when the test ends. A test that changes what every
// client of the server sees (an extension) uses it instead of the shared one.
func privatePGlite(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COMPOZY_TEST_PGLITE_DIR")
	if dir == "" {
		dir = "/var/lib/compozy-ci/pglite"
	}
	script := filepath.Join(dir, "node_modules/@electric-sql/pglite-socket/dist/scripts/server.js")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(script)
	}
	if err != nil {
		testenv.Unavailable(t, "PGlite", "run .ci/run once, or set COMPOZY_TEST_PGLITE_DIR to a folder with PGlite installed", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(node, script, "-p", fmt.Sprint(port), "-e", "@electric-sql/pglite-pgvector:vector", "-m", "16")
	cmd.Dir = dir
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("PGlite ended: %v\n%s", errors.Join(err, errors.New("exited")), log.String())
		case <-ctx.Done():
			t.Fatalf("PGlite did not listen on %s within a minute:\n%s", addr, log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "postgres://postgres@" + addr + "/postgres?sslmode=disable"
}

// simpleProtocol is dsn for the test's own database/sql handle, whose pgx statement cache would
// collide on PGlite's one shared session: compozy chooses the mode itself, the test says it.
func simpleProtocol(dsn string) string { return dsn + "&default_query_exec_mode=simple_protocol" }

// On a fresh PGlite, where pgvector is available but not created: the doctor says so and
// changes nothing; doctor --fix creates the extension (and the migrations and the vector table),
// and the doctor then passes.
func TestPgvectorExtensionFixOnPGlite(t *testing.T) {
	dsn := privatePGlite(t)
	bin := buildCompozy(t)
	dir := t.TempDir()
	yaml := "database:\n  driver: postgres\n  conn_string: \"" + dsn + "\"\nknowledge:\n  vector_dbs:\n    - id: kb\n      provider: pgvector\n      dimension: 3\n      metric: cosine\n"
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	db := openTestDB(t, "pgx", simpleProtocol(dsn))
	installed := func() bool {
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_extension WHERE extname = 'vector'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if installed() {
		t.Fatal("a fresh PGlite already has the vector extension")
	}

	r := binRun(t, bin, dir, cleanEnv(), "doctor", "--json")
	d := parseDoctor(t, r)
	c, ok := d.get("vector.pgvector.extension")
	if !ok || c.Status == doctor.StatusPass || !c.Fixable {
		t.Errorf("vector.pgvector.extension before --fix: %+v, want a fixable problem", c)
	}
	if r.code == 0 || installed() {
		t.Fatalf("doctor without --fix: exit %d, extension installed %v; want a problem and no change", r.code, installed())
	}

	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--fix", "--yes")
	if r.code != 0 {
		t.Errorf("doctor --fix --yes: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if !installed() {
		t.Fatal("doctor --fix did not create the vector extension")
	}
	r = binRun(t, bin, dir, cleanEnv(), "doctor", "--json")
	d = parseDoctor(t, r)
	for _, id := range []string{"vector.pgvector.extension", "vector.pgvector.table", "vector.pgvector.index", doctor.IDVectorDimension, doctor.IDMigrationsPending} {
		expectCheck(t, d, id, doctor.StatusPass, "")
	}
}

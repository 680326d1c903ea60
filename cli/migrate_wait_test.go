package cli

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/internal/testenv"
)

// TestMigrateStatusWait is an init container waiting for Compozy's migrations, through the
// binary: it waits while the SQLite file does not exist, says so once (not once a second), and
// exits 0 as soon as another process has migrated the database.
func TestMigrateStatusWait(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", "./data/compozy.db"}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"migrate", "status", "--wait", "90s"}, db...)...)
	cmd.Dir, cmd.Env = dir, cleanEnv()
	var out strings.Builder
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var waiting []string
	for lines.Scan() {
		waiting = append(waiting, lines.Text())
		if strings.Contains(lines.Text(), "does not exist yet") {
			break
		}
	}
	// The waiter has looked at least once; now the migrator runs.
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, db...)...), 0, "migrate up")
	for lines.Scan() {
		waiting = append(waiting, lines.Text())
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("status --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), strings.Join(waiting, "\n"))
	}
	if want := "The database is up to date at version " + latestVersion + ".\n"; out.String() != want {
		t.Fatalf("stdout %q, want %q", out.String(), want)
	}
	missing := "Waiting (up to 1m30s): " + filepath.Join(dir, "data", "compozy.db") + " does not exist yet."
	if n := strings.Count(strings.Join(waiting, "\n"), missing); n != 1 {
		t.Fatalf("the missing file was reported %d times, want once:\n%s", n, strings.Join(waiting, "\n"))
	}
}

// TestMigrateStatusWaitRunsOut: when the time runs out the last state decides the exit code,
// as --check's: 10 with the pending migrations listed, 13 at once for a database newer than
// the binary (waiting cannot help), 3 when the database could never be read.
func TestMigrateStatusWaitRunsOut(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", "./compozy.db"}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }

	wantCode(t, run("migrate", "up", "--to", firstVersion), 0, "migrate up --to")
	r := run("migrate", "status", "--wait", "1500ms")
	wantCode(t, r, 10, "status --wait (pending)")
	if !strings.HasPrefix(r.out, "Waited 1.5s: 8 migrations pending (database at version "+firstVersion) ||
		strings.Count(r.errOut, "Waiting (up to 1.5s): 8 migrations pending at version "+firstVersion+":") != 1 ||
		!strings.Contains(r.errOut, "  "+latestVersion+"  add_task_states_task_exec_idx\n") {
		t.Fatalf("pending:\nstdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
	r = run("migrate", "status", "--wait", "1s", "--json")
	wantCode(t, r, 10, "status --wait --json")
	if !strings.Contains(r.out, `"check": "pending"`) {
		t.Fatalf("--json:\n%s", r.out)
	}

	wantCode(t, run("migrate", "up"), 0, "migrate up")
	sqlDB := openTestDB(t, "sqlite", filepath.Join(dir, "compozy.db"))
	if _, err := sqlDB.ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99991231000000, 1)`); err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close()
	// Ten minutes would fail the test's deadline: the newer database must end the wait at once.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r, err := execBin(ctx, bin, dir, binIn{}, append([]string{"migrate", "status", "--wait", "10m"}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r, 13, "status --wait (newer)")
	if !strings.Contains(r.out, "newer than the latest this binary knows") {
		t.Fatalf("newer:\n%s", r.out)
	}

	// A server that is not there: say why on every change, and exit 3 at the end.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	r = binRun(t, bin, dir, nil, "migrate", "status", "--wait", "1s", "--db-driver", "postgres",
		"--db-host", "127.0.0.1", "--db-port", port, "--db-name", "compozy", "--db-user", "compozy")
	wantCode(t, r, 3, "status --wait (no server)")
	if !strings.Contains(r.errOut, "Waiting (up to 1s): cannot read the database yet") ||
		!strings.Contains(r.errOut, "waited 1s and could still not read the database") {
		t.Fatalf("no server:\nstdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
}

// TestMigrateStatusWaitPostgres: the same wait against PostgreSQL, pending then current.
func TestMigrateStatusWaitPostgres(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	db := []string{"--db-driver", "postgres", "--db-conn-string", testenv.PostgresDB(t)}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }
	r := run("migrate", "status", "--wait", "1s")
	wantCode(t, r, 10, "status --wait (empty database)")
	if !strings.Contains(r.errOut, "9 migrations pending at version 0:") {
		t.Fatalf("empty database:\n%s", r.errOut)
	}
	wantCode(t, run("migrate", "up"), 0, "migrate up")
	r = run("migrate", "status", "--wait", "1m")
	wantCode(t, r, 0, "status --wait (current)")
	if r.errOut != "" || !strings.Contains(r.out, "up to date at version "+latestVersion) {
		t.Fatalf("current:\nstdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
}

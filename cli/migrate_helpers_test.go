package cli

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"compozy.dev/setup/tui/term"
)

// cliRun is the outcome of one command line.
type cliRun struct {
	out, errOut string
	code        int
}

// runMigrateCLI runs args the way Main does, in dir, with only the given environment, and
// returns what it printed and its exit code.
func runMigrateCLI(t *testing.T, dir string, env []string, args ...string) cliRun {
	t.Helper()
	ios, _, out, errOut := term.Test()
	ios.WithEnv(env...)
	f := &Factory{IO: ios, workDir: dir}
	root := NewRootCmd(f)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		printErrorFor(ios.ErrOut, err, cmd.CommandPath())
	}
	return cliRun{out: out.String(), errOut: errOut.String(), code: exitCode(err)}
}

// testBinary is the compozy binary of this test run: built once, on first use, by
// buildCompozy, into a folder TestMain removes at the end.
var testBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		_ = os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// buildCompozy returns the compozy binary built from this module, building it once per test
// run. The folder it is in can be read and run by every user (tests run it as nobody).
func buildCompozy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	testBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "compozy-bin-")
		if err != nil {
			testBinary.err = err
			return
		}
		testBinary.dir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			testBinary.err = err
			return
		}
		bin := filepath.Join(dir, "compozy")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = filepath.Dir(filepath.Dir(file)) // the module root, above cli/
		if out, err := cmd.CombinedOutput(); err != nil {
			testBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		testBinary.path = bin
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}

// cleanEnv is the test process's environment without compozy's own variables, so that the
// binary sees only what the test gives it.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COMPOZY_") || strings.HasPrefix(k, "DB_") || k == "NO_COLOR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// binRun runs the binary bin in dir and returns what it printed and its exit code.
func binRun(t *testing.T, bin, dir string, env []string, args ...string) cliRun {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir, cmd.Env = dir, cleanEnv(env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run compozy %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return cliRun{out: out.String(), errOut: errOut.String(), code: code}
}

func openTestDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	if driver == "sqlite" {
		dsn = "file:" + dsn + "?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// versionRows returns how many times each version is recorded in goose_db_version.
func versionRows(t *testing.T, db *sql.DB) map[int64]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		out[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// pgParts splits a PostgreSQL URL DSN into the values of the --db-* flags.
func pgParts(t *testing.T, dsn string) (host, port, user, name string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/")
}

//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func flockExclusive(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// TestMigrateTimeout: while another migration holds the SQLite migration lock, up waits until
// database.migration_timeout and then exits 3 saying why.
func TestMigrateTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	// Hold the migration lock, as a migration running elsewhere would.
	f, err := os.OpenFile(path+".migrate.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flockExclusive(f); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, []string{"COMPOZY_DB_MIGRATION_TIMEOUT=1s"}, "migrate", "up", "--db-driver", "sqlite", "--db-path", path)
	wantCode(t, r, ExitCouldNotRun, "up while another migration holds the lock")
	if !strings.Contains(r.errOut, "migration timed out after 1s (database.migration_timeout)") || !strings.Contains(r.errOut, "another migration is running") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
}

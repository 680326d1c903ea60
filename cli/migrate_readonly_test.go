package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateStatusChangesNothing: status and version only read. They must not switch a
// rollback-journal database to WAL, create -wal/-shm files, or wait for (and fail on) a writer
// that holds the lock.
func TestMigrateStatusChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "del.db")
	args := []string{"--db-driver", "sqlite", "--db-path", path}
	if r := runCLI(t, dir, nil, append([]string{"migrate", "up"}, args...)...); r.code != ExitOK {
		t.Fatalf("migrate up: exit %d\n%s", r.code, r.errOut)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("journal_mode %q, %v; want delete", mode, err)
	}
	// Hold the write lock, as another process's open transaction would.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'user')"); err != nil {
		t.Fatal(err)
	}

	for _, cmd := range [][]string{{"migrate", "status", "--check"}, {"migrate", "version"}} {
		r := runCLI(t, dir, nil, append(cmd, args...)...)
		if r.code != ExitOK {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(cmd, " "), r.code, r.out, r.errOut)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("after status: journal_mode %q, %v; want delete (status must not switch it)", mode, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("status created %s", filepath.Base(path+suffix))
		}
	}
}

package checks

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// Real SQLite errors, made through the one door, for the checks that route by SQLite's codes:
// a test that hands them a look-alike text must not pass.

// sqliteBusy is a real SQLITE_BUSY: a second writer opening a database another connection holds
// an exclusive lock on (rollback journal, so readers are shut out too; busy_timeout 0).
func sqliteBusy(t *testing.T) error {
	t.Helper()
	ctx := t.Context()
	db := config.Database{Driver: config.DriverSQLite, Path: filepath.Join(t.TempDir(), "busy.db"), JournalMode: "delete"}
	h, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	conn, err := h.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }()
	_, err = factory.Open(ctx, db, factory.ReadWrite)
	if !factory.IsBusy(err) {
		t.Fatalf("a second writer on a locked database: %v, want SQLITE_BUSY", err)
	}
	return err
}

// sqliteCorrupt is a real SQLITE_CORRUPT: a migrated database whose pages after the first are
// overwritten, opened read-only.
func sqliteCorrupt(t *testing.T) error {
	t.Helper()
	ctx := t.Context()
	db := config.Database{Driver: config.DriverSQLite, Path: filepath.Join(t.TempDir(), "corrupt.db"), JournalMode: "delete"}
	h, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Migrator.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, fi.Size()-4096)
	for i := range junk {
		junk[i] = 0xa5
	}
	f, err := os.OpenFile(db.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(junk, 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = factory.Open(ctx, db, factory.ReadOnly)
	if !factory.IsCorrupt(err) {
		t.Fatalf("opening an overwritten database: %v, want SQLITE_CORRUPT", err)
	}
	return err
}

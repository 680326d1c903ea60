package checks

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// The real Conn (handleConn over the one door's read-only handle) against real databases: the
// fakes of the unit tests answer as these do.

func TestHandleConnSQLite(t *testing.T) {
	ctx := t.Context()
	db := config.DefaultDatabase()
	db.Driver, db.Path, db.BusyTimeout, db.Synchronous = config.DriverSQLite, filepath.Join(t.TempDir(), "c.db"), 2500*time.Millisecond, "full"
	w, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Migrator.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SQL.ExecContext(ctx, "DROP TABLE users"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src := doorSource(testDoor{}, db)
	defer src.close()
	c, err := src.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"busy_timeout": "2500", "synchronous": "2", "journal_mode": "delete"} {
		// journal_mode: nothing has the file open, so the read is immutable (see journalMode).
		if got, err := c.Pragma(ctx, name); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := c.Pragma(ctx, "busy_timeout; DROP TABLE x"); err == nil {
		t.Error("a pragma that is not a name was run")
	}
	if lines, err := c.QuickCheck(ctx, 10); err != nil || !slices.Equal(lines, []string{"ok"}) {
		t.Errorf("quick_check %v %v", lines, err)
	}
	if err := c.Unchanged(); err != nil {
		t.Errorf("unchanged: %v", err)
	}
	if missing, err := c.MissingTables(ctx, doctor.CompozyTables()); err != nil || !slices.Equal(missing, []string{"users"}) {
		t.Errorf("missing %v %v", missing, err)
	}
	if res, err := c.Check(ctx); err != nil || len(res.Pending) != 0 {
		t.Errorf("migration state %+v %v", res, err)
	}
	if m, err := c.CopyMark(ctx); err != nil || m.Marked {
		t.Errorf("copy mark %+v %v", m, err)
	}
	if to, pg := c.CopyTarget(); to != db.Path || pg {
		t.Errorf("copy target %q %v", to, pg)
	}
	if _, err := os.Stat(db.Path + "-wal"); err == nil {
		t.Error("the read-only connection created a -wal file")
	}
}

func TestHandleConnPostgres(t *testing.T) {
	ctx := t.Context()
	dsn := testenv.PostgresDB(t)
	db := config.DefaultDatabase()
	db.Driver, db.ConnString = config.DriverPostgres, dsn
	src := doorSource(testDoor{}, db)
	defer src.close()
	c, err := src.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Show(ctx, "max_connections"); err != nil || v == "" {
		t.Errorf("SHOW max_connections = %q, %v", v, err)
	}
	if _, err := c.Show(ctx, "max_connections; SELECT 1"); err == nil {
		t.Error("a SHOW of something that is not a name was run")
	}
	if rec, err := c.InRecovery(ctx); err != nil || rec {
		t.Errorf("in recovery %v %v", rec, err)
	}
	if p, err := c.Privileges(ctx); err != nil || p.Schema != "public" || p.Role == "" || p.Migrated {
		t.Errorf("privileges %+v %v", p, err)
	}
	if n, err := c.ClientBackends(ctx); err != nil || n < 1 {
		t.Errorf("client backends %d %v", n, err)
	}
	if ts, err := c.Clock(ctx); err != nil || time.Since(ts).Abs() > time.Hour {
		t.Errorf("clock %s %v", ts, err)
	}
	if err := c.RoundTrip(ctx); err != nil {
		t.Error(err)
	}
	if missing, err := c.MissingTables(ctx, []string{"workflow_states"}); err != nil || len(missing) != 1 {
		t.Errorf("missing %v %v", missing, err)
	}
	if _, pg := c.CopyTarget(); !pg {
		t.Error("copy target is not PostgreSQL")
	}
}

func TestOSFiles(t *testing.T) {
	dir := t.TempDir()
	var f Files = osFiles{}
	vol, err := f.Volume(dir)
	if err != nil || vol.Name == "" || vol.Free <= 0 {
		t.Errorf("volume %+v %v", vol, err)
	}
	if name, uid := f.User(); name == "" || uid != os.Geteuid() {
		t.Errorf("user %q %d", name, uid)
	}
	fi, err := f.Stat(dir)
	if err != nil || f.Owner(fi) == "" || f.Owner(fi) == "?" {
		t.Errorf("owner of %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if names, err := f.Names(dir, 10); err != nil || !slices.Equal(names, []string{"a"}) {
		t.Errorf("names %v %v", names, err)
	}
	if n, err := f.Links(filepath.Join(dir, "a")); err != nil || n != 1 {
		t.Errorf("links %d %v", n, err)
	}
}

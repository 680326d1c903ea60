package maintenance_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/maintenance"
	"compozy.dev/setup/internal/testenv"
)

func exec1(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

const fill = `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, input, created_at, updated_at)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
	SELECT 'wf-' || i, 'w', 'RUNNING', json_object('pad', hex(randomblob(1000))), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n`

// TestVacuumSQLite: deleted rows leave free pages; the vacuum gives them back (the file
// shrinks, the rows left are all there), and reports progress. A database another process has
// open is refused, naming it.
func TestVacuumSQLite(t *testing.T) {
	ctx := context.Background()
	cfg := config.DefaultDatabase()
	cfg.Driver, cfg.Path = config.DriverSQLite, filepath.Join(t.TempDir(), "c.db")
	h, err := factory.Open(ctx, cfg, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Migrator.Up(ctx); err != nil {
		t.Fatal(err)
	}
	exec1(t, h.SQL, fill)
	exec1(t, h.SQL, `DELETE FROM workflow_states WHERE workflow_exec_id > 'wf-2'`)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	calls := 0
	res, err := maintenance.Vacuum(ctx, cfg, func(maintenance.Progress) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesAfter >= res.BytesBefore || res.FreeBefore == 0 {
		t.Errorf("result %+v: the file did not shrink", res)
	}
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM workflow_states`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("rows after the vacuum: %d %v", n, err)
	}
	_ = calls

	// Another process holds the database open with a lock.
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 holds the database open for the busy case")
	}
	holder := exec.Command("python3", "-c", `import sqlite3,time,sys
c=sqlite3.connect(sys.argv[1]); c.execute("BEGIN"); c.execute("SELECT count(*) FROM workflow_states").fetchone(); print("ready", flush=True); time.sleep(30)`, cfg.Path)
	out, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	_, err = maintenance.Vacuum(ctx, cfg, nil)
	var busy *maintenance.BusyError
	if !errors.As(err, &busy) || len(busy.Holders) == 0 || busy.Holders[0].PID != holder.Process.Pid {
		t.Fatalf("vacuum with another process on the file: %v", err)
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		t.Fatal(err)
	}
}

// TestVacuumPostgres: dead tuples before, none after, every table vacuumed.
func TestVacuumPostgres(t *testing.T) {
	ctx := context.Background()
	cfg := config.DefaultDatabase()
	cfg.Driver, cfg.ConnString = config.DriverPostgres, testenv.PostgresDB(t)
	h, err := factory.Open(ctx, cfg, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Migrator.Up(ctx); err != nil {
		t.Fatal(err)
	}
	exec1(t, h.SQL, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) SELECT 'wf-' || i, 'w', 'RUNNING' FROM generate_series(1, 2000) i`)
	exec1(t, h.SQL, `DELETE FROM workflow_states WHERE workflow_exec_id LIKE 'wf-1%'`)
	res, err := maintenance.Vacuum(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != 4 {
		t.Fatalf("tables %+v", res.Tables)
	}
	for _, ts := range res.Tables {
		if !ts.Vacuumed || ts.DeadAfter != 0 {
			t.Errorf("%+v", ts)
		}
	}
}

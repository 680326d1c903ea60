package backup_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/backup"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

// TestHotBackupWhileWriting takes a backup while 20 goroutines write, each transaction a
// workflow with its 3 tasks: the backup passes quick_check, holds between the rows committed
// before and after it, and only whole transactions (every workflow has exactly its 3 tasks).
func TestHotBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	storagetest.Migrate(t, "sqlite", d.Writer())

	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	write := func(g, i int) error {
		wid := fmt.Sprintf("wf-%d-%d", g, i)
		return d.InTx(ctx, func(tx storage.Repos) error {
			if err := tx.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: wid, WorkflowID: "w", Status: storage.StatusRunning,
				Input: []byte(`{"pad":"` + strings.Repeat("x", 800) + `"}`)}); err != nil {
				return err
			}
			for k := range 3 {
				if err := tx.Tasks().Create(ctx, &storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending,
					TaskExecID: fmt.Sprintf("%s-t%d", wid, k), TaskID: "t", WorkflowExecID: wid, WorkflowID: "w"}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	errs := make(chan error, 20)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := write(g, i); err != nil {
					errs <- err
					return
				}
				committed.Add(1)
			}
		}()
	}
	for committed.Load() < 200 {
		select {
		case err := <-errs:
			t.Fatalf("writer: %v", err)
		case <-ctx.Done():
			t.Fatalf("only %d transactions committed before the deadline", committed.Load())
		case <-time.After(5 * time.Millisecond):
		}
	}
	before := committed.Load()
	dst := filepath.Join(dir, "backup.db")
	res, err := backup.SQLite(ctx, sqliteDB(path), dst)
	after := committed.Load()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if res.Check != "ok" {
		t.Errorf("quick_check = %q", res.Check)
	}
	info, err := os.Stat(dst)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v mode %v", err, info.Mode())
	}
	wf, tasks := res.Rows["workflow_states"], res.Rows["task_states"]
	if wf < before || wf > after+20 {
		t.Errorf("backup holds %d workflows; %d were committed before it started and %d after it ended", wf, before, after)
	}
	if tasks != 3*wf {
		t.Errorf("backup holds %d workflows and %d tasks: not a committed state", wf, tasks)
	}
	b, err := sql.Open("sqlite", "file:"+dst+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var orphans int
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM workflow_states w
		WHERE (SELECT count(*) FROM task_states t WHERE t.workflow_exec_id = w.workflow_exec_id) != 3`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d workflows in the backup lack tasks their transaction wrote", orphans)
	}
	if _, err := backup.SQLite(ctx, sqliteDB(path), dst); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup onto an existing file = %v", err)
	}
}

func TestDefaultSQLitePath(t *testing.T) {
	at := time.Date(2026, 11, 27, 11, 2, 3, 0, time.FixedZone("x", 3600))
	if got, want := backup.DefaultSQLitePath("/data/compozy.db", at), "/data/compozy-backup-20261127T100203Z.db"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := backup.DefaultSQLitePath("/data/state", at), "/data/state-backup-20261127T100203Z.db"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestPgDumpKeepsPasswordOffArgv: the password travels in PGPASSWORD only; the printable
// command shows a placeholder.
func TestPgDumpKeepsPasswordOffArgv(t *testing.T) {
	p, err := backup.NewPgDump(config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app:p%40ss%20w'rd@db:5433/compozy?sslmode=require", ConnectTimeout: 5 * time.Second}, "/tmp/x.dump")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Args {
		if strings.Contains(a, "p@ss") {
			t.Fatalf("password in argv: %q", p.Args)
		}
	}
	env := strings.Join(p.Env, "\n")
	for _, want := range []string{"PGPASSWORD=p@ss w'rd", "PGHOST=db", "PGPORT=5433", "PGUSER=app", "PGDATABASE=compozy", "PGSSLMODE=require", "PGCONNECT_TIMEOUT=5"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q: %q", want, p.Env)
		}
	}
	cmd := p.Command()
	if strings.Contains(cmd, "p@ss") || !strings.Contains(cmd, "PGPASSWORD='<password>'") {
		t.Errorf("command = %s", cmd)
	}
}

// TestPgDumpRuns dumps a real database with the pg_dump on PATH.
func TestPgDumpRuns(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump is not installed")
	}
	out := filepath.Join(t.TempDir(), "db.dump")
	p, err := backup.NewPgDump(config.Database{Driver: config.DriverPostgres, ConnString: dsn}, out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 || res.Bytes == 0 {
		t.Fatalf("dump: %v, mode %v, %d bytes", err, info.Mode(), res.Bytes)
	}
}

func sqliteDB(path string) config.Database {
	db := config.DefaultDatabase()
	db.Driver, db.Path = config.DriverSQLite, path
	return db
}

// TestBeforeCopyKeepsTheDataBackups: reruns of an interrupted copy back up a target that holds
// part of a copy; those backups are counted apart, so they never push out the backup of the
// data the target held before the first copy (a new user's trial lost it on the third rerun).
func TestBeforeCopyKeepsTheDataBackups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	ctx := t.Context()
	d, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Migrate(t, "sqlite", d.Writer())
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	first, removed, err := backup.BeforeCopy(ctx, sqliteDB(path), at, 3, false)
	if err != nil || len(removed) != 0 {
		t.Fatalf("the data's backup: %v, removed %v", err, removed)
	}
	for i := range 5 {
		res, removed, err := backup.BeforeCopy(ctx, sqliteDB(path), at.Add(time.Duration(i+1)*time.Minute), 3, true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(filepath.Base(res.Path), "-pre-copy-unfinished-") {
			t.Errorf("rerun %d: backup %s, want it named as an unfinished copy's", i, res.Path)
		}
		for _, r := range removed {
			if r == first.Path {
				t.Fatalf("rerun %d removed the data's backup %s", i, r)
			}
		}
	}
	if _, err := os.Stat(first.Path); err != nil {
		t.Fatalf("the data's backup is gone: %v", err)
	}
	unfinished, _ := filepath.Glob(filepath.Join(dir, "t-pre-copy-unfinished-*.db"))
	if len(unfinished) != 3 {
		t.Errorf("%d backups of unfinished copies kept, want the newest 3: %v", len(unfinished), unfinished)
	}
	// Backups of the data rotate among themselves, and leave the unfinished ones alone.
	for i := range 4 {
		if _, _, err := backup.BeforeCopy(ctx, sqliteDB(path), at.Add(time.Hour+time.Duration(i)*time.Minute), 3, false); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := filepath.Glob(filepath.Join(dir, "t-pre-copy-*.db"))
	if len(all) != 6 {
		t.Errorf("%d backups in all, want 3 of the data and 3 of unfinished copies: %v", len(all), all)
	}
	if _, err := os.Stat(first.Path); err == nil {
		t.Errorf("the oldest backup of the data %s is still there after 4 newer ones", first.Path)
	}
}

package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/storagetest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a migrated database with opts (Path defaults to a file in t.TempDir()). A zero
// BusyTimeout gets the configured default (config.DefaultDatabase), as every caller that
// opens through the one door does: the driver itself takes 0 as no wait.
func open(t *testing.T, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "compozy.db")
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = config.DefaultDatabase().BusyTimeout
	}
	d, err := sqlite.Open(testCtx(t), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	storagetest.Migrate(t, "sqlite", d.Writer())
	return d
}

func TestConformanceFile(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, sqlite.Options{}) })
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, sqlite.Options{Path: sqlite.MemoryPath}) })
}

// TestConcurrentLifecycles is the acceptance test of the SQLite setup: 100 concurrent workflow
// runners for 3 s (1 s with -short) through the storage layer, with zero errors of any kind and
// in particular no SQLITE_BUSY ("database is locked").
func TestConcurrentLifecycles(t *testing.T) {
	d := open(t, sqlite.Options{})
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	res := storagetest.RunLoad(testCtx(t), d, storagetest.LoadOptions{Workers: 100, Duration: duration})
	for _, err := range res.FirstErrors {
		if sqlite.IsBusy(err) {
			t.Errorf("lock error under load: %v", err)
		}
	}
	storagetest.CheckLoad(t, d, res)
	if res.Workflows == 0 {
		t.Fatal("no workflow completed")
	}
	t.Logf("%d workflows, %d transitions in %s, 0 errors", res.Workflows, res.Transitions, res.Elapsed.Round(time.Millisecond))
}

func TestPragmasOnWriter(t *testing.T) {
	d := open(t, sqlite.Options{BusyTimeout: 1234 * time.Millisecond})
	ctx := testCtx(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "1234",
		"synchronous":  "1",
		"foreign_keys": "1",
	} {
		var got string
		if err := d.Writer().QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("read %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("writer %s = %s, want %s", pragma, got, want)
		}
	}
	if got := d.JournalMode(); got != "wal" {
		t.Errorf("JournalMode() = %q, want wal", got)
	}
	if n := d.Writer().Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool has %d connections, want 1", n)
	}
}

// TestBusyTimeoutZeroIsNoWait: busy_timeout 0 reaches every connection as 0 (SQLite's "fail
// at once"), not a default the driver picks.
func TestBusyTimeoutZeroIsNoWait(t *testing.T) {
	ctx := testCtx(t)
	d, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "zero.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var got int
	if err := d.Writer().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 0 {
		t.Errorf("writer busy_timeout %d, want 0 (the readers' DSN: TestZeroBusyTimeoutStaysZero)", got)
	}
}

// TestReadOnlyReadsBackSettings: the read-only connection carries busy_timeout and synchronous
// as the writer would, so that a reader (the doctor) reads back what the driver applied.
func TestReadOnlyReadsBackSettings(t *testing.T) {
	ctx := testCtx(t)
	path := open(t, sqlite.Options{}).Path()
	for _, tc := range []struct {
		o          sqlite.ReadOnlyOptions
		busy, sync string
	}{
		{sqlite.ReadOnlyOptions{}, "0", "1"},
		{sqlite.ReadOnlyOptions{BusyTimeout: 1234 * time.Millisecond, Synchronous: "full"}, "1234", "2"},
		{sqlite.ReadOnlyOptions{BusyTimeout: 5 * time.Second, Synchronous: "off"}, "5000", "0"},
	} {
		ro, err := sqlite.OpenReadOnly(ctx, path, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		var busy, sync string
		if err := ro.DB.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := ro.DB.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		_ = ro.Close()
		if busy != tc.busy || sync != tc.sync {
			t.Errorf("%+v: busy_timeout %s synchronous %s, want %s %s", tc.o, busy, sync, tc.busy, tc.sync)
		}
	}
	if _, err := sqlite.OpenReadOnly(ctx, path, sqlite.ReadOnlyOptions{BusyTimeout: -1}); err == nil {
		t.Error("a negative busy timeout was accepted")
	}
}

func TestOptionsApplied(t *testing.T) {
	d := open(t, sqlite.Options{JournalMode: "delete", Synchronous: "full"})
	var mode, sync string
	ctx := testCtx(t)
	if err := d.Writer().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := d.Writer().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "delete" || sync != "2" {
		t.Errorf("journal_mode %s synchronous %s, want delete 2", mode, sync)
	}
}

// TestBeginImmediate checks that a transaction takes the write lock when it begins: while an
// empty InTx is open, another connection's BEGIN IMMEDIATE is refused.
func TestBeginImmediate(t *testing.T) {
	d := open(t, sqlite.Options{})
	ctx := testCtx(t)
	other, err := sql.Open("sqlite", "file:"+d.Path()+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var probeErr error
	err = d.InTx(ctx, func(storage.Repos) error {
		_, probeErr = other.ExecContext(ctx, "BEGIN IMMEDIATE")
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if !sqlite.IsBusy(probeErr) {
		t.Fatalf("BEGIN IMMEDIATE from another connection during InTx = %v, want SQLITE_BUSY", probeErr)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	d := open(t, sqlite.Options{Path: filepath.Join(dir, "compozy.db")})
	// Write something so that the -wal and -shm files exist.
	if _, err := storagetest.Lifecycle(testCtx(t), d, storagetest.DefaultPayloads(), "modes"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got&0o027 != 0 {
		t.Errorf("folder mode %o, want 0750 or tighter", got)
	}
	for _, name := range []string{"compozy.db", "compozy.db-wal", "compozy.db-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode %o, want 0600", name, got)
		}
	}
	if got, want := d.Path(), filepath.Join(dir, "compozy.db"); got != want {
		t.Errorf("Path() = %s, want %s", got, want)
	}
}

func TestRelativePathIsResolved(t *testing.T) {
	t.Chdir(t.TempDir())
	d := open(t, sqlite.Options{Path: filepath.Join("data", "compozy.db")})
	if !filepath.IsAbs(d.Path()) || !strings.HasSuffix(d.Path(), filepath.Join("data", "compozy.db")) {
		t.Errorf("Path() = %s, want an absolute path ending in data/compozy.db", d.Path())
	}
}

func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my dir #1 ?x=%20&y")
	d := open(t, sqlite.Options{Path: filepath.Join(dir, "state db.sqlite")})
	if _, err := storagetest.Lifecycle(testCtx(t), d, storagetest.DefaultPayloads(), "uri"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state db.sqlite")); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// TestJournalModeChangeRefused: SQLite cannot leave WAL while another connection has the file
// open; Open must fail instead of running in a mode nobody asked for.
func TestJournalModeChangeRefused(t *testing.T) {
	first := open(t, sqlite.Options{})
	d, err := sqlite.Open(testCtx(t), sqlite.Options{Path: first.Path(), JournalMode: "DELETE"})
	if err == nil {
		_ = d.Close()
		t.Fatal("Open asked for DELETE on a WAL database in use succeeded")
	}
	if !strings.Contains(err.Error(), first.Path()) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	for name, o := range map[string]sqlite.Options{
		"no path":           {},
		"journal mode":      {Path: filepath.Join(dir, "a.db"), JournalMode: "WAL); DROP TABLE x; --"},
		"synchronous":       {Path: filepath.Join(dir, "b.db"), Synchronous: "sometimes"},
		"negative timeout":  {Path: filepath.Join(dir, "c.db"), BusyTimeout: -time.Second},
		"negative readers":  {Path: filepath.Join(dir, "d.db"), Readers: -1},
		"path is a folder":  {Path: dir},
		"folder is a file":  {Path: filepath.Join(dir, "file", "x.db")},
		"unwritable folder": {Path: "/proc/compozy/x.db"},
	} {
		if name == "folder is a file" {
			if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		d, err := sqlite.Open(ctx, o)
		if err == nil {
			_ = d.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestMemoryKeepsDataAndIsPrivate(t *testing.T) {
	a := open(t, sqlite.Options{Path: sqlite.MemoryPath})
	b := open(t, sqlite.Options{Path: sqlite.MemoryPath})
	ctx := testCtx(t)
	w := &storage.WorkflowState{WorkflowExecID: "mem-1", WorkflowID: "m", Status: storage.StatusRunning}
	if err := a.Workflows().Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	if a.Path() != sqlite.MemoryPath || a.JournalMode() != "memory" {
		t.Errorf("Path %q JournalMode %q, want :memory: and memory", a.Path(), a.JournalMode())
	}
	// Many concurrent readers share the one connection and all see the data.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Workflows().Get(ctx, "mem-1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read from memory database: %v", err)
		}
	}
	if _, err := b.Workflows().Get(ctx, "mem-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second memory database sees the first one's data: %v", err)
	}
	if st := a.Writer().Stats(); st.MaxOpenConnections != 1 || st.MaxIdleClosed+st.MaxLifetimeClosed+st.MaxIdleTimeClosed != 0 {
		t.Errorf("memory pool stats %+v: want one connection that is never closed", st)
	}
}

// TestReadsCompozyTimestamps: rows Compozy itself wrote carry datetime('now') defaults
// ("2006-01-02 15:04:05") and RFC3339Nano text; both must read.
func TestReadsCompozyTimestamps(t *testing.T) {
	d := open(t, sqlite.Options{})
	ctx := testCtx(t)
	if _, err := d.Writer().ExecContext(ctx, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) VALUES ('legacy', 'w', 'RUNNING')`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writer().ExecContext(ctx, `INSERT INTO users (id, email, role, created_at) VALUES ('u1', 'a@b.c', 'user', '2025-07-11T16:38:58.5+02:00')`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writer().ExecContext(ctx, `INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix, created_at, last_used) VALUES ('k1', 'u1', x'00', x'01', 'p1', '2025-07-11 14:38:58', '2025-07-11T14:40:00Z')`); err != nil {
		t.Fatal(err)
	}
	w, err := d.Workflows().Get(ctx, "legacy")
	if err != nil {
		t.Fatalf("get workflow with datetime('now') timestamps: %v", err)
	}
	if time.Since(w.CreatedAt) > time.Minute || w.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %s, want about now in UTC", w.CreatedAt)
	}
	u, err := d.Users().Get(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 7, 11, 14, 38, 58, 5e8, time.UTC); !u.CreatedAt.Equal(want) {
		t.Errorf("user created_at %s, want %s", u.CreatedAt, want)
	}
	// An older touch in our format must not win over Compozy's later RFC 3339 value.
	if err := d.APIKeys().TouchLastUsed(ctx, "k1", time.Date(2025, 7, 11, 14, 39, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	k, err := d.APIKeys().FindByPrefix(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 7, 11, 14, 40, 0, 0, time.UTC); k.LastUsed == nil || !k.LastUsed.Equal(want) {
		t.Errorf("last_used %v, want %s", k.LastUsed, want)
	}
}

// TestWriterWaitHonoursContext: a write waiting for the writer gives up when its context ends.
func TestWriterWaitHonoursContext(t *testing.T) {
	d := open(t, sqlite.Options{})
	ctx := testCtx(t)
	err := d.InTx(ctx, func(storage.Repos) error {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		w := &storage.WorkflowState{WorkflowExecID: "waiter", WorkflowID: "w", Status: storage.StatusPending}
		return d.Workflows().Create(short, w)
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write while the writer is held = %v, want context.DeadlineExceeded", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compozy.db")
	d := open(t, sqlite.Options{Path: path})
	ctx := testCtx(t)
	if _, err := storagetest.Lifecycle(ctx, d, storagetest.DefaultPayloads(), "persist"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("-wal left after close (err %v): the last connection should checkpoint and remove it", err)
	}
	d2 := open(t, sqlite.Options{Path: path})
	w, err := d2.Workflows().Get(ctx, "persist")
	if err != nil || w.Status != storage.StatusSuccess {
		t.Fatalf("after reopen: %v %v", w, err)
	}
}

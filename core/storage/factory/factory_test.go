package factory_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openMigrated opens db through the factory and applies the migrations.
func openMigrated(tb testing.TB, db config.Database) *factory.Handle {
	tb.Helper()
	h, err := factory.Open(testCtx(tb), db, factory.ReadWrite)
	if err != nil {
		tb.Fatalf("open %s: %v", factory.Target(db), err)
	}
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	storagetest.Migrate(tb, h.Dialect, h.SQL)
	return h
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "compozy.db")
	db := config.Database{Driver: config.DriverSQLite, Path: path, BusyTimeout: 2 * time.Second,
		JournalMode: "WAL", Synchronous: "NORMAL", MaxOpenConns: 3}
	if got, want := factory.Target(db), "sqlite "+path; got != want {
		t.Errorf("Target = %q, want %q", got, want)
	}
	h := openMigrated(t, db)
	if h.Dialect != "sqlite" || h.Path != path || h.Target != "sqlite "+path {
		t.Errorf("handle %+v", h)
	}
	var bt int
	if err := h.SQL.QueryRowContext(testCtx(t), "PRAGMA busy_timeout").Scan(&bt); err != nil || bt != 2000 {
		t.Errorf("busy_timeout %d (%v), want 2000", bt, err)
	}
	if _, err := storagetest.Lifecycle(testCtx(t), h.Store, storagetest.DefaultPayloads(), "factory"); err != nil {
		t.Fatal(err)
	}
	if o := factory.SQLiteOptions(db); o.Readers != 3 {
		t.Errorf("readers %d, want max_open_conns", o.Readers)
	}
}

func TestOpenSQLiteMemory(t *testing.T) {
	db := config.Database{Driver: config.DriverSQLite, Path: config.MemoryPath, JournalMode: "WAL"}
	h := openMigrated(t, db)
	if h.Target != "sqlite :memory:" || factory.Target(db) != "sqlite :memory:" {
		t.Errorf("target %q / %q", h.Target, factory.Target(db))
	}
	if _, err := storagetest.Lifecycle(testCtx(t), h.Store, storagetest.DefaultPayloads(), "mem"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	db := config.Database{Driver: config.DriverPostgres, ConnString: dsn, Password: "not needed with trust",
		MaxOpenConns: 5, MaxIdleConns: 1, ConnectTimeout: 5 * time.Second}
	target := factory.Target(db)
	if !strings.HasPrefix(target, "postgres://postgres:[redacted]@127.0.0.1:5432/compozy_test_") || strings.Contains(target, "trust") {
		t.Errorf("Target = %q", target)
	}
	h := openMigrated(t, db)
	if h.Dialect != "postgres" || h.Path != "" || h.Target != target {
		t.Errorf("handle dialect %q path %q target %q", h.Dialect, h.Path, h.Target)
	}
	if err := h.Store.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := storagetest.Lifecycle(testCtx(t), h.Store, storagetest.DefaultPayloads(), "factory"); err != nil {
		t.Fatal(err)
	}
	o := factory.PostgresOptions(db)
	if o.MaxConns != 5 || o.MinIdleConns != 0 || o.ConnectTimeout != 5*time.Second || o.Password != db.Password {
		t.Errorf("postgres options %+v", o)
	}
}

func TestOpenRejectsUnknownDriver(t *testing.T) {
	for _, driver := range []string{"", "mysql"} {
		_, err := factory.Open(testCtx(t), config.Database{Driver: driver}, factory.ReadWrite)
		if err == nil {
			t.Errorf("driver %q: Open succeeded", driver)
		}
	}
	if got := factory.Target(config.Database{Driver: "mysql"}); !strings.Contains(got, "mysql") {
		t.Errorf("Target = %q", got)
	}
}

func TestTargetNeverShowsPassword(t *testing.T) {
	const secret = "p@ss w/rd'\\"
	for _, db := range []config.Database{
		{Driver: config.DriverPostgres, Host: "db", Port: 5432, User: "app", Password: secret, Name: "compozy", SSLMode: "require"},
		{Driver: config.DriverPostgres, ConnString: "postgres://app:" + "hunter2" + "@db/compozy", Password: secret},
		{Driver: config.DriverPostgres, ConnString: "host=db user=app password='hunter2'"},
	} {
		got := factory.Target(db)
		if strings.Contains(got, secret) || strings.Contains(got, "hunter2") || !strings.Contains(got, "[redacted]") {
			t.Errorf("Target = %q", got)
		}
	}
}

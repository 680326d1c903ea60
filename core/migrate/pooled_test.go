package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/internal/testenv"
)

// A migrator told that its connection goes through a transaction pooler refuses every run
// that writes, before anything is created (not even goose's version table); reads still work.
func TestPooledMigratorRefusesBeforeAnyChange(t *testing.T) {
	db := openPostgres(t, testenv.PostgresDB(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	refusal := &migrate.PoolerError{Pooler: "PgBouncer 1.18.0 (transaction pooling)", Direct: "10.0.0.5:5432"}
	m, err := migrate.New(db, "postgres", migrate.Options{Pooled: refusal})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]func() error{
		"up":      func() error { _, err := m.Up(ctx); return err },
		"up to":   func() error { _, err := m.UpTo(ctx, m.Known()[0].Version); return err },
		"down":    func() error { _, err := m.Down(ctx); return err },
		"down to": func() error { _, err := m.DownTo(ctx, 0); return err },
	}
	for name, run := range runs {
		var pe *migrate.PoolerError
		if err := run(); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want the pooler refusal", name, err)
		}
	}
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Errorf("goose_db_version exists after refused runs (%v)", err)
	}
	if _, err := m.Check(ctx); err != nil {
		t.Errorf("reading through a pooled migrator: %v", err)
	}
	for _, want := range []string{"nothing was changed", "10.0.0.5:5432", "direct URL", "PgBouncer", "--db-conn-string or COMPOZY_DB_CONN_STRING"} {
		if msg := refusal.Error(); !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	if m.PoolerRefusal() != refusal {
		t.Errorf("PoolerRefusal %v, want the refusal it was made with", m.PoolerRefusal())
	}
}

// The refusal names the direct URL's command when it is known, and status's advice does too.
func TestPoolerRefusalNamesTheDirectCommand(t *testing.T) {
	const cmd = "compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'"
	e := &migrate.PoolerError{Pooler: "PgBouncer 1.18.0 (transaction pooling)", Direct: "10.0.0.5:5432", UpCommand: cmd}
	if msg := e.Error(); !strings.HasPrefix(msg, "migrate: refused, nothing was changed: the connection goes through PgBouncer 1.18.0 (transaction pooling)") ||
		!strings.Contains(msg, "for example "+cmd+" (the password from COMPOZY_DB_PASSWORD or PGPASSWORD)") {
		t.Errorf("refusal %q", msg)
	}
	c := &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 5}, Pending: []migrate.Migration{{Version: 4}, {Version: 5}}}
	v, msg := c.VerdictAdvising(false, "", e.UpAdvice())
	if v != migrate.VerdictPending || msg != "2 migrations pending (database at version 3, latest 5); run "+cmd+" (the server's direct URL: migrate up refuses to run through PgBouncer 1.18.0 (transaction pooling))." {
		t.Errorf("verdict %s %q", v, msg)
	}
	if _, plain := c.Verdict(false, ""); !strings.HasSuffix(plain, "; run 'compozy migrate up'.") {
		t.Errorf("verdict without a pooler %q", plain)
	}
	generic := (&migrate.PoolerError{Pooler: "a connection pooler (transaction pooling)"}).UpAdvice()
	if generic != "run 'compozy migrate up' through the server's direct URL, with --db-conn-string or COMPOZY_DB_CONN_STRING (it refuses to run through a connection pooler (transaction pooling))" {
		t.Errorf("advice without the direct server %q", generic)
	}
}

// A private migrator (a scratch database no one else knows) takes no lock and applies everything.
func TestPrivateMigratorTakesNoLock(t *testing.T) {
	db := openPostgres(t, testenv.PostgresDB(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := migrate.New(db, "postgres", migrate.Options{Private: true})
	if err != nil {
		t.Fatal(err)
	}
	// Hold compozy's and goose's migration locks on another session: a locking migrator would
	// wait for them until the deadline.
	hold, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.ExecContext(ctx, "SELECT pg_advisory_lock($1), pg_advisory_lock($2)", int64(0x636f6d706f7a79), int64(4097083626)); err != nil {
		t.Fatal(err)
	}
	res, err := m.Up(ctx)
	if err != nil || len(res) != len(m.Known()) {
		t.Fatalf("private up: %d applied, %v", len(res), err)
	}
}

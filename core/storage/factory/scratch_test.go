package factory_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/testenv"
)

// TestScratchPostgres: the scratch database is a new database on the server, migrated, and
// dropped; the configured database gets no table.
func TestScratchPostgres(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	ctx := context.Background()
	db := config.Database{Driver: config.DriverPostgres, ConnString: dsn}
	h, err := factory.OpenScratch(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.ScratchKind != "database" || h.Target == factory.Target(db) {
		t.Fatalf("scratch %s (%s) is the configured database", h.Target, h.ScratchKind)
	}
	if _, err := h.Store.Workflows().ListByStatus(ctx, storage.StatusRunning, 1); err != nil {
		t.Fatalf("the scratch database is not migrated: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables, scratch int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'compozy_scratch_%'").Scan(&scratch); err != nil {
		t.Fatal(err)
	}
	if tables != 0 || scratch != 0 {
		t.Errorf("after the bench: %d tables in the configured database, %d scratch databases left", tables, scratch)
	}
}

// TestScratchPostgresSchema: a role that may not create databases gets a scratch schema in the
// configured database instead, migrated there, and dropped.
func TestScratchPostgresSchema(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	role := "bench_" + strings.TrimPrefix(u.Path, "/compozy_test_")
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN NOCREATEDB",
		"GRANT CREATE ON DATABASE " + strings.TrimPrefix(u.Path, "/") + " TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	u.User = url.User(role)
	db := config.Database{Driver: config.DriverPostgres, ConnString: u.String()}
	h, err := factory.OpenScratch(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.ScratchKind != "schema" {
		t.Fatalf("scratch %s is a %s, want a schema", h.Target, h.ScratchKind)
	}
	if _, err := h.Store.Workflows().ListByStatus(ctx, storage.StatusRunning, 1); err != nil {
		t.Fatalf("the scratch schema is not migrated: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	var schemas, tables int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'compozy_scratch_%'").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 || tables != 0 {
		t.Errorf("after the bench: %d scratch schemas, %d tables in public", schemas, tables)
	}
}

package bench_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/bench"
	"compozy.dev/setup/internal/testenv"
)

func TestScratchSQLiteBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	db := config.Database{Driver: config.DriverSQLite, Path: filepath.Join(dir, "compozy.db")}
	ctx := context.Background()
	res, err := bench.Measure(ctx, bench.Variant{Name: "x", DB: db}, bench.Options{Workers: 3, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Workflows == 0 || res.FailedWorkflows != 0 || res.Transitions < res.Workflows*bench.TransitionsPerWorkflow/2 {
		t.Errorf("result: %+v", res)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind in the database folder: %v", entries)
	}
}

// TestScratchPostgres: the scratch database is a new database on the server, migrated, and
// dropped; the configured database gets no table.
func TestScratchPostgres(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	ctx := context.Background()
	db := config.Database{Driver: config.DriverPostgres, ConnString: dsn}
	sc, err := bench.NewScratch(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Kind != "database" || sc.DB.ConnString == dsn {
		t.Fatalf("scratch %s (%s) is the configured database", sc.Target, sc.Kind)
	}
	res, err := bench.Measure(ctx, bench.Variant{Name: "pg", DB: db}, bench.Options{Workers: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Workflows == 0 || res.FailedWorkflows != 0 {
		t.Errorf("result: %+v", res)
	}
	if err := sc.Drop(ctx); err != nil {
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
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'compozy_bench_%'").Scan(&scratch); err != nil {
		t.Fatal(err)
	}
	if tables != 0 || scratch != 0 {
		t.Errorf("after the bench: %d tables in the configured database, %d scratch databases left", tables, scratch)
	}
}

func TestErrorKind(t *testing.T) {
	if got := bench.ErrorKind(context.DeadlineExceeded); got != bench.KindTimeout {
		t.Errorf("deadline: %s", got)
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
	res, err := bench.Measure(ctx, bench.Variant{Name: "pg", DB: db}, bench.Options{Workers: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Workflows == 0 || res.FailedWorkflows != 0 {
		t.Errorf("result: %+v", res)
	}
	var schemas, tables int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'compozy_bench_%'").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 || tables != 0 {
		t.Errorf("after the bench: %d scratch schemas, %d tables in public", schemas, tables)
	}
}

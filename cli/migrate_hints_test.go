package cli

import (
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// TestHintsAreTrueSQLite: a SQLite database as Compozy itself leaves it (its own set stops at
// 20250711163858) has the five parity versions pending. doctor must not promise that
// auto_migrate applies them; it says they change no schema and that compozy migrate up does.
func TestHintsAreTrueSQLite(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	db := []string{"--db-driver", "sqlite", "--db-path", "./compozy.db"}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up", "--to", "20250711163858"}, db...)...), 0, "migrate up --to")
	d := parseDoctor(t, binRun(t, bin, dir, nil, append([]string{"doctor", "--json"}, db...)...))
	c := expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusWarn,
		`^5 pending \(database at version 20250711163858, latest `+latestVersion+`\); all 5 are kept for parity with PostgreSQL: they change no schema and Compozy's own SQLite migrations do not include them, so Compozy never applies them; compozy migrate up does`)
	if strings.Contains(c.Summary, "auto_migrate applies") {
		t.Errorf("still promises auto_migrate: %s", c.Summary)
	}
	r := binRun(t, bin, dir, nil, append([]string{"migrate", "status", "--json"}, db...)...)
	if n := strings.Count(r.out, `"no_schema_change": true`); n != 5 {
		t.Errorf("migrate status --json marks %d migrations as changing no schema, want 5:\n%s", n, r.out)
	}
}

// TestHintsAreTruePostgres: on a PostgreSQL without pgvector (the test server has none), the
// pgvector version this binary applies skips the extension, and migrate status says so; a
// database that stopped before it (where Compozy's own migration failed) fails the pending check,
// because Compozy's auto_migrate would fail there again.
func TestHintsAreTruePostgres(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	db := []string{"--db-driver", "postgres", "--db-conn-string", testenv.PostgresDB(t)}
	run := func(args ...string) cliRun { return binRun(t, bin, dir, nil, append(args, db...)...) }

	wantCode(t, run("migrate", "up", "--to", "20250916090000"), 0, "migrate up --to")
	d := parseDoctor(t, run("doctor", "--json"))
	expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusFail,
		`^2 pending .*; auto_migrate stops at 20251012060000 when Compozy starts \(Compozy's own migration runs CREATE EXTENSION vector, and pgvector is not available on this server\); compozy migrate up applies them, skipping the extension`)

	wantCode(t, run("migrate", "up"), 0, "migrate up")
	r := run("migrate", "status")
	wantCode(t, r, 0, "migrate status")
	if !strings.Contains(r.out, "Note: 20251012060000 enable_pgvector_extension skipped creating the extension vector: pgvector is not available on this server.\n") {
		t.Fatalf("migrate status does not show the skip:\n%s", r.out)
	}
	r = run("migrate", "status", "--json")
	if !strings.Contains(r.out, `"note": "skipped creating the extension vector: pgvector is not available on this server"`) {
		t.Fatalf("migrate status --json does not show the skip:\n%s", r.out)
	}
}

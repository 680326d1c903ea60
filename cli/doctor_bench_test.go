package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
)

// BenchmarkDoctor times compozy doctor's checks as the command runs them (every check of a
// SQLite setup, in parallel, through the one door), on a small database and on one of about
// 1.5 GB (150k workflows, 750k tasks of 1.3 KB each; COMPOZY_BENCH_DOCTOR_TASKS changes the
// number of tasks), default run and --deep. The big file is built once per run, in a
// temporary folder removed at the end: it takes a minute and 1.5 GB of disk.
//
//	go test -run '^$' -bench Doctor -benchtime 10x ./cli/
func BenchmarkDoctor(b *testing.B) {
	tasks := 750_000
	if v := os.Getenv("COMPOZY_BENCH_DOCTOR_TASKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		tasks = n
	}
	dir := b.TempDir()
	small, smallMB := benchDoctorDB(b, filepath.Join(dir, "small.db"), 1000)
	big, bigMB := benchDoctorDB(b, filepath.Join(dir, "big.db"), tasks)
	for _, tc := range []struct {
		name string
		db   config.Database
		mb   float64
		deep bool
	}{
		{"small", small, smallMB, false},
		{"large", big, bigMB, false},
		{"small/deep", small, smallMB, true},
		{"large/deep", big, bigMB, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := &config.Config{Database: tc.db}
			for b.Loop() {
				set := buildChecks(cfg, nil, func(string) string { return "" }, tc.deep)
				for _, r := range doctor.Run(ctx, set.Checks, doctor.RunOptions{}) {
					if r.Status == doctor.StatusFail || r.Status == doctor.StatusError {
						b.Fatalf("%s: %s: %s", r.ID, r.Status, r.Summary)
					}
				}
				set.Close()
			}
			b.ReportMetric(tc.mb, "db-MB")
		})
	}
}

// benchDoctorDB creates a migrated SQLite database at path with tasks task rows (and a fifth
// as many workflows), each task with 1.3 KB of output, and returns its configuration and size
// in MB.
func benchDoctorDB(b *testing.B, path string, tasks int) (config.Database, float64) {
	b.Helper()
	ctx := context.Background()
	db := config.DefaultDatabase()
	db.Driver, db.Path = config.DriverSQLite, path
	// Built with a rollback journal, so that the rows do not pass through a WAL as large as
	// the database; compozy opens it in WAL mode afterwards, as Compozy would.
	build := db
	build.JournalMode, build.Synchronous = "delete", "off"
	h, err := factory.Open(ctx, build, factory.ReadWrite)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Migrator.Up(ctx); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		"PRAGMA cache_size = -262144",
		"BEGIN",
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)
			INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, input)
			SELECT printf('wf-%%09d', i), 'wf-' || (i %% 50), 'SUCCESS', '{"n":' || i || '}' FROM n`, max(tasks/5, 1)),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)
			INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, input, output)
			SELECT 'task', 'SUCCESS', printf('t-%%010d', i), 'task-' || (i %% 20), printf('wf-%%09d', i / 5), 'wf-' || ((i / 5) %% 50),
				'{"i":' || i || '}', '{"out":"' || hex(randomblob(650)) || '"}' FROM n`, tasks),
		"COMMIT",
	} {
		if _, err := h.SQL.ExecContext(ctx, q); err != nil {
			b.Fatalf("build %s: %v", path, err)
		}
	}
	if err := h.Close(); err != nil {
		b.Fatal(err)
	}
	// Open once in WAL mode, as Compozy leaves the file.
	wh, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		b.Fatal(err)
	}
	if err := wh.Close(); err != nil {
		b.Fatal(err)
	}
	// A database Compozy left a while ago, not one written a moment ago (the read-only open
	// waits a few clock ticks after a write, see sqlite.OpenReadOnly): the first runs would
	// measure that wait.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %s, %d tasks", filepath.Base(path), bytesize.Format(fi.Size()), tasks)
	return db, float64(fi.Size()) / (1 << 20)
}

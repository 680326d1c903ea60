package dbcopy_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

// The copy-speed measurement of docs/benchmarks.md, run by hand (not part of go test):
//
//	COMPOZY_COPY_ROWS=1000000 COMPOZY_COPY_DB=/var/tmp/copy-src.db \
//	  go test -run '^TestMeasureBareCopy$' -v -timeout 30m ./core/storage/dbcopy/
//
// It seeds COMPOZY_COPY_DB (when missing) with COMPOZY_COPY_ROWS task rows of about 1 KB of
// JSON each (100 per workflow), then times a bare COPY of the same rows, generated in memory,
// into an empty migrated PostgreSQL database: the limit `compozy db copy` is compared with.
// Then run the copy itself and compare:
//
//	/usr/bin/time -v compozy db copy --from /var/tmp/copy-src.db --to postgres://... --yes

const tasksPerWorkflow = 100

func taskRow(i int) (taskID, workflowID string, input string) {
	w := i / tasksPerWorkflow
	return fmt.Sprintf("task-%08d", i), fmt.Sprintf("wf-%06d", w),
		`{"step":` + strconv.Itoa(i) + `,"agent":"summarizer","text":"` + strings.Repeat("lorem ipsum ", 80) + `","tags":["a","b","c"]}`
}

var measureTime = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func TestMeasureBareCopy(t *testing.T) {
	rowsEnv, path := os.Getenv("COMPOZY_COPY_ROWS"), os.Getenv("COMPOZY_COPY_DB")
	if rowsEnv == "" || path == "" {
		t.Skip("measurement run by hand: set COMPOZY_COPY_ROWS and COMPOZY_COPY_DB (see the comment above)")
	}
	n, err := strconv.Atoi(rowsEnv)
	if err != nil || n <= 0 {
		t.Fatalf("COMPOZY_COPY_ROWS=%q", rowsEnv)
	}
	ctx := context.Background()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		start := time.Now()
		seedBulk(t, path, n)
		t.Logf("seeded %s with %d task rows in %s", path, n, time.Since(start).Round(time.Millisecond))
	}

	dsn := testenv.PostgresDB(t)
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Migrate(t, "postgres", sqldb)
	_ = sqldb.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	workflows := (n + tasksPerWorkflow - 1) / tasksPerWorkflow
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"workflow_states"}, []string{"workflow_exec_id", "workflow_id", "status", "created_at", "updated_at"},
		pgx.CopyFromSlice(workflows, func(i int) ([]any, error) {
			return []any{fmt.Sprintf("wf-%06d", i), "flow", "SUCCESS", measureTime, measureTime}, nil
		})); err != nil {
		t.Fatal(err)
	}
	cols := []string{"component", "status", "task_exec_id", "task_id", "workflow_exec_id", "workflow_id", "execution_type", "input", "created_at", "updated_at"}
	i := 0
	start := time.Now()
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{"task_states"}, cols, &genSource{n: n, i: &i})
	if err != nil {
		t.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	t.Logf("bare COPY of %d task rows into an empty task_states: %.1fs, %.0f rows/s", copied, secs, float64(copied)/secs)
}

type genSource struct {
	n int
	i *int
}

func (g *genSource) Next() bool { *g.i++; return *g.i <= g.n }
func (g *genSource) Values() ([]any, error) {
	tid, wid, input := taskRow(*g.i - 1)
	return []any{"task", "SUCCESS", tid, "task", wid, "flow", "basic", input, measureTime, measureTime}, nil
}
func (g *genSource) Err() error { return nil }

// seedBulk writes n task rows (and their workflows) into a new SQLite database, in large
// transactions on the writer.
func seedBulk(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	d, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	storagetest.Migrate(t, "sqlite", d.Writer())
	w := d.Writer()
	ts := measureTime.Format("2006-01-02T15:04:05.000000000Z")
	const batch = 10000
	for lo := 0; lo < n; lo += batch {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wst, _ := tx.PrepareContext(ctx, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, created_at, updated_at) VALUES (?, 'flow', 'SUCCESS', ?, ?)`)
		tst, err := tx.PrepareContext(ctx, `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, execution_type, input, created_at, updated_at)
			VALUES ('task', 'SUCCESS', ?, 'task', ?, 'flow', 'basic', ?, ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		for i := lo; i < min(lo+batch, n); i++ {
			tid, wid, input := taskRow(i)
			if i%tasksPerWorkflow == 0 {
				if _, err := wst.ExecContext(ctx, wid, ts, ts); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tst.ExecContext(ctx, tid, wid, input, ts, ts); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

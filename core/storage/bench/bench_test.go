package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/bench"
)

func TestScratchSQLiteBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	db := config.DefaultDatabase() // busy_timeout and the rest as a loaded config has them
	db.Driver, db.Path = config.DriverSQLite, filepath.Join(dir, "compozy.db")
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

func TestErrorKind(t *testing.T) {
	if got := bench.ErrorKind(context.DeadlineExceeded); got != bench.KindTimeout {
		t.Errorf("deadline: %s", got)
	}
}

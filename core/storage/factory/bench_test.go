package factory_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

// BenchmarkWorkflowLifecycle measures whole workflow life cycles (storagetest.Lifecycle: 17
// write transactions and one read each) through the factory-opened store, with N concurrent
// workflow runners. One op is one workflow. It reports workflows/s and transitions/s (committed
// write transactions per second).
//
//	go test -run '^$' -bench WorkflowLifecycle -benchtime 3s ./core/storage/factory/
func BenchmarkWorkflowLifecycle(b *testing.B) {
	drivers := []struct {
		name string
		db   func(b *testing.B) config.Database
	}{
		{"sqlite", func(b *testing.B) config.Database {
			// The production defaults: WAL, synchronous NORMAL, 5 s busy timeout, 4 readers.
			return config.Database{Driver: config.DriverSQLite, Path: filepath.Join(b.TempDir(), "bench.db")}
		}},
		{"postgres", func(b *testing.B) config.Database {
			// A pool of 2x the machine's cores is pgxpool's default; stated explicitly.
			return config.Database{Driver: config.DriverPostgres, ConnString: testenv.PostgresDB(b), MaxOpenConns: 4}
		}},
	}
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			h := openMigrated(b, d.db(b))
			version := "SELECT 'SQLite ' || sqlite_version()"
			if h.Dialect == config.DriverPostgres {
				version = "SELECT 'PostgreSQL ' || current_setting('server_version') || ', synchronous_commit=' || current_setting('synchronous_commit')"
			}
			var v string
			if err := h.SQL.QueryRowContext(context.Background(), version).Scan(&v); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %s", h.Target, v)
			for _, n := range []int{1, 10, 100} {
				b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
					b.ResetTimer()
					res := storagetest.RunLoad(context.Background(), h.Store, storagetest.LoadOptions{
						Workers: n, Workflows: int64(b.N), IDPrefix: fmt.Sprintf("bench-%d-%d-%s", n, b.N, randSuffix(b)),
					})
					b.StopTimer()
					if res.Errors > 0 {
						var msgs []string
						for _, err := range res.FirstErrors {
							msgs = append(msgs, err.Error())
						}
						b.Fatalf("%d life cycles failed:\n  %s", res.Errors, strings.Join(msgs, "\n  "))
					}
					secs := res.Elapsed.Seconds()
					b.ReportMetric(float64(res.Workflows)/secs, "workflows/s")
					b.ReportMetric(float64(res.Transitions)/secs, "transitions/s")
				})
			}
		})
	}
}

// randSuffix keeps IDs unique across the benchmark's repeated runs on one database.
func randSuffix(b *testing.B) string {
	b.Helper()
	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(buf)
}

package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/workload"
)

// Variant is one database setup to measure.
type Variant struct {
	// Name labels the variant in reports, e.g. "sqlite (as configured)".
	Name string
	// DB is the configuration to measure (on a scratch database beside it).
	DB config.Database
	// Naive opens SQLite with database/sql's defaults (sqlite.Options.Naive).
	Naive bool
	// Compare marks the database the others are compared with (db bench --compare): Ratios
	// divide by its rate.
	Compare bool
}

// Target is the database the variant is measured beside, secrets redacted.
func (v Variant) Target() string { return factory.Target(v.DB) }

// Measure creates a scratch database for v beside the configured one (factory.OpenScratch:
// migrated, dropped afterwards), runs the workload with o, and drops it.
func Measure(ctx context.Context, v Variant, o Options) (*Result, error) {
	h, err := factory.OpenScratch(ctx, v.DB, v.Naive)
	if err != nil {
		return nil, err
	}
	defer func() { _ = h.Close() }()
	if o.IDPrefix == "" {
		o.IDPrefix = "bench-" + randomHex(4)
	}
	return Run(ctx, h.Store, o)
}

// Ceiling measures the one-row-per-commit rate of a SQLite database configured as db, on a
// migrated scratch file beside it: one connection inserting one task_states row (about 1 KB of
// JSON, the real table with its indexes and checks) per transaction for d. It is what a store
// that commits each write on its own can reach at best on this file and machine.
func Ceiling(ctx context.Context, db config.Database, d time.Duration) (float64, error) {
	if db.Driver != config.DriverSQLite {
		return 0, errors.New("ceiling: SQLite only")
	}
	h, err := factory.OpenScratch(ctx, db, false)
	if err != nil {
		return 0, fmt.Errorf("ceiling: %w", err)
	}
	defer func() { _ = h.Close() }()
	w := h.SQL // the one writer connection
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
	if _, err := w.ExecContext(ctx, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, created_at, updated_at)
		VALUES ('ceiling', 'ceiling', 'RUNNING', ?, ?)`, now, now); err != nil {
		return 0, fmt.Errorf("ceiling: insert workflow: %w", err)
	}
	st, err := w.PrepareContext(ctx, `INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id,
		workflow_id, execution_type, input, created_at, updated_at) VALUES ('task', 'PENDING', ?, 'task', 'ceiling', 'ceiling', 'basic', ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("ceiling: prepare: %w", err)
	}
	defer st.Close()
	doc := string(workload.DefaultPayloads().TaskOutput)
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := st.ExecContext(ctx, "ceiling-"+strconv.Itoa(n), doc, now, now); err != nil {
			return 0, fmt.Errorf("ceiling: insert: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("bench: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

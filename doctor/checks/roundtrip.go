package checks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/doctor"
)

// openStore opens the database for the round trip. A SQLite file keeps the journal mode it has,
// so that opening it changes nothing, and waits at most one second for a lock.
func openStore(ctx context.Context, db config.Database) (storage.Store, error) {
	if db.Driver != config.DriverSQLite {
		h, err := factory.Open(ctx, db)
		if err != nil {
			return nil, err
		}
		return h.Store, nil
	}
	opts := factory.SQLiteOptions(db)
	h, err := readHeader(db.Path)
	if err != nil {
		return nil, err
	}
	opts.JournalMode = "DELETE"
	if h.wal {
		opts.JournalMode = "WAL"
	}
	opts.BusyTimeout = min(opts.BusyTimeout, time.Second)
	opts.Readers = 1
	return sqlite.Open(ctx, opts)
}

func roundTripCheck(db config.Database) doctor.Check {
	return check(doctor.IDStorageRoundTrip, func(ctx context.Context) doctor.Result {
		if db.Driver == config.DriverSQLite && db.Path == config.MemoryPath {
			return doctor.Skip("skipped: an in-memory database starts empty in every process")
		}
		st, err := openStore(ctx, db)
		if err != nil {
			return doctor.Fail("cannot open the database through compozy's storage layer", config.Redact(err.Error()), doctor.Fix{})
		}
		defer st.Close()
		id := "doctor-" + randomHex()
		err = st.InTx(ctx, func(tx storage.Repos) error { return roundTrip(ctx, tx, id) })
		if !errors.Is(err, errRollback) {
			msg := "the round trip failed"
			if sqlite.IsBusy(err) {
				return doctor.Warn("the database is locked by another process", config.Redact(err.Error()), doctor.Fix{Text: "see sqlite.lock"})
			}
			return doctor.Fail(msg, config.Redact(err.Error()), doctor.Fix{Text: "read the error; usually 'compozy migrate up' or a GRANT on the tables fixes it"})
		}
		if _, err := st.Workflows().Get(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			return doctor.Fail("the rolled-back workflow is still there", fmt.Sprint(err), doctor.Fix{Text: "the database ignores rollbacks: check its engine and settings"})
		}
		return doctor.Pass("created a workflow with two tasks, read them back, cascaded the delete; rolled back, nothing left")
	})
}

// roundTrip writes, reads back and deletes inside tx, then returns errRollback so that the
// transaction is rolled back.
func roundTrip(ctx context.Context, tx storage.Repos, id string) error {
	w := &storage.WorkflowState{WorkflowExecID: id, WorkflowID: "compozy-doctor", Status: storage.StatusRunning,
		Input: []byte(`{"doctor":true}`)}
	if err := tx.Workflows().Create(ctx, w); err != nil {
		return fmt.Errorf("create workflow: %w", err)
	}
	for i := range 2 {
		t := &storage.TaskState{TaskExecID: fmt.Sprintf("%s-task-%d", id, i), TaskID: "doctor-task", WorkflowExecID: id,
			WorkflowID: "compozy-doctor", Component: storage.ComponentTask, Status: storage.StatusPending}
		if err := tx.Tasks().Create(ctx, t); err != nil {
			return fmt.Errorf("create task %d: %w", i, err)
		}
	}
	got, err := tx.Workflows().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("read workflow back: %w", err)
	}
	if got.Status != storage.StatusRunning {
		return fmt.Errorf("read workflow back: status %q, wrote %q", got.Status, storage.StatusRunning)
	}
	ts, err := tx.Tasks().ListByWorkflow(ctx, id)
	if err != nil {
		return fmt.Errorf("read tasks back: %w", err)
	}
	if len(ts) != 2 {
		return fmt.Errorf("read tasks back: got %d tasks, wrote 2", len(ts))
	}
	if err := tx.Workflows().Delete(ctx, id); err != nil {
		return fmt.Errorf("delete workflow: %w", err)
	}
	ts, err = tx.Tasks().ListByWorkflow(ctx, id)
	if err != nil {
		return fmt.Errorf("read tasks after delete: %w", err)
	}
	if len(ts) != 0 {
		return fmt.Errorf("cascade: %d tasks left after deleting their workflow", len(ts))
	}
	return errRollback
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// migrateRepair applies pending migrations (--fix).
func (s *Set) migrateRepair(db config.Database) *doctor.Repair {
	return &doctor.Repair{
		Plan: func(doctor.Result) string { return "compozy migrate up on " + factory.Target(db) },
		Apply: func(ctx context.Context, _ doctor.Result) error {
			h, err := factory.Open(ctx, db)
			if err != nil {
				return fmt.Errorf("open database: %w", err)
			}
			defer h.Close()
			m, err := migrate.New(h.SQL, h.Dialect, migrate.Options{Path: h.Path})
			if err != nil {
				return fmt.Errorf("prepare migrations: %w", err)
			}
			if _, err := m.Up(ctx); err != nil {
				return fmt.Errorf("migrate up: %w", err)
			}
			return nil
		},
	}
}

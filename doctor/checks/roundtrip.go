package checks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

// roundTripCheck writes a workflow with two tasks, reads them back, deletes the workflow (the
// tasks cascade) and rolls everything back, in the store s.writable opens (doorWritable).
func (s *Set) roundTripCheck() doctor.Check {
	db := s.db
	return check(doctor.IDStorageRoundTrip, func(ctx context.Context) doctor.Result {
		if db.Driver == config.DriverSQLite && db.Path == config.MemoryPath {
			return doctor.Skip("skipped: an in-memory database starts empty in every process")
		}
		st, where, closeStore, err := s.writable(ctx)
		if errors.Is(err, errNoReadOnly) {
			return doctor.Skip("skipped: cannot open the database read-only (see sqlite.file)")
		}
		if err != nil {
			return doctor.Fail("cannot open the database through compozy's storage layer", config.Redact(err.Error()), doctor.Fix{})
		}
		defer func() { _ = closeStore() }()
		id := "doctor-" + randomHex()
		err = st.InTx(ctx, func(tx storage.Repos) error { return roundTrip(ctx, tx, id) })
		if !errors.Is(err, errRollback) {
			if factory.IsBusy(err) {
				return doctor.Warn("the database is locked by another process", config.Redact(err.Error()), doctor.Fix{Text: "see sqlite.lock"})
			}
			if lockTimedOut(err) {
				return doctor.Fail(fmt.Sprintf("another session holds a lock on Compozy's tables: the write waited %s (lock_timeout) and gave up", DefaultLockTimeout),
					config.Redact(err.Error()), doctor.Fix{Text: "see postgres.locks, which names the session"})
			}
			return doctor.Fail("the round trip failed", config.Redact(err.Error()), doctor.Fix{Text: "read the error; usually 'compozy migrate up' or a GRANT on the tables fixes it"})
		}
		if _, err := st.Workflows().Get(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			return doctor.Fail("the rolled-back workflow is still there", fmt.Sprint(err), doctor.Fix{Text: "the database ignores rollbacks: check its engine and settings"})
		}
		return doctor.Pass("created a workflow with two tasks, read them back, cascaded the delete; " + where)
	})
}

// errNoReadOnly: the SQLite round trip needs the read-only connection for the schema.
var errNoReadOnly = errors.New("cannot open the database read-only")

// doorWritable opens, through the one door, where the round trip writes, and says where that
// is: on PostgreSQL the database itself, read-write, in one transaction that is rolled back; on
// SQLite an in-memory copy of the file's schema (tables, indexes, triggers), because a write
// transaction on the file, even one rolled back, creates -wal and -shm files next to it, and the
// doctor only reads.
func (s *Set) doorWritable(ctx context.Context) (storage.Store, string, func() error, error) {
	var h *factory.Handle
	var err error
	where := "rolled back, nothing left"
	if s.db.Driver == config.DriverSQLite {
		c, oerr := s.src.get(ctx)
		hc, ok := c.(handleConn)
		if oerr != nil || !ok {
			return nil, "", nil, errNoReadOnly
		}
		h, err = s.in.Door.MemoryCopy(ctx, hc.h)
		where = "rolled back, on an in-memory copy of the file's schema (the doctor does not write to the database)"
	} else {
		h, err = s.in.Door.Open(ctx, s.db, factory.ReadWrite)
	}
	if err != nil {
		return nil, "", nil, err
	}
	return h.Store, where, h.Close, nil
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

// migrateRepair applies pending migrations (--fix), through the one door, as `compozy
// migrate up` does (a SQLite file is created when missing).
func (s *Set) migrateRepair() *doctor.Repair {
	db := s.db
	return &doctor.Repair{
		Plan: func(doctor.Result) string { return "compozy migrate up on " + factory.Target(db) },
		Apply: func(ctx context.Context, _ doctor.Result) error {
			h, err := s.in.Door.Open(ctx, db, factory.ReadWrite)
			if err != nil {
				return fmt.Errorf("open the database: %w", err)
			}
			defer h.Close()
			if _, err := h.Migrator.Up(ctx); err != nil {
				return err // "migrate up: ..." names the step already
			}
			return nil
		},
	}
}

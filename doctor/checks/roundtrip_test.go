package checks

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/doctor"
)

// memRepos is a tiny in-memory storage.Repos for the round trip, with faults to inject.
type memRepos struct {
	storage.Repos // the repositories the round trip does not use
	wf            map[string]*storage.WorkflowState
	tasks         map[string]*storage.TaskState
	// Faults.
	createErr  error // workflow Create fails
	noCascade  bool  // deleting a workflow leaves its tasks
	readStatus storage.Status
}

func newMemRepos() *memRepos {
	return &memRepos{wf: map[string]*storage.WorkflowState{}, tasks: map[string]*storage.TaskState{}}
}

type memWorkflows struct {
	storage.WorkflowRepo
	r *memRepos
}

type memTasks struct {
	storage.TaskRepo
	r *memRepos
}

func (r *memRepos) Workflows() storage.WorkflowRepo { return memWorkflows{r: r} }
func (r *memRepos) Tasks() storage.TaskRepo         { return memTasks{r: r} }

func (w memWorkflows) Create(_ context.Context, s *storage.WorkflowState) error {
	if w.r.createErr != nil {
		return w.r.createErr
	}
	c := *s
	w.r.wf[s.WorkflowExecID] = &c
	return nil
}

func (w memWorkflows) Get(_ context.Context, id string) (*storage.WorkflowState, error) {
	s, ok := w.r.wf[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	c := *s
	if w.r.readStatus != "" {
		c.Status = w.r.readStatus
	}
	return &c, nil
}

func (w memWorkflows) Delete(_ context.Context, id string) error {
	delete(w.r.wf, id)
	if !w.r.noCascade {
		for k, t := range w.r.tasks {
			if t.WorkflowExecID == id {
				delete(w.r.tasks, k)
			}
		}
	}
	return nil
}

func (t memTasks) Create(_ context.Context, s *storage.TaskState) error {
	c := *s
	t.r.tasks[s.TaskExecID] = &c
	return nil
}

func (t memTasks) ListByWorkflow(_ context.Context, id string) ([]*storage.TaskState, error) {
	var out []*storage.TaskState
	for _, s := range t.r.tasks {
		if s.WorkflowExecID == id {
			out = append(out, s)
		}
	}
	return out, nil
}

// memStore is a storage.Store over memRepos whose transactions always roll back (the changes
// of fn are dropped); inTxErr fails the transaction, and ghost makes every workflow readable
// afterwards (a database that ignored the rollback).
type memStore struct {
	storage.Store
	*memRepos
	ghost   bool
	inTxErr error
}

type ghostWorkflows struct{ storage.WorkflowRepo }

func (ghostWorkflows) Get(_ context.Context, id string) (*storage.WorkflowState, error) {
	return &storage.WorkflowState{WorkflowExecID: id}, nil
}

func (s *memStore) Workflows() storage.WorkflowRepo {
	if s.ghost {
		return ghostWorkflows{}
	}
	return s.memRepos.Workflows()
}

func (s *memStore) Tasks() storage.TaskRepo { return s.memRepos.Tasks() }

func (s *memStore) InTx(_ context.Context, fn func(storage.Repos) error) error {
	if s.inTxErr != nil {
		return s.inTxErr
	}
	tx := newMemRepos()
	tx.createErr, tx.noCascade, tx.readStatus = s.createErr, s.noCascade, s.readStatus
	return fn(tx) // rolled back: tx is dropped
}

// roundTripSet is a Set whose round trip writes to st (or fails to open with openErr).
func roundTripSet(t *testing.T, db config.Database, st storage.Store, openErr error) []doctor.Check {
	t.Helper()
	s := testSet(t, db, Inputs{}, &fakeConn{}, nil)
	s.writable = func(context.Context) (storage.Store, string, func() error, error) {
		if openErr != nil {
			return nil, "", nil, openErr
		}
		return st, "rolled back (test)", func() error { return nil }, nil
	}
	return []doctor.Check{s.roundTripCheck()}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		db      config.Database
		store   *memStore
		openErr error
		want    want
	}{
		{"in-memory database", func() config.Database { d := sqliteDB(); d.Path = config.MemoryPath; return d }(), nil, nil,
			want{doctor.StatusSkip, `an in-memory database starts empty in every process`}},
		{"no read-only connection", sqliteDB(), nil, errNoReadOnly, want{doctor.StatusSkip, `cannot open the database read-only`}},
		{"cannot open", postgresDB(), nil, errors.New("password authentication failed"),
			want{doctor.StatusFail, `cannot open the database through compozy's storage layer\npassword authentication failed`}},
		{"transaction refused", postgresDB(), &memStore{memRepos: newMemRepos(), inTxErr: errors.New("cannot execute INSERT in a read-only transaction")},
			nil, want{doctor.StatusFail, `the round trip failed\ncannot execute INSERT`}},
		{"create refused", postgresDB(), &memStore{memRepos: func() *memRepos { r := newMemRepos(); r.createErr = storage.ErrInvalid; return r }()},
			nil, want{doctor.StatusFail, `the round trip failed\ncreate workflow: `}},
		{"status read back differs", postgresDB(), &memStore{memRepos: func() *memRepos { r := newMemRepos(); r.readStatus = storage.StatusPending; return r }()},
			nil, want{doctor.StatusFail, `read workflow back: status "PENDING", wrote "RUNNING"`}},
		{"no cascade", postgresDB(), &memStore{memRepos: func() *memRepos { r := newMemRepos(); r.noCascade = true; return r }()},
			nil, want{doctor.StatusFail, `cascade: 2 tasks left after deleting their workflow`}},
		{"rollback ignored", postgresDB(), &memStore{memRepos: newMemRepos(), ghost: true},
			nil, want{doctor.StatusFail, `the rolled-back workflow is still there`}},
		{"round trip", postgresDB(), &memStore{memRepos: newMemRepos()}, nil, want{doctor.StatusPass, `cascaded the delete; rolled back \(test\)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st storage.Store
			if tc.store != nil {
				st = tc.store
			}
			runCheck(t, roundTripSet(t, tc.db, st, tc.openErr), doctor.IDStorageRoundTrip, tc.want)
		})
	}
	t.Run("locked", func(t *testing.T) {
		st := &memStore{memRepos: newMemRepos(), inTxErr: fmt.Errorf("begin: %w", busyErr(t))}
		runCheck(t, roundTripSet(t, sqliteDB(), st, nil), doctor.IDStorageRoundTrip, want{doctor.StatusWarn, `locked by another process`})
	})
}

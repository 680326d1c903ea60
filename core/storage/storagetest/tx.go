package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"compozy.dev/setup/core/storage"
)

var errRollback = errors.New("roll back, please")

func (c *suite) txCommit(t *testing.T) {
	ctx := ctxOf(t)
	wid, tid := id("wf"), id("task")
	err := c.s.InTx(ctx, func(tx storage.Repos) error {
		w := &storage.WorkflowState{WorkflowExecID: wid, WorkflowID: "tx", Status: storage.StatusRunning}
		if err := tx.Workflows().Create(ctx, w); err != nil {
			return err
		}
		ts := &storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending, TaskExecID: tid, TaskID: "t",
			WorkflowExecID: wid, WorkflowID: "tx"}
		if err := tx.Tasks().Create(ctx, ts); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.Workflows().Get(ctx, wid); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		got, err := tx.Tasks().ListByWorkflow(ctx, wid)
		if err != nil || len(got) != 1 {
			return fmt.Errorf("list own writes: %d tasks, %v", len(got), err)
		}
		return tx.Tasks().UpdateStatus(ctx, tid, storage.StatusUpdate{Status: storage.StatusRunning})
	})
	noErr(t, "InTx", err)
	_, err = c.s.Workflows().Get(ctx, wid)
	noErr(t, "get committed workflow", err)
	got, err := c.s.Tasks().Get(ctx, tid)
	noErr(t, "get committed task", err)
	if got.Status != storage.StatusRunning {
		t.Errorf("committed task status = %s, want RUNNING", got.Status)
	}
}

func (c *suite) txRollback(t *testing.T) {
	ctx := ctxOf(t)
	kept := c.newWorkflow(t, storage.StatusRunning)
	wid := id("wf")
	u := &storage.User{ID: id("user"), Email: id("tx") + "@example.com", Role: storage.RoleUser}
	err := c.s.InTx(ctx, func(tx storage.Repos) error {
		w := &storage.WorkflowState{WorkflowExecID: wid, WorkflowID: "tx", Status: storage.StatusRunning}
		if err := tx.Workflows().Create(ctx, w); err != nil {
			return err
		}
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		if err := tx.Workflows().UpdateStatus(ctx, kept.WorkflowExecID, storage.StatusUpdate{Status: storage.StatusFailed}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = c.s.Workflows().Get(ctx, wid)
	wantErr(t, "get rolled-back workflow", err, storage.ErrNotFound)
	_, err = c.s.Users().Get(ctx, u.ID)
	wantErr(t, "get rolled-back user", err, storage.ErrNotFound)
	got, err := c.s.Workflows().Get(ctx, kept.WorkflowExecID)
	noErr(t, "get updated-then-rolled-back workflow", err)
	if got.Status != storage.StatusRunning {
		t.Errorf("rolled-back update left status %s, want RUNNING", got.Status)
	}

	// A storage error inside the transaction rolls back the earlier writes too.
	wid2 := id("wf")
	err = c.s.InTx(ctx, func(tx storage.Repos) error {
		w := &storage.WorkflowState{WorkflowExecID: wid2, WorkflowID: "tx", Status: storage.StatusRunning}
		if err := tx.Workflows().Create(ctx, w); err != nil {
			return err
		}
		dup := *kept
		return tx.Workflows().Create(ctx, &dup)
	})
	wantErr(t, "InTx with a conflict", err, storage.ErrConflict)
	_, err = c.s.Workflows().Get(ctx, wid2)
	wantErr(t, "get workflow of the failed transaction", err, storage.ErrNotFound)

	// The store still works after rollbacks.
	c.newWorkflow(t, storage.StatusPending)
}

func (c *suite) txPanic(t *testing.T) {
	ctx := ctxOf(t)
	wid := id("wf")
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn to continue", r)
			}
		}()
		_ = c.s.InTx(ctx, func(tx storage.Repos) error {
			w := &storage.WorkflowState{WorkflowExecID: wid, WorkflowID: "tx", Status: storage.StatusRunning}
			if err := tx.Workflows().Create(ctx, w); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	_, err := c.s.Workflows().Get(ctx, wid)
	wantErr(t, "get workflow of the panicked transaction", err, storage.ErrNotFound)
	c.newWorkflow(t, storage.StatusPending) // the writer was released
}

func (c *suite) txReadModifyWrite(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	var tasks []*storage.TaskState
	for i := 0; i < 3; i++ {
		tasks = append(tasks, c.newTask(t, w, ""))
	}
	out := json.RawMessage(`{"done":true}`)
	err := Complete(ctx, c.s, w.WorkflowExecID, out)
	wantErr(t, "complete with pending tasks", err, errUnfinished)
	for _, ts := range tasks {
		noErr(t, "finish task", c.s.Tasks().UpdateStatus(ctx, ts.TaskExecID, storage.StatusUpdate{Status: storage.StatusSuccess}))
	}
	noErr(t, "complete", Complete(ctx, c.s, w.WorkflowExecID, out))
	got, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get", err)
	if got.Status != storage.StatusSuccess {
		t.Errorf("status = %s, want SUCCESS", got.Status)
	}
	sameJSON(t, "output", got.Output, out)
}

package storagetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

func sameTask(t *testing.T, got, want *storage.TaskState) {
	t.Helper()
	g := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", got.Component, got.Status, got.TaskExecID, got.TaskID,
		got.WorkflowExecID, got.WorkflowID, got.ExecutionType, got.AgentID, got.ToolID, got.ActionID, got.ParentStateID)
	w := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", want.Component, want.Status, want.TaskExecID, want.TaskID,
		want.WorkflowExecID, want.WorkflowID, want.ExecutionType, want.AgentID, want.ToolID, want.ActionID, want.ParentStateID)
	if g != w {
		t.Errorf("task =\n  %s\nwant\n  %s", g, w)
	}
	sameJSON(t, "usage", got.Usage, want.Usage)
	sameJSON(t, "input", got.Input, want.Input)
	sameJSON(t, "output", got.Output, want.Output)
	sameJSON(t, "error", got.Error, want.Error)
	sameTime(t, "created_at", got.CreatedAt, want.CreatedAt)
	sameTime(t, "updated_at", got.UpdatedAt, want.UpdatedAt)
}

func (c *suite) newTask(t *testing.T, w *storage.WorkflowState, parent string) *storage.TaskState {
	t.Helper()
	ts := &storage.TaskState{
		Component:      storage.ComponentTask,
		Status:         storage.StatusPending,
		TaskExecID:     id("task"),
		TaskID:         "step",
		WorkflowExecID: w.WorkflowExecID,
		WorkflowID:     w.WorkflowID,
		ParentStateID:  parent,
	}
	noErr(t, "create task", c.s.Tasks().Create(ctxOf(t), ts))
	return ts
}

func (c *suite) taskCreateGet(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	parent := &storage.TaskState{
		Component: storage.ComponentAgent, Status: storage.StatusRunning, TaskExecID: id("task"), TaskID: "ask",
		WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID, ExecutionType: storage.ExecutionBasic,
		Usage: json.RawMessage(`[{"tokens":3}]`), AgentID: "agent-1", ActionID: "answer",
		Input: json.RawMessage(`{"q":"?"}`), Output: json.RawMessage(`{"a":"!"}`), Error: json.RawMessage(`{"code":0}`),
	}
	noErr(t, "create agent task", c.s.Tasks().Create(ctx, parent))
	tool := &storage.TaskState{
		Component: storage.ComponentTool, Status: storage.StatusPending, TaskExecID: id("task"), TaskID: "fetch",
		WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID, ToolID: "http", ParentStateID: parent.TaskExecID,
	}
	noErr(t, "create tool task", c.s.Tasks().Create(ctx, tool))
	if tool.ExecutionType != storage.ExecutionBasic {
		t.Errorf("Create left execution type %q, want the default %q", tool.ExecutionType, storage.ExecutionBasic)
	}
	router := &storage.TaskState{
		Component: storage.ComponentTask, Status: storage.StatusWaiting, TaskExecID: id("task"), TaskID: "route",
		WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID, ExecutionType: storage.ExecutionRouter,
	}
	noErr(t, "create router task", c.s.Tasks().Create(ctx, router))
	for _, want := range []*storage.TaskState{parent, tool, router} {
		got, err := c.s.Tasks().Get(ctx, want.TaskExecID)
		noErr(t, "get", err)
		sameTask(t, got, want)
	}
}

func (c *suite) taskConflict(t *testing.T) {
	w := c.newWorkflow(t, storage.StatusRunning)
	ts := c.newTask(t, w, "")
	dup := *ts
	wantErr(t, "create duplicate", c.s.Tasks().Create(ctxOf(t), &dup), storage.ErrConflict)
}

func (c *suite) taskInvalid(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	base := storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending, TaskID: "x",
		WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID}
	cases := map[string]func(ts *storage.TaskState){
		// Rejected by the database: foreign keys and the execution-type check.
		"unknown workflow":     func(ts *storage.TaskState) { ts.WorkflowExecID = id("missing") },
		"unknown parent":       func(ts *storage.TaskState) { ts.ParentStateID = id("missing") },
		"agent without action": func(ts *storage.TaskState) { ts.AgentID = "agent-1" },
		"agent and tool":       func(ts *storage.TaskState) { ts.AgentID, ts.ActionID, ts.ToolID = "a", "b", "c" },
		"router with an agent": func(ts *storage.TaskState) {
			ts.ExecutionType, ts.AgentID, ts.ActionID = storage.ExecutionRouter, "a", "b"
		},
		"usage not an array":      func(ts *storage.TaskState) { ts.Usage = json.RawMessage(`{}`) },
		"output not JSON":         func(ts *storage.TaskState) { ts.Output = json.RawMessage(`[1,`) },
		"no component":            func(ts *storage.TaskState) { ts.Component = "" },
		"no workflow exec id":     func(ts *storage.TaskState) { ts.WorkflowExecID = "" },
		"no task exec id (empty)": func(ts *storage.TaskState) { ts.TaskExecID = "" },
	}
	for name, mutate := range cases {
		ts := base
		ts.TaskExecID = id("task")
		mutate(&ts)
		wantErr(t, name, c.s.Tasks().Create(ctx, &ts), storage.ErrInvalid)
	}
}

func (c *suite) taskNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.Tasks().Get(ctx, id("missing"))
	wantErr(t, "get", err, storage.ErrNotFound)
	wantErr(t, "update", c.s.Tasks().UpdateStatus(ctx, id("missing"), storage.StatusUpdate{Status: storage.StatusFailed}), storage.ErrNotFound)
	wantErr(t, "delete", c.s.Tasks().Delete(ctx, id("missing")), storage.ErrNotFound)
}

func (c *suite) taskListByWorkflow(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	other := c.newWorkflow(t, storage.StatusRunning)
	c.newTask(t, other, "")
	base := utcMicro().Add(-time.Hour)
	var ids []string
	for _, off := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
		ts := &storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending, TaskExecID: id("task"), TaskID: "t",
			WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID, CreatedAt: base.Add(off), UpdatedAt: base.Add(off)}
		noErr(t, "create", c.s.Tasks().Create(ctx, ts))
		ids = append(ids, ts.TaskExecID)
	}
	got, err := c.s.Tasks().ListByWorkflow(ctx, w.WorkflowExecID)
	noErr(t, "list", err)
	want := []string{ids[1], ids[2], ids[0]}
	if g := taskIDs(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("ListByWorkflow = %v, want %v (oldest first, other workflows left out)", g, want)
	}
	got, err = c.s.Tasks().ListByWorkflow(ctx, id("missing"))
	noErr(t, "list unknown workflow", err)
	if got == nil || len(got) != 0 {
		t.Errorf("ListByWorkflow of an unknown workflow = %#v, want an empty slice", got)
	}
}

func (c *suite) taskListByStatus(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	status := storage.Status("TLIST_" + randomHex(4))
	base := utcMicro().Add(-time.Hour)
	var ids []string
	for _, off := range []time.Duration{time.Second, 0, 2 * time.Second} {
		ts := &storage.TaskState{Component: storage.ComponentTask, Status: status, TaskExecID: id("task"), TaskID: "t",
			WorkflowExecID: w.WorkflowExecID, WorkflowID: w.WorkflowID, CreatedAt: base.Add(off), UpdatedAt: base.Add(off)}
		noErr(t, "create", c.s.Tasks().Create(ctx, ts))
		ids = append(ids, ts.TaskExecID)
	}
	c.newTask(t, w, "")
	want := []string{ids[1], ids[0], ids[2]}
	got, err := c.s.Tasks().ListByStatus(ctx, status, 0)
	noErr(t, "list", err)
	if g := taskIDs(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("ListByStatus = %v, want %v", g, want)
	}
	got, err = c.s.Tasks().ListByStatus(ctx, status, 1)
	noErr(t, "list limit 1", err)
	if g := taskIDs(got); strings.Join(g, ",") != want[0] {
		t.Errorf("ListByStatus limit 1 = %v, want %v", g, want[:1])
	}
}

func taskIDs(ts []*storage.TaskState) []string {
	var ids []string
	for _, x := range ts {
		ids = append(ids, x.TaskExecID)
	}
	return ids
}

func (c *suite) taskUpdateStatus(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	ts := c.newTask(t, w, "")
	// SQLite's trigger keeps updated_at with datetime('now'): whole seconds.
	before := time.Now().UTC().Truncate(time.Second)
	out := json.RawMessage(`{"answer":42}`)
	noErr(t, "update", c.s.Tasks().UpdateStatus(ctx, ts.TaskExecID, storage.StatusUpdate{Status: storage.StatusSuccess, Output: out}))
	got, err := c.s.Tasks().Get(ctx, ts.TaskExecID)
	noErr(t, "get", err)
	if got.Status != storage.StatusSuccess {
		t.Errorf("status = %s, want SUCCESS", got.Status)
	}
	sameJSON(t, "output", got.Output, out)
	sameJSON(t, "error", got.Error, nil)
	sameJSON(t, "input (untouched)", got.Input, ts.Input)
	sameTime(t, "created_at", got.CreatedAt, ts.CreatedAt)
	if got.UpdatedAt.Before(before) {
		t.Errorf("updated_at %s is before the update (%s)", got.UpdatedAt, before)
	}
	if got.UpdatedAt.Location() != time.UTC {
		t.Errorf("updated_at is in %s, want UTC", got.UpdatedAt.Location())
	}
	errJSON := json.RawMessage(`{"message":"boom"}`)
	noErr(t, "update with error", c.s.Tasks().UpdateStatus(ctx, ts.TaskExecID, storage.StatusUpdate{Status: storage.StatusFailed, Error: errJSON}))
	got, err = c.s.Tasks().Get(ctx, ts.TaskExecID)
	noErr(t, "get", err)
	sameJSON(t, "output (kept)", got.Output, out)
	sameJSON(t, "error", got.Error, errJSON)
}

func (c *suite) taskDeleteCascades(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	parent := c.newTask(t, w, "")
	child := c.newTask(t, w, parent.TaskExecID)
	sibling := c.newTask(t, w, "")
	noErr(t, "delete parent", c.s.Tasks().Delete(ctx, parent.TaskExecID))
	_, err := c.s.Tasks().Get(ctx, child.TaskExecID)
	wantErr(t, "get child of deleted task", err, storage.ErrNotFound)
	_, err = c.s.Tasks().Get(ctx, sibling.TaskExecID)
	noErr(t, "get sibling", err)
	_, err = c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get workflow", err)
}

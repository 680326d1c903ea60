package storagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

// Run runs the conformance suite against the store open returns. open is called once; the
// subtests share the store and keep apart by using their own IDs and statuses, so the store
// only needs the migrated schema (and may hold other data). open should register the store's
// Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	c := &suite{s: s}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Ping", c.ping},
		{"Workflows/CreateGet", c.workflowCreateGet},
		{"Workflows/CreateConflict", c.workflowConflict},
		{"Workflows/CreateInvalid", c.workflowInvalid},
		{"Workflows/GetNotFound", c.workflowNotFound},
		{"Workflows/ListByStatus", c.workflowListByStatus},
		{"Workflows/UpdateStatus", c.workflowUpdateStatus},
		{"Workflows/DeleteCascades", c.workflowDeleteCascades},
		{"Workflows/JSONRoundTrip", c.workflowJSON},
		{"Workflows/TimeZones", c.workflowTimeZones},
		{"Tasks/CreateGet", c.taskCreateGet},
		{"Tasks/CreateConflict", c.taskConflict},
		{"Tasks/CreateInvalid", c.taskInvalid},
		{"Tasks/GetNotFound", c.taskNotFound},
		{"Tasks/ListByWorkflow", c.taskListByWorkflow},
		{"Tasks/ListByStatus", c.taskListByStatus},
		{"Tasks/UpdateStatus", c.taskUpdateStatus},
		{"Tasks/DeleteCascadesToChildren", c.taskDeleteCascades},
		{"Users/CreateGet", c.userCreateGet},
		{"Users/CreateConflict", c.userConflict},
		{"Users/EmailCaseInsensitive", c.userEmailCase},
		{"Users/CreateInvalid", c.userInvalid},
		{"Users/NotFound", c.userNotFound},
		{"Users/DeleteCascadesToAPIKeys", c.userDeleteCascades},
		{"APIKeys/CreateFind", c.apiKeyCreateFind},
		{"APIKeys/CreateConflict", c.apiKeyConflict},
		{"APIKeys/CreateInvalid", c.apiKeyInvalid},
		{"APIKeys/FindNotFound", c.apiKeyNotFound},
		{"APIKeys/TouchLastUsedMonotonic", c.apiKeyTouch},
		{"InTx/Commit", c.txCommit},
		{"InTx/Rollback", c.txRollback},
		{"InTx/Panic", c.txPanic},
		{"InTx/ReadModifyWrite", c.txReadModifyWrite},
		{"Concurrent", c.concurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	s storage.Store
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// id returns a fresh identifier.
func id(kind string) string { return kind + "-" + randomHex(6) }

// utcMicro is the current time at PostgreSQL's precision.
func utcMicro() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want one wrapping %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// canonicalJSON decodes and re-encodes raw, which sorts object keys and drops insignificant
// whitespace: PostgreSQL's jsonb does both. nil (SQL NULL) stays nil.
func canonicalJSON(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("stored JSON %q does not decode: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode JSON: %v", err)
	}
	return b
}

func sameJSON(t *testing.T, field string, got, want json.RawMessage) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s = %q, want %q (NULL must stay NULL, JSON must stay JSON)", field, got, want)
		return
	}
	if g, w := canonicalJSON(t, got), canonicalJSON(t, want); !bytes.Equal(g, w) {
		t.Errorf("%s = %s, want %s", field, g, w)
	}
}

func sameTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", field, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %s, want UTC", field, got.Location())
	}
}

func sameWorkflow(t *testing.T, got, want *storage.WorkflowState) {
	t.Helper()
	if got.WorkflowExecID != want.WorkflowExecID || got.WorkflowID != want.WorkflowID || got.Status != want.Status {
		t.Errorf("workflow = {%s %s %s}, want {%s %s %s}", got.WorkflowExecID, got.WorkflowID, got.Status,
			want.WorkflowExecID, want.WorkflowID, want.Status)
	}
	sameJSON(t, "usage", got.Usage, want.Usage)
	sameJSON(t, "input", got.Input, want.Input)
	sameJSON(t, "output", got.Output, want.Output)
	sameJSON(t, "error", got.Error, want.Error)
	sameTime(t, "created_at", got.CreatedAt, want.CreatedAt)
	sameTime(t, "updated_at", got.UpdatedAt, want.UpdatedAt)
}

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

func (c *suite) newWorkflow(t *testing.T, status storage.Status) *storage.WorkflowState {
	t.Helper()
	w := &storage.WorkflowState{
		WorkflowExecID: id("wf"),
		WorkflowID:     "conformance",
		Status:         status,
		Input:          json.RawMessage(`{"n": 1}`),
	}
	noErr(t, "create workflow", c.s.Workflows().Create(ctxOf(t), w))
	return w
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

func (c *suite) ping(t *testing.T) {
	noErr(t, "ping", c.s.Ping(ctxOf(t)))
}

func (c *suite) workflowCreateGet(t *testing.T) {
	ctx := ctxOf(t)
	before := time.Now().Add(-time.Second)
	w := &storage.WorkflowState{
		WorkflowExecID: id("wf"),
		WorkflowID:     "greeter",
		Status:         storage.StatusRunning,
		Usage:          json.RawMessage(`[{"model":"gpt","tokens":12}]`),
		Input:          json.RawMessage(`{"name":"Ada"}`),
		Output:         json.RawMessage(`{"greeting":"hi"}`),
		Error:          json.RawMessage(`{"message":"none"}`),
	}
	noErr(t, "create", c.s.Workflows().Create(ctx, w))
	if w.CreatedAt.Before(before) || w.UpdatedAt.Before(before) {
		t.Fatalf("Create set created_at %s, updated_at %s; want now", w.CreatedAt, w.UpdatedAt)
	}
	got, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get", err)
	sameWorkflow(t, got, w)

	// NULL JSON columns stay NULL.
	bare := &storage.WorkflowState{WorkflowExecID: id("wf"), WorkflowID: "bare", Status: storage.StatusPending}
	noErr(t, "create bare", c.s.Workflows().Create(ctx, bare))
	got, err = c.s.Workflows().Get(ctx, bare.WorkflowExecID)
	noErr(t, "get bare", err)
	sameWorkflow(t, got, bare)
}

func (c *suite) workflowConflict(t *testing.T) {
	w := c.newWorkflow(t, storage.StatusPending)
	dup := *w
	dup.CreatedAt, dup.UpdatedAt = time.Time{}, time.Time{}
	wantErr(t, "create duplicate", c.s.Workflows().Create(ctxOf(t), &dup), storage.ErrConflict)
}

func (c *suite) workflowInvalid(t *testing.T) {
	ctx := ctxOf(t)
	for name, w := range map[string]storage.WorkflowState{
		"usage not an array": {WorkflowExecID: id("wf"), WorkflowID: "x", Status: storage.StatusPending, Usage: json.RawMessage(`{"a":1}`)},
		"input not JSON":     {WorkflowExecID: id("wf"), WorkflowID: "x", Status: storage.StatusPending, Input: json.RawMessage(`{nope`)},
		"no id":              {WorkflowID: "x", Status: storage.StatusPending},
		"no status":          {WorkflowExecID: id("wf"), WorkflowID: "x"},
	} {
		wantErr(t, name, c.s.Workflows().Create(ctx, &w), storage.ErrInvalid)
	}
}

func (c *suite) workflowNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.Workflows().Get(ctx, id("missing"))
	wantErr(t, "get", err, storage.ErrNotFound)
	wantErr(t, "update", c.s.Workflows().UpdateStatus(ctx, id("missing"), storage.StatusUpdate{Status: storage.StatusFailed}), storage.ErrNotFound)
	wantErr(t, "delete", c.s.Workflows().Delete(ctx, id("missing")), storage.ErrNotFound)
}

func (c *suite) workflowListByStatus(t *testing.T) {
	ctx := ctxOf(t)
	status := storage.Status("LIST_" + randomHex(4))
	base := utcMicro().Add(-time.Hour)
	var ids []string
	// Created out of order; the list is oldest first.
	for _, off := range []time.Duration{2 * time.Second, 0, time.Second} {
		w := &storage.WorkflowState{WorkflowExecID: id("wf"), WorkflowID: "list", Status: status, CreatedAt: base.Add(off), UpdatedAt: base.Add(off)}
		noErr(t, "create", c.s.Workflows().Create(ctx, w))
		ids = append(ids, w.WorkflowExecID)
	}
	c.newWorkflow(t, storage.Status(string(status)+"_OTHER"))
	want := []string{ids[1], ids[2], ids[0]}

	got, err := c.s.Workflows().ListByStatus(ctx, status, 0)
	noErr(t, "list", err)
	if g := workflowIDs(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("ListByStatus = %v, want %v", g, want)
	}
	got, err = c.s.Workflows().ListByStatus(ctx, status, 2)
	noErr(t, "list limit 2", err)
	if g := workflowIDs(got); strings.Join(g, ",") != strings.Join(want[:2], ",") {
		t.Errorf("ListByStatus limit 2 = %v, want %v", g, want[:2])
	}
	got, err = c.s.Workflows().ListByStatus(ctx, storage.Status("NONE_"+randomHex(4)), 0)
	noErr(t, "list none", err)
	if got == nil || len(got) != 0 {
		t.Errorf("ListByStatus of an unused status = %#v, want an empty slice", got)
	}
}

func workflowIDs(ws []*storage.WorkflowState) []string {
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.WorkflowExecID)
	}
	return ids
}

func (c *suite) workflowUpdateStatus(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusPending)
	before := utcMicro()
	noErr(t, "update to running", c.s.Workflows().UpdateStatus(ctx, w.WorkflowExecID, storage.StatusUpdate{Status: storage.StatusRunning}))
	got, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get", err)
	if got.Status != storage.StatusRunning || got.Output != nil || got.Error != nil {
		t.Errorf("after RUNNING: status %s output %q error %q", got.Status, got.Output, got.Error)
	}
	if got.UpdatedAt.Before(before) {
		t.Errorf("updated_at %s is before the update (%s)", got.UpdatedAt, before)
	}
	sameTime(t, "created_at", got.CreatedAt, w.CreatedAt)

	out := json.RawMessage(`{"result":[1,2,3]}`)
	noErr(t, "update with output", c.s.Workflows().UpdateStatus(ctx, w.WorkflowExecID, storage.StatusUpdate{Status: storage.StatusSuccess, Output: out}))
	errJSON := json.RawMessage(`{"message":"late failure"}`)
	noErr(t, "update with error", c.s.Workflows().UpdateStatus(ctx, w.WorkflowExecID, storage.StatusUpdate{Status: storage.StatusFailed, Error: errJSON}))
	got, err = c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get", err)
	if got.Status != storage.StatusFailed {
		t.Errorf("status = %s, want FAILED", got.Status)
	}
	sameJSON(t, "output (kept by an update without output)", got.Output, out)
	sameJSON(t, "error", got.Error, errJSON)

	wantErr(t, "update with invalid JSON", c.s.Workflows().UpdateStatus(ctx, w.WorkflowExecID,
		storage.StatusUpdate{Status: storage.StatusFailed, Output: json.RawMessage(`{`)}), storage.ErrInvalid)
}

func (c *suite) workflowDeleteCascades(t *testing.T) {
	ctx := ctxOf(t)
	w := c.newWorkflow(t, storage.StatusRunning)
	parent := c.newTask(t, w, "")
	child := c.newTask(t, w, parent.TaskExecID)
	noErr(t, "delete", c.s.Workflows().Delete(ctx, w.WorkflowExecID))
	_, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
	wantErr(t, "get deleted workflow", err, storage.ErrNotFound)
	for _, ts := range []*storage.TaskState{parent, child} {
		_, err := c.s.Tasks().Get(ctx, ts.TaskExecID)
		wantErr(t, "get task of deleted workflow", err, storage.ErrNotFound)
	}
	ts, err := c.s.Tasks().ListByWorkflow(ctx, w.WorkflowExecID)
	noErr(t, "list tasks of deleted workflow", err)
	if len(ts) != 0 {
		t.Errorf("deleted workflow still has %d tasks", len(ts))
	}
	wantErr(t, "delete again", c.s.Workflows().Delete(ctx, w.WorkflowExecID), storage.ErrNotFound)
}

func (c *suite) workflowJSON(t *testing.T) {
	ctx := ctxOf(t)
	for name, doc := range map[string]string{
		"nested":         `{"b":{"c":[1,{"d":null}],"e":true},"a":"x"}`,
		"unicode":        `{"s":"héllo \u00e9 \u4e16\u754c 🚀","esc":"quote \" backslash \\ tab \t"}`,
		"numbers":        `{"int":42,"neg":-7,"float":3.25,"exp":1e3,"big":12345678901234}`,
		"whitespace":     "{ \"spaced\" :\n [ 1 , 2 ] }",
		"empty object":   `{}`,
		"empty array":    `[]`,
		"JSON null":      `null`,
		"string literal": `"just a string"`,
	} {
		w := &storage.WorkflowState{WorkflowExecID: id("wf"), WorkflowID: "json", Status: storage.StatusPending,
			Input: json.RawMessage(doc), Output: json.RawMessage(doc), Usage: json.RawMessage(`[` + doc + `]`)}
		noErr(t, name+": create", c.s.Workflows().Create(ctx, w))
		got, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
		noErr(t, name+": get", err)
		sameJSON(t, name+": input", got.Input, w.Input)
		sameJSON(t, name+": output", got.Output, w.Output)
		sameJSON(t, name+": usage", got.Usage, w.Usage)
	}
}

func (c *suite) workflowTimeZones(t *testing.T) {
	ctx := ctxOf(t)
	india := time.FixedZone("IST", 5*3600+1800)
	created := time.Date(2025, 6, 3, 23, 45, 1, 123456000, india) // 18:15:01.123456 UTC
	updated := time.Date(2025, 6, 3, 9, 0, 0, 999999000, time.FixedZone("PDT", -7*3600))
	w := &storage.WorkflowState{WorkflowExecID: id("wf"), WorkflowID: "tz", Status: storage.StatusPending, CreatedAt: created, UpdatedAt: updated}
	noErr(t, "create", c.s.Workflows().Create(ctx, w))
	got, err := c.s.Workflows().Get(ctx, w.WorkflowExecID)
	noErr(t, "get", err)
	sameTime(t, "created_at", got.CreatedAt, created)
	sameTime(t, "updated_at", got.UpdatedAt, updated)
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

func (c *suite) newUser(t *testing.T) *storage.User {
	t.Helper()
	u := &storage.User{ID: id("user"), Email: id("Mixed.Case") + "@Example.COM", Role: storage.RoleUser}
	noErr(t, "create user", c.s.Users().Create(ctxOf(t), u))
	return u
}

func (c *suite) userCreateGet(t *testing.T) {
	ctx := ctxOf(t)
	u := &storage.User{ID: id("user"), Email: id("ada") + "@example.com", Role: storage.RoleAdmin}
	noErr(t, "create", c.s.Users().Create(ctx, u))
	got, err := c.s.Users().Get(ctx, u.ID)
	noErr(t, "get", err)
	if got.ID != u.ID || got.Email != u.Email || got.Role != u.Role {
		t.Errorf("user = %+v, want %+v", got, u)
	}
	sameTime(t, "created_at", got.CreatedAt, u.CreatedAt)
}

func (c *suite) userConflict(t *testing.T) {
	u := c.newUser(t)
	dup := &storage.User{ID: u.ID, Email: id("other") + "@example.com", Role: storage.RoleUser}
	wantErr(t, "same id", c.s.Users().Create(ctxOf(t), dup), storage.ErrConflict)
}

func (c *suite) userEmailCase(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	for _, email := range []string{u.Email, strings.ToLower(u.Email), strings.ToUpper(u.Email)} {
		got, err := c.s.Users().FindByEmail(ctx, email)
		noErr(t, "find "+email, err)
		if got.ID != u.ID || got.Email != u.Email {
			t.Errorf("FindByEmail(%s) = %s %s, want %s %s (stored case kept)", email, got.ID, got.Email, u.ID, u.Email)
		}
	}
	dup := &storage.User{ID: id("user"), Email: strings.ToLower(u.Email), Role: storage.RoleUser}
	wantErr(t, "same email in other case", c.s.Users().Create(ctx, dup), storage.ErrConflict)
}

func (c *suite) userInvalid(t *testing.T) {
	ctx := ctxOf(t)
	for name, u := range map[string]storage.User{
		"unknown role": {ID: id("user"), Email: id("x") + "@example.com", Role: "root"},
		"no email":     {ID: id("user"), Role: storage.RoleUser},
		"no id":        {Email: id("x") + "@example.com", Role: storage.RoleUser},
	} {
		wantErr(t, name, c.s.Users().Create(ctx, &u), storage.ErrInvalid)
	}
}

func (c *suite) userNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.Users().Get(ctx, id("missing"))
	wantErr(t, "get", err, storage.ErrNotFound)
	_, err = c.s.Users().FindByEmail(ctx, id("missing")+"@example.com")
	wantErr(t, "find by email", err, storage.ErrNotFound)
	wantErr(t, "delete", c.s.Users().Delete(ctx, id("missing")), storage.ErrNotFound)
}

func (c *suite) userDeleteCascades(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	k := c.newKey(t, u)
	noErr(t, "delete user", c.s.Users().Delete(ctx, u.ID))
	_, err := c.s.Users().Get(ctx, u.ID)
	wantErr(t, "get deleted user", err, storage.ErrNotFound)
	_, err = c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
	wantErr(t, "find key of deleted user", err, storage.ErrNotFound)
}

// allBytes is every byte value, NUL first: a binary column must keep them all.
func allBytes(salt byte) []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i) ^ salt
	}
	return b
}

func (c *suite) newKey(t *testing.T, u *storage.User) *storage.APIKey {
	t.Helper()
	k := &storage.APIKey{ID: id("key"), UserID: u.ID, Hash: []byte(randomHex(16)), Fingerprint: []byte(randomHex(16)), Prefix: id("cpzy")}
	noErr(t, "create api key", c.s.APIKeys().Create(ctxOf(t), k))
	return k
}

func (c *suite) apiKeyCreateFind(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	salt := []byte(randomHex(1))[0]
	k := &storage.APIKey{ID: id("key"), UserID: u.ID, Hash: allBytes(salt), Fingerprint: append([]byte{0, 0xff, 0}, []byte(randomHex(8))...), Prefix: id("cpzy")}
	noErr(t, "create", c.s.APIKeys().Create(ctx, k))
	got, err := c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
	noErr(t, "find", err)
	if got.ID != k.ID || got.UserID != k.UserID || got.Prefix != k.Prefix {
		t.Errorf("key = %s %s %s, want %s %s %s", got.ID, got.UserID, got.Prefix, k.ID, k.UserID, k.Prefix)
	}
	if !bytes.Equal(got.Hash, k.Hash) {
		t.Errorf("hash = %x, want %x", got.Hash, k.Hash)
	}
	if !bytes.Equal(got.Fingerprint, k.Fingerprint) {
		t.Errorf("fingerprint = %x, want %x", got.Fingerprint, k.Fingerprint)
	}
	sameTime(t, "created_at", got.CreatedAt, k.CreatedAt)
	if got.LastUsed != nil {
		t.Errorf("last_used = %s, want nil for a new key", got.LastUsed)
	}
}

func (c *suite) apiKeyConflict(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	k := c.newKey(t, u)
	for name, dup := range map[string]storage.APIKey{
		"same id":          {ID: k.ID, UserID: u.ID, Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"same prefix":      {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: k.Prefix},
		"same fingerprint": {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Fingerprint: k.Fingerprint, Prefix: id("cpzy")},
	} {
		wantErr(t, name, c.s.APIKeys().Create(ctx, &dup), storage.ErrConflict)
	}
}

func (c *suite) apiKeyInvalid(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	for name, k := range map[string]storage.APIKey{
		"unknown user":   {ID: id("key"), UserID: id("missing"), Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"no hash":        {ID: id("key"), UserID: u.ID, Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"no fingerprint": {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Prefix: id("cpzy")},
	} {
		wantErr(t, name, c.s.APIKeys().Create(ctx, &k), storage.ErrInvalid)
	}
}

func (c *suite) apiKeyNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.APIKeys().FindByPrefix(ctx, id("missing"))
	wantErr(t, "find", err, storage.ErrNotFound)
	wantErr(t, "touch", c.s.APIKeys().TouchLastUsed(ctx, id("missing"), time.Now()), storage.ErrNotFound)
}

func (c *suite) apiKeyTouch(t *testing.T) {
	ctx := ctxOf(t)
	k := c.newKey(t, c.newUser(t))
	lastUsed := func() *time.Time {
		t.Helper()
		got, err := c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
		noErr(t, "find", err)
		return got.LastUsed
	}
	t1 := time.Date(2025, 7, 11, 16, 38, 58, 123456000, time.FixedZone("CEST", 2*3600))
	noErr(t, "touch t1", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1))
	if got := lastUsed(); got == nil || !got.Equal(t1) {
		t.Fatalf("after touch: last_used = %v, want %s", got, t1)
	}
	noErr(t, "touch earlier", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1.Add(-time.Hour)))
	if got := lastUsed(); got == nil || !got.Equal(t1) {
		t.Fatalf("an earlier touch moved last_used to %v; want it kept at %s", got, t1)
	}
	noErr(t, "touch same", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1))
	t2 := t1.Add(time.Microsecond)
	noErr(t, "touch later", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t2))
	if got := lastUsed(); got == nil || !got.Equal(t2) {
		t.Fatalf("after a later touch: last_used = %v, want %s", got, t2)
	}
	before := time.Now().Add(-time.Second)
	noErr(t, "touch now", c.s.APIKeys().TouchLastUsed(ctx, k.ID, time.Time{}))
	if got := lastUsed(); got == nil || got.Before(before) {
		t.Fatalf("a touch at the zero time should use now; last_used = %v", got)
	}
}

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

// concurrent runs a few life cycles at once: a smoke test on every driver (the SQLite package
// has the long one).
func (c *suite) concurrent(t *testing.T) {
	ctx := ctxOf(t)
	res := RunLoad(ctx, c.s, LoadOptions{Workers: 8, Workflows: 24})
	CheckLoad(t, c.s, res)
	if res.Workflows != 24 {
		t.Errorf("completed %d workflows, want 24", res.Workflows)
	}
}

// CheckLoad fails t when res has errors, and checks that the store holds what the completed
// life cycles wrote: each workflow SUCCESS with its output, each of its tasks SUCCESS with an
// output.
func CheckLoad(t *testing.T, s storage.Store, res LoadResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res.Errors > 0 {
		var b strings.Builder
		for _, err := range res.FirstErrors {
			fmt.Fprintf(&b, "\n  %v", err)
		}
		t.Fatalf("%d of %d life cycles failed; first errors:%s", res.Errors, res.Errors+res.Workflows, b.String())
	}
	if want := res.Workflows * TransitionsPerWorkflow; res.Transitions != want {
		t.Errorf("%d transitions committed, want %d for %d workflows", res.Transitions, want, res.Workflows)
	}
	if int64(len(res.Completed)) != res.Workflows {
		t.Fatalf("%d completed IDs for %d completed workflows", len(res.Completed), res.Workflows)
	}
	for _, wid := range res.Completed {
		w, err := s.Workflows().Get(ctx, wid)
		if err != nil {
			t.Fatalf("completed workflow: %v", err)
		}
		if w.Status != storage.StatusSuccess || w.Output == nil {
			t.Fatalf("completed workflow %s: status %s, output %q", wid, w.Status, w.Output)
		}
		ts, err := s.Tasks().ListByWorkflow(ctx, wid)
		if err != nil {
			t.Fatalf("tasks of completed workflow: %v", err)
		}
		if len(ts) != TasksPerWorkflow {
			t.Fatalf("completed workflow %s has %d tasks, want %d", wid, len(ts), TasksPerWorkflow)
		}
		for _, x := range ts {
			if x.Status != storage.StatusSuccess || x.Output == nil {
				t.Fatalf("task %s of completed workflow: status %s, output %q", x.TaskExecID, x.Status, x.Output)
			}
		}
	}
}

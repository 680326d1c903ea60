package storagetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

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

package storage_test

import (
	"encoding/json"
	"errors"
	"testing"

	"compozy.dev/setup/core/storage"
)

func TestValidate(t *testing.T) {
	wf := func(f func(w *storage.WorkflowState)) error {
		w := storage.WorkflowState{WorkflowExecID: "e", WorkflowID: "w", Status: storage.StatusRunning}
		f(&w)
		return w.Validate()
	}
	task := func(f func(t *storage.TaskState)) error {
		t := storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending, TaskExecID: "x",
			TaskID: "t", WorkflowExecID: "e", WorkflowID: "w"}
		f(&t)
		return t.Validate()
	}
	for name, tc := range map[string]struct {
		err   error
		valid bool
	}{
		"workflow ok":            {wf(func(*storage.WorkflowState) {}), true},
		"workflow JSON null":     {wf(func(w *storage.WorkflowState) { w.Input = json.RawMessage(`null`) }), true},
		"workflow usage array":   {wf(func(w *storage.WorkflowState) { w.Usage = json.RawMessage(" [1]") }), true},
		"workflow usage object":  {wf(func(w *storage.WorkflowState) { w.Usage = json.RawMessage(`{}`) }), false},
		"workflow usage null":    {wf(func(w *storage.WorkflowState) { w.Usage = json.RawMessage(`null`) }), false},
		"workflow bad output":    {wf(func(w *storage.WorkflowState) { w.Output = json.RawMessage(`{`) }), false},
		"workflow empty JSON":    {wf(func(w *storage.WorkflowState) { w.Error = json.RawMessage{} }), false},
		"workflow no id":         {wf(func(w *storage.WorkflowState) { w.WorkflowExecID = "" }), false},
		"workflow no status":     {wf(func(w *storage.WorkflowState) { w.Status = "" }), false},
		"task ok":                {task(func(*storage.TaskState) {}), true},
		"task no component":      {task(func(t *storage.TaskState) { t.Component = "" }), false},
		"task bad input":         {task(func(t *storage.TaskState) { t.Input = json.RawMessage(`nope`) }), false},
		"user ok":                {(&storage.User{ID: "u", Email: "a@b", Role: storage.RoleAdmin}).Validate(), true},
		"user bad role":          {(&storage.User{ID: "u", Email: "a@b", Role: "root"}).Validate(), false},
		"key ok":                 {(&storage.APIKey{ID: "k", UserID: "u", Prefix: "p", Hash: []byte{0}, Fingerprint: []byte{0}}).Validate(), true},
		"key no hash":            {(&storage.APIKey{ID: "k", UserID: "u", Prefix: "p", Fingerprint: []byte{0}}).Validate(), false},
		"update ok":              {storage.StatusUpdate{Status: storage.StatusSuccess}.Validate(), true},
		"update no status":       {storage.StatusUpdate{}.Validate(), false},
		"update bad error JSON":  {storage.StatusUpdate{Status: storage.StatusFailed, Error: json.RawMessage(`]`)}.Validate(), false},
		"update bad output JSON": {storage.StatusUpdate{Status: storage.StatusFailed, Output: json.RawMessage(`x`)}.Validate(), false},
	} {
		switch {
		case tc.valid && tc.err != nil:
			t.Errorf("%s: %v", name, tc.err)
		case !tc.valid && !errors.Is(tc.err, storage.ErrInvalid):
			t.Errorf("%s: error %v, want one wrapping ErrInvalid", name, tc.err)
		}
	}
}

// Package workload is the workflow life cycle that `compozy db bench` measures and the storage
// tests run: the steps Compozy's engine takes for one workflow execution, through core/storage
// only, so that it runs on every driver.
package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/storage"
)

// TasksPerWorkflow is the number of tasks of one life cycle.
const TasksPerWorkflow = 5

// TransitionsPerWorkflow is the number of write transactions of one life cycle: the workflow
// insert, one insert and two status updates per task, and the completing transaction.
const TransitionsPerWorkflow = 1 + 3*TasksPerWorkflow + 1

// Payload sizes, in bytes, of the JSON documents a life cycle writes (those of
// reference/sqlite-concurrency-measurements.md).
const (
	WorkflowInputBytes  = 1077
	TaskInputBytes      = 538
	TaskOutputBytes     = 1077
	WorkflowOutputBytes = 273
)

// Payloads are the JSON documents a life cycle writes, sized like real workflow state.
type Payloads struct {
	WorkflowInput  json.RawMessage // about 1 KB
	TaskInput      json.RawMessage // about 512 B
	TaskOutput     json.RawMessage // about 1 KB
	WorkflowOutput json.RawMessage // about 270 B
}

// DefaultPayloads returns the payloads of the measurements in
// reference/sqlite-concurrency-measurements.md.
func DefaultPayloads() Payloads {
	return Payloads{
		WorkflowInput:  payload("workflow input", WorkflowInputBytes),
		TaskInput:      payload("task input", TaskInputBytes),
		TaskOutput:     payload("task output", TaskOutputBytes),
		WorkflowOutput: payload("workflow output", WorkflowOutputBytes),
	}
}

// payload is a JSON object of exactly size bytes.
func payload(kind string, size int) json.RawMessage {
	head := `{"kind":"` + kind + `","items":[1,2,3],"text":"`
	tail := `"}`
	return json.RawMessage(head + strings.Repeat("x", max(size-len(head)-len(tail), 0)) + tail)
}

// ErrUnfinished is returned by Complete when a task of the workflow has not succeeded.
var ErrUnfinished = errors.New("not every task succeeded")

// Lifecycle runs one workflow execution through the store the way Compozy's engine does, each
// step its own transaction:
//
//  1. create the workflow (RUNNING, about 1 KB of JSON input);
//  2. create TasksPerWorkflow tasks (PENDING);
//  3. per task, set RUNNING, then SUCCESS with about 1 KB of output;
//  4. read the workflow and its tasks (outside a transaction: the read pool);
//  5. complete: in one InTx, read the tasks, check they all succeeded, set the workflow SUCCESS.
//
// observe, when not nil, is told the latency of each committed write transaction (write true)
// and of the read (write false). Lifecycle returns the number of write transactions that
// committed (TransitionsPerWorkflow when err is nil) and the first error, after which the
// workflow is abandoned.
func Lifecycle(ctx context.Context, s storage.Store, p Payloads, id string, observe func(write bool, d time.Duration)) (transitions int, err error) {
	if observe == nil {
		observe = func(bool, time.Duration) {}
	}
	write := func(fn func() error) error {
		t0 := time.Now()
		if err := fn(); err != nil {
			return err
		}
		transitions++
		observe(true, time.Since(t0))
		return nil
	}
	wf := &storage.WorkflowState{WorkflowExecID: id, WorkflowID: "bench-workflow", Status: storage.StatusRunning,
		Input: p.WorkflowInput}
	if err := write(func() error { return s.Workflows().Create(ctx, wf) }); err != nil {
		return transitions, err
	}
	taskIDs := make([]string, TasksPerWorkflow)
	for i := range taskIDs {
		taskIDs[i] = id + "-t" + strconv.Itoa(i)
		t := &storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending,
			TaskExecID: taskIDs[i], TaskID: "task-" + strconv.Itoa(i), WorkflowExecID: id, WorkflowID: wf.WorkflowID,
			ExecutionType: storage.ExecutionBasic, Input: p.TaskInput}
		if err := write(func() error { return s.Tasks().Create(ctx, t) }); err != nil {
			return transitions, err
		}
	}
	for _, tid := range taskIDs {
		if err := write(func() error {
			return s.Tasks().UpdateStatus(ctx, tid, storage.StatusUpdate{Status: storage.StatusRunning})
		}); err != nil {
			return transitions, err
		}
		if err := write(func() error {
			return s.Tasks().UpdateStatus(ctx, tid, storage.StatusUpdate{Status: storage.StatusSuccess, Output: p.TaskOutput})
		}); err != nil {
			return transitions, err
		}
	}
	t0 := time.Now()
	if _, err := s.Workflows().Get(ctx, id); err != nil {
		return transitions, err
	}
	ts, err := s.Tasks().ListByWorkflow(ctx, id)
	if err != nil {
		return transitions, err
	}
	if len(ts) != TasksPerWorkflow {
		return transitions, fmt.Errorf("read workflow %s: %d tasks, want %d", id, len(ts), TasksPerWorkflow)
	}
	observe(false, time.Since(t0))
	err = write(func() error { return Complete(ctx, s, id, p.WorkflowOutput) })
	return transitions, err
}

// Complete is the read-modify-write step of a life cycle: in one transaction it reads the tasks
// of the workflow execution and, when all succeeded, sets the workflow SUCCESS with output.
func Complete(ctx context.Context, s storage.Store, workflowExecID string, output json.RawMessage) error {
	return s.InTx(ctx, func(tx storage.Repos) error {
		ts, err := tx.Tasks().ListByWorkflow(ctx, workflowExecID)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.Status != storage.StatusSuccess {
				return fmt.Errorf("complete workflow %s: task %s is %s: %w", workflowExecID, t.TaskExecID, t.Status, ErrUnfinished)
			}
		}
		return tx.Workflows().UpdateStatus(ctx, workflowExecID, storage.StatusUpdate{Status: storage.StatusSuccess, Output: output})
	})
}

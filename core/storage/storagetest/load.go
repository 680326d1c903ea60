package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"compozy.dev/setup/core/storage"
)

// TasksPerWorkflow is the number of tasks of one life cycle.
const TasksPerWorkflow = 5

// TransitionsPerWorkflow is the number of write transactions of one life cycle: the workflow
// insert, one insert and two status updates per task, and the completing transaction.
const TransitionsPerWorkflow = 1 + 3*TasksPerWorkflow + 1

// Payloads are the JSON documents a life cycle writes, sized like real workflow state.
type Payloads struct {
	WorkflowInput  json.RawMessage // about 1 KB
	TaskInput      json.RawMessage // about 512 B
	TaskOutput     json.RawMessage // about 1 KB
	WorkflowOutput json.RawMessage // about 270 B
}

// DefaultPayloads returns the payloads of the measurements in
// reference/sqlite-concurrency-measurements.md (1077, 538, 1077 and 273 bytes).
func DefaultPayloads() Payloads {
	return Payloads{
		WorkflowInput:  payload("workflow input", 1077),
		TaskInput:      payload("task input", 538),
		TaskOutput:     payload("task output", 1077),
		WorkflowOutput: payload("workflow output", 273),
	}
}

// payload is a JSON object of exactly size bytes.
func payload(kind string, size int) json.RawMessage {
	head := `{"kind":"` + kind + `","items":[1,2,3],"text":"`
	tail := `"}`
	pad := size - len(head) - len(tail)
	if pad < 0 {
		pad = 0
	}
	return json.RawMessage(head + strings.Repeat("x", pad) + tail)
}

// Lifecycle runs one workflow execution through the store the way Compozy's engine does, each
// step its own transaction:
//
//  1. create the workflow (RUNNING);
//  2. create TasksPerWorkflow tasks (PENDING);
//  3. per task, set RUNNING, then SUCCESS with an output;
//  4. read the workflow and its tasks (outside a transaction: the read pool);
//  5. complete: in one InTx, read the tasks, check they all succeeded, set the workflow SUCCESS.
//
// It returns the number of write transactions that committed (TransitionsPerWorkflow when err is
// nil) and the first error, after which the workflow is abandoned.
func Lifecycle(ctx context.Context, s storage.Store, p Payloads, workflowExecID string) (transitions int, err error) {
	wf := &storage.WorkflowState{
		WorkflowExecID: workflowExecID,
		WorkflowID:     "bench-workflow",
		Status:         storage.StatusRunning,
		Input:          p.WorkflowInput,
	}
	if err := s.Workflows().Create(ctx, wf); err != nil {
		return transitions, err
	}
	transitions++
	taskIDs := make([]string, TasksPerWorkflow)
	for i := range taskIDs {
		taskIDs[i] = workflowExecID + "-t" + strconv.Itoa(i)
		t := &storage.TaskState{
			Component:      storage.ComponentTask,
			Status:         storage.StatusPending,
			TaskExecID:     taskIDs[i],
			TaskID:         "task-" + strconv.Itoa(i),
			WorkflowExecID: workflowExecID,
			WorkflowID:     wf.WorkflowID,
			ExecutionType:  storage.ExecutionBasic,
			Input:          p.TaskInput,
		}
		if err := s.Tasks().Create(ctx, t); err != nil {
			return transitions, err
		}
		transitions++
	}
	for _, id := range taskIDs {
		if err := s.Tasks().UpdateStatus(ctx, id, storage.StatusUpdate{Status: storage.StatusRunning}); err != nil {
			return transitions, err
		}
		transitions++
		if err := s.Tasks().UpdateStatus(ctx, id, storage.StatusUpdate{Status: storage.StatusSuccess, Output: p.TaskOutput}); err != nil {
			return transitions, err
		}
		transitions++
	}
	if _, err := s.Workflows().Get(ctx, workflowExecID); err != nil {
		return transitions, err
	}
	if ts, err := s.Tasks().ListByWorkflow(ctx, workflowExecID); err != nil {
		return transitions, err
	} else if len(ts) != TasksPerWorkflow {
		return transitions, fmt.Errorf("read workflow %s: %d tasks, want %d", workflowExecID, len(ts), TasksPerWorkflow)
	}
	if err := Complete(ctx, s, workflowExecID, p.WorkflowOutput); err != nil {
		return transitions, err
	}
	transitions++
	return transitions, nil
}

// errUnfinished is returned by Complete when a task has not succeeded.
var errUnfinished = errors.New("not every task succeeded")

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
				return fmt.Errorf("complete workflow %s: task %s is %s: %w", workflowExecID, t.TaskExecID, t.Status, errUnfinished)
			}
		}
		return tx.Workflows().UpdateStatus(ctx, workflowExecID, storage.StatusUpdate{Status: storage.StatusSuccess, Output: output})
	})
}

// LoadOptions configures RunLoad.
type LoadOptions struct {
	// Workers is the number of goroutines, each looping over life cycles. Default 1.
	Workers int
	// Duration stops starting new life cycles after this long. Zero means no time limit.
	Duration time.Duration
	// Workflows stops after this many life cycles were started in all. Zero means no limit.
	// One of Duration and Workflows must be set.
	Workflows int64
	// Payloads default to DefaultPayloads.
	Payloads *Payloads
	// IDPrefix prefixes the workflow execution IDs; default a random one.
	IDPrefix string
}

// LoadResult is what RunLoad did.
type LoadResult struct {
	// Workflows is the number of life cycles that completed without error.
	Workflows int64
	// Transitions is the number of committed write transactions.
	Transitions int64
	// Errors counts the failed life cycles; FirstErrors keeps up to 10 of their errors.
	Errors      int64
	FirstErrors []error
	// Completed are the workflow execution IDs of the completed life cycles.
	Completed []string
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
}

// RunLoad runs Lifecycle on o.Workers goroutines until o.Duration has passed or o.Workflows life
// cycles were started. A failed life cycle is counted and abandoned, and the worker starts the
// next one at once, with no retry: the behaviour of an engine without retry logic. ctx ends the
// run early.
func RunLoad(ctx context.Context, s storage.Store, o LoadOptions) LoadResult {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	p := DefaultPayloads()
	if o.Payloads != nil {
		p = *o.Payloads
	}
	if o.IDPrefix == "" {
		o.IDPrefix = "load-" + randomHex(4)
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var (
		started, done, transitions, failed atomic.Int64
		mu                                 sync.Mutex
		firstErrs                          []error
		completed                          []string
		wg                                 sync.WaitGroup
	)
	// Life cycles in flight when the time is up finish on a context of their own: cutting
	// them off would count the deadline as an error.
	work := context.WithoutCancel(ctx)
	begin := time.Now()
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := started.Add(1)
				if o.Workflows > 0 && n > o.Workflows {
					return
				}
				id := o.IDPrefix + "-" + strconv.FormatInt(n, 10)
				k, err := Lifecycle(work, s, p, id)
				transitions.Add(int64(k))
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if len(firstErrs) < 10 {
						firstErrs = append(firstErrs, err)
					}
					mu.Unlock()
					continue
				}
				done.Add(1)
				mu.Lock()
				completed = append(completed, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return LoadResult{
		Workflows:   done.Load(),
		Transitions: transitions.Load(),
		Errors:      failed.Load(),
		FirstErrors: firstErrs,
		Completed:   completed,
		Elapsed:     time.Since(begin),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("storagetest: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

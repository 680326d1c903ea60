package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/workload"
)

// TasksPerWorkflow is the number of tasks of one life cycle.
const TasksPerWorkflow = workload.TasksPerWorkflow

// TransitionsPerWorkflow is the number of write transactions of one life cycle.
const TransitionsPerWorkflow = workload.TransitionsPerWorkflow

// Payloads are the JSON documents a life cycle writes (workload.Payloads).
type Payloads = workload.Payloads

// DefaultPayloads returns the payloads `compozy db bench` uses.
func DefaultPayloads() Payloads { return workload.DefaultPayloads() }

// errUnfinished is returned by Complete when a task has not succeeded.
var errUnfinished = workload.ErrUnfinished

// Lifecycle runs one workflow life cycle: the workload of `compozy db bench` (workload.Lifecycle),
// without timing.
func Lifecycle(ctx context.Context, s storage.Store, p Payloads, workflowExecID string) (transitions int, err error) {
	return workload.Lifecycle(ctx, s, p, workflowExecID, nil)
}

// Complete is the read-modify-write step of a life cycle (workload.Complete).
func Complete(ctx context.Context, s storage.Store, workflowExecID string, output json.RawMessage) error {
	return workload.Complete(ctx, s, workflowExecID, output)
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

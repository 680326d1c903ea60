// Package bench measures what a Compozy store sustains: the workflow life-cycle workload run by
// N concurrent workflow runners through core/storage, with throughput, latency percentiles and
// errors by kind, on a scratch database that is created next to the configured one and dropped
// afterwards (see Scratch), so the user's data is never touched.
package bench

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/workload"
)

// TasksPerWorkflow is the number of tasks of one life cycle.
const TasksPerWorkflow = workload.TasksPerWorkflow

// TransitionsPerWorkflow is the number of write transactions of one life cycle.
const TransitionsPerWorkflow = workload.TransitionsPerWorkflow

// Options configures Run.
type Options struct {
	// Workers is the number of concurrent workflow runners. Default 1.
	Workers int
	// Warmup is run before the measurement and not counted. Default none.
	Warmup time.Duration
	// Duration is the measurement window. Required.
	Duration time.Duration
	// IDPrefix prefixes the workflow execution IDs; it must differ between runs on one
	// database. Required.
	IDPrefix string
	// Progress, when set, is called about every Tick from one goroutine while the run lasts.
	Progress func(Progress)
	// Tick is the progress interval; default 200ms.
	Tick time.Duration
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	// Elapsed is the time since the start, warm-up included; Total is warm-up plus window.
	Elapsed, Total time.Duration
	// Warmup is set while the warm-up lasts.
	Warmup bool
	// Workflows and Transitions completed in the window so far; Errors since the start.
	Workflows, Transitions, Errors int64
}

// Result is what Run measured. Rates count only work completed inside the window; errors count
// the warm-up too.
type Result struct {
	Workers           int     `json:"workers"`
	WindowSeconds     float64 `json:"window_seconds"`
	Workflows         int64   `json:"workflows"`
	Transitions       int64   `json:"transitions"`
	Reads             int64   `json:"reads"`
	WorkflowsPerSec   float64 `json:"workflows_per_sec"`
	TransitionsPerSec float64 `json:"transitions_per_sec"`
	WriteP50MS        float64 `json:"write_p50_ms"`
	WriteP99MS        float64 `json:"write_p99_ms"`
	ReadP50MS         float64 `json:"read_p50_ms"`
	ReadP99MS         float64 `json:"read_p99_ms"`
	// FailedWorkflows were abandoned after an error (no retry, as an engine without retry
	// logic would), over the whole run; CompletedAll completed over the whole run (warm-up
	// and the life cycles finishing after the window included), so that
	// FailedWorkflows / (FailedWorkflows + CompletedAll) is the share of workflows lost.
	FailedWorkflows int64 `json:"failed_workflows"`
	CompletedAll    int64 `json:"completed_workflows_all"`
	// Errors counts failed operations by kind (see ErrorKind).
	Errors map[string]int64 `json:"errors"`
	// FirstError is the message of the first error, for the report.
	FirstError string `json:"first_error,omitempty"`
}

// Error kinds of Result.Errors.
const (
	KindLocked        = "locked"        // SQLite: database is locked (SQLITE_BUSY, SQLITE_LOCKED)
	KindSerialization = "serialization" // PostgreSQL: serialization failure or deadlock
	KindConflict      = "conflict"
	KindInvalid       = "invalid"
	KindNotFound      = "not_found"
	KindTimeout       = "timeout"
	KindOther         = "other"
)

// ErrorKind classifies an error of the workload.
func ErrorKind(err error) string {
	var pe *pgconn.PgError
	switch {
	case factory.IsBusy(err):
		return KindLocked
	case errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01"):
		return KindSerialization
	case errors.Is(err, storage.ErrConflict):
		return KindConflict
	case errors.Is(err, storage.ErrInvalid):
		return KindInvalid
	case errors.Is(err, storage.ErrNotFound):
		return KindNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	default:
		return KindOther
	}
}

// clock decides what a completed operation counts for.
type clock struct {
	start, from, to time.Time
}

func (c clock) inWindow(t time.Time) bool { return !t.Before(c.from) && !t.After(c.to) }

// worker holds one runner's counts, merged at the end.
type worker struct {
	writes, reads []time.Duration
	workflows     int64
	transitions   int64
}

// Run runs the workload on s: o.Workers runners loop over life cycles for o.Warmup plus
// o.Duration. ctx ends the run early (the result then covers what was done).
func Run(ctx context.Context, s storage.Store, o Options) (*Result, error) {
	if o.Duration <= 0 {
		return nil, errors.New("bench: a measurement duration is required")
	}
	if o.IDPrefix == "" {
		return nil, errors.New("bench: an ID prefix is required")
	}
	o.Workers = max(o.Workers, 1)
	if o.Tick <= 0 {
		o.Tick = 200 * time.Millisecond
	}
	p := workload.DefaultPayloads()
	now := time.Now()
	c := clock{start: now, from: now.Add(o.Warmup), to: now.Add(o.Warmup + o.Duration)}
	runCtx, cancel := context.WithDeadline(ctx, c.to)
	defer cancel()
	// Life cycles in flight at the end finish on a context of their own: cutting them off
	// would count the deadline as an error.
	work := context.WithoutCancel(ctx)

	var (
		started, wfDone, trDone, failed, completed atomic.Int64
		mu                                         sync.Mutex
		errs                                       = map[string]int64{}
		firstErr                                   string
		wg                                         sync.WaitGroup
	)
	workers := make([]*worker, o.Workers)
	for i := range workers {
		w := &worker{}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				id := o.IDPrefix + "-" + strconv.FormatInt(started.Add(1), 10)
				_, err := workload.Lifecycle(work, s, p, id, func(write bool, d time.Duration) {
					if !c.inWindow(time.Now()) {
						return
					}
					if !write {
						w.reads = append(w.reads, d)
						return
					}
					w.writes = append(w.writes, d)
					w.transitions++
					trDone.Add(1)
				})
				if err != nil {
					failed.Add(1)
					mu.Lock()
					errs[ErrorKind(err)]++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				completed.Add(1)
				if c.inWindow(time.Now()) {
					w.workflows++
					wfDone.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(o.Tick)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case t := <-tick.C:
			if o.Progress != nil {
				o.Progress(Progress{Elapsed: t.Sub(c.start), Total: c.to.Sub(c.start), Warmup: t.Before(c.from),
					Workflows: wfDone.Load(), Transitions: trDone.Load(), Errors: failed.Load()})
			}
		}
	}

	window := c.to.Sub(c.from)
	if end := time.Now(); end.Before(c.to) { // ended early by ctx
		window = max(end.Sub(c.from), 0)
	}
	res := &Result{Workers: o.Workers, WindowSeconds: window.Seconds(), Errors: errs, FirstError: firstErr,
		FailedWorkflows: failed.Load(), CompletedAll: completed.Load()}
	var writes, reads []time.Duration
	for _, w := range workers {
		res.Workflows += w.workflows
		res.Transitions += w.transitions
		writes = append(writes, w.writes...)
		reads = append(reads, w.reads...)
	}
	res.Reads = int64(len(reads))
	if secs := window.Seconds(); secs > 0 {
		res.WorkflowsPerSec = float64(res.Workflows) / secs
		res.TransitionsPerSec = float64(res.Transitions) / secs
	}
	res.WriteP50MS, res.WriteP99MS = percentileMS(writes, 0.50), percentileMS(writes, 0.99)
	res.ReadP50MS, res.ReadP99MS = percentileMS(reads, 0.50), percentileMS(reads, 0.99)
	return res, nil
}

// percentileMS is the q-quantile of ds in milliseconds (nearest rank), 0 for none.
func percentileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := min(int(q*float64(len(ds))), len(ds)-1)
	return float64(ds[i].Microseconds()) / 1000
}

package doctor

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each check when RunOptions.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// RunOptions tune Run.
type RunOptions struct {
	// Timeout bounds each check, counted from when it starts (after its dependencies finish).
	// Zero means DefaultTimeout, and no limit for an Unbounded check.
	Timeout time.Duration
	// OnResult, when set, is called once per check as soon as its result is known, from the
	// check's goroutine. i is the check's index in the slice given to Run.
	OnResult func(i int, r Result)
	// OnProgress, when set, receives what a running check reports through Progress, from the
	// check's goroutine.
	OnProgress func(i int, text string)
}

type progressKey struct{}

// Progress reports how far a long check has come, in a few words ("412 MB of 1.5 GB read"),
// to whoever runs it (the pane, a progress line on a terminal). Without a listener it does
// nothing.
func Progress(ctx context.Context, text string) {
	if f, ok := ctx.Value(progressKey{}).(func(string)); ok {
		f(text)
	}
}

// key identifies a check inside one run: its ID, plus the vector DB entry when it has one.
func (c Check) key() string {
	if c.Entry == "" {
		return c.ID
	}
	return c.ID + "@" + c.Entry
}

// Run runs every check concurrently. A check waits for its dependencies and is skipped, naming
// the dependency, when one did not pass or warn; each runs under its own timeout; a panic
// becomes an error result. The results come back in the order of checks.
func Run(ctx context.Context, checks []Check, opts RunOptions) []Result {
	results := make([]Result, len(checks))
	done := make([]chan struct{}, len(checks))
	index := make(map[string]int, len(checks))
	for i, c := range checks {
		done[i] = make(chan struct{})
		index[c.key()] = i // "id" for most checks, "id@entry" for a vector DB entry's
	}
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			ctx := ctx
			if opts.OnProgress != nil {
				ctx = context.WithValue(ctx, progressKey{}, func(text string) { opts.OnProgress(i, text) })
			}
			r := runWithDeps(ctx, c, checks, index, done, results, opts.Timeout)
			results[i] = r
			if opts.OnResult != nil {
				opts.OnResult(i, r)
			}
		}()
	}
	wg.Wait()
	return results
}

func runWithDeps(ctx context.Context, c Check, checks []Check, index map[string]int, done []chan struct{}, results []Result, timeout time.Duration) Result {
	for _, dep := range c.DependsOn {
		// A vector check depends on its own entry's checks first, then on entry-less ones.
		j, ok := index[Check{Info: Info{ID: dep}, Entry: c.Entry}.key()]
		if !ok {
			j, ok = index[dep]
		}
		if !ok {
			continue // not part of this run (left out by --skip is handled by the caller)
		}
		select {
		case <-done[j]:
		case <-ctx.Done():
			return finish(c, Result{Status: StatusSkip, Summary: "not run: " + context.Cause(ctx).Error()}, 0)
		}
		if s := results[j].Status; s != StatusPass && s != StatusWarn {
			return finish(c, Skip(fmt.Sprintf("skipped: %s did not pass (%s)", checks[j].ID, s)), 0)
		}
	}
	return RunOne(ctx, c, timeout)
}

// RunOne runs one check under timeout, turning a panic or a missed deadline into an error
// result, and fills in the identity fields and the duration. A timeout of zero is
// DefaultTimeout, or no limit for an Unbounded check.
func RunOne(ctx context.Context, c Check, timeout time.Duration) Result {
	var cancel context.CancelFunc
	switch {
	case timeout > 0:
		ctx, cancel = context.WithTimeout(ctx, timeout)
	case c.Unbounded:
		ctx, cancel = context.WithCancel(ctx)
	default:
		timeout = DefaultTimeout
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	start := time.Now()
	ch := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- Result{Status: StatusError, Summary: fmt.Sprintf("the check crashed: %v", p),
					Detail: firstLines(string(debug.Stack()), 12)}
			}
		}()
		ch <- c.Run(ctx)
	}()
	var r Result
	select {
	case r = <-ch:
		if ctx.Err() != nil && r.Status != StatusPass && r.Status != StatusSkip {
			r = timedOut(r, timeout)
		}
	case <-ctx.Done():
		r = timedOut(Result{}, timeout)
	}
	return finish(c, r, time.Since(start))
}

func timedOut(r Result, timeout time.Duration) Result {
	detail := r.Summary
	if r.Detail != "" {
		detail += "\n" + r.Detail
	}
	summary := fmt.Sprintf("timed out after %s (--timeout)", timeout)
	if timeout <= 0 { // an Unbounded check without a limit: only the run itself was stopped
		summary = "stopped before it finished"
	}
	return Result{Status: StatusError, Summary: summary, Detail: strings.TrimSpace(detail), Fix: r.Fix}
}

func finish(c Check, r Result, d time.Duration) Result {
	r.ID, r.Group, r.Title, r.Entry = c.ID, c.Group, c.Title, c.Entry
	if r.Title == "" {
		r.Title = c.ID
	}
	r.Fixable = r.Fixable && c.Repair != nil && (r.Status == StatusWarn || r.Status == StatusFail)
	if r.Fixable || (r.Status != StatusWarn && r.Status != StatusFail) {
		r.NotFixable = ""
	}
	if r.Fix.Commands == nil {
		r.Fix.Commands = []string{}
	}
	r.Duration = d
	r.DurationMS = d.Milliseconds()
	return r
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

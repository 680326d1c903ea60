package storagetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

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

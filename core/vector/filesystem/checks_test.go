package filesystem_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/vector"
)

// TestChecksOnNewStore: a store that does not exist yet is not a failure. The folder and data
// checks warn that they are created on first use, and the dimension and metric checks skip,
// saying so; once Ensure has run, every check passes.
func TestChecksOnNewStore(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "data", "vectors"), "", 4, vector.Cosine)
	statuses := func() map[string]vector.Result {
		out := map[string]vector.Result{}
		for _, c := range s.Checks() {
			out[c.ID] = c.Run(ctx)
		}
		return out
	}
	for id, r := range statuses() {
		switch id {
		case vector.CheckDimension, vector.CheckMetric:
			if r.Status != vector.StatusSkip || !strings.Contains(r.Summary, "created on first write") {
				t.Errorf("new store, %s: %s %q", id, r.Status, r.Summary)
			}
		default:
			if r.Status == vector.StatusFail {
				t.Errorf("new store, %s fails: %q", id, r.Summary)
			}
		}
	}
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for id, r := range statuses() {
		if r.Status != vector.StatusPass {
			t.Errorf("after Ensure, %s: %s %q", id, r.Status, r.Summary)
		}
	}
}

package checks

import (
	"context"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestSQLiteLockCancelled: a run whose time is up skips sqlite.lock without reading the lock
// holders.
func TestSQLiteLockCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range testSet(t, sqliteDB(), Inputs{}, &fakeConn{}, nil).sqliteChecks() {
		if c.ID != doctor.IDSQLiteLock {
			continue
		}
		if r := c.Run(ctx); r.Status != doctor.StatusSkip || r.Summary != "skipped: context canceled" {
			t.Errorf("%s %q", r.Status, r.Summary)
		}
		return
	}
	t.Fatal("no sqlite.lock check")
}

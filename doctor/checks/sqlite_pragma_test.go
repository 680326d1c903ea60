package checks

import (
	"errors"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestSQLiteJournalRepair: the repair switches the file to WAL through the door, and says which
// step failed when the door cannot open it.
func TestSQLiteJournalRepair(t *testing.T) {
	for _, c := range testSet(t, sqliteDB(), Inputs{Door: noDoor{}}, &fakeConn{}, nil).sqliteChecks() {
		if c.ID != doctor.IDSQLiteJournal {
			continue
		}
		if plan := c.Repair.Plan(doctor.Result{}); plan != "PRAGMA journal_mode=WAL on "+testPath {
			t.Errorf("plan %q", plan)
		}
		err := c.Repair.Apply(t.Context(), doctor.Result{})
		if !errors.Is(err, errNoDoor) || !strings.HasPrefix(err.Error(), "switch "+testPath+" to WAL: ") {
			t.Errorf("apply: %v", err)
		}
		return
	}
	t.Fatal("no sqlite.journal_mode check")
}

func TestSyncLevel(t *testing.T) {
	for n, want := range []string{"off", "normal", "full", "extra"} {
		if got, ok := syncLevel(n); !ok || got != want {
			t.Errorf("%d: %q %v, want %q", n, got, ok, want)
		}
	}
	for _, n := range []int{-1, 4} {
		if got, ok := syncLevel(n); ok {
			t.Errorf("%d: %q, want no level", n, got)
		}
	}
}

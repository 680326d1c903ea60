package checks

import (
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestSQLiteFileRepairPlan: sqlite.file's repair creates a missing database and recovers one
// that exists, told by the file, not by the result's words (a reworded summary plans the same).
func TestSQLiteFileRepairPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		missing bool
		summary string
		want    string
	}{
		{"missing", true, "the database file is absent", "compozy migrate up on "},
		{"hot journal", false, "another process crashed in the middle of a write", "for writing once, which recovers it"},
		{"exists, whatever the words say", false, testPath + " does not exist", "for writing once, which recovers it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			if tc.missing {
				delete(ff.files, testPath)
			}
			cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
			for _, c := range cs {
				if c.ID != doctor.IDSQLiteFile {
					continue
				}
				if got := c.Repair.Plan(doctor.Result{Summary: tc.summary}); !strings.Contains(got, tc.want) {
					t.Errorf("plan %q, want one containing %q", got, tc.want)
				}
				return
			}
			t.Fatal("no sqlite.file check")
		})
	}
}

package cli

import (
	"reflect"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestDoctorDeep: on a database above the default run's limit (24 MB) the default run skips
// quick_check, saying the size, the time it would take and what to run; --deep runs it, with a
// progress line on a terminal (the pty), and a pane row that settles on the result.
func TestDoctorDeep(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, path := sqliteDir(t, "")
	newSQLiteDB(t, path, "WAL", 0)
	db := openTestDB(t, "sqlite", path)
	fillTasks(t, db, "wf-deep", 1500, 20) // about 30 MB
	db.Close()
	before := snapshot(t, dir)

	r := binRun(t, bin, dir, nil, "doctor", "--json", "--only", "sqlite.integrity")
	expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteIntegrity, doctor.StatusSkip,
		`^skipped: reading all \d+\.\d MB would take about \d[.\d]*m?s \(the default run checks databases up to 24.0 MB\); run compozy doctor --deep\n`)
	if r.code != 0 {
		t.Errorf("exit %d", r.code)
	}

	// --deep without a terminal: the check, and no progress line in the pipe.
	r = binRun(t, bin, dir, nil, "doctor", "--deep", "--only", "sqlite.integrity")
	if !strings.Contains(r.out, "PASS  sqlite.integrity  ok (quick_check read every page of") || r.code != 0 {
		t.Errorf("exit %d:\n%s", r.code, r.out)
	}
	if strings.Contains(r.errOut, "quick_check of") {
		t.Errorf("a progress line in a pipe: %q", r.errOut)
	}

	// On a terminal, the plain run (--json here) draws the progress line on stderr first.
	s := startPTY(t, dir, bin, ptyOpts{}, "doctor", "--deep", "--json", "--only", "sqlite.integrity")
	if code := s.exit(); code != 0 {
		t.Errorf("exit %d:\n%s", code, s.written())
	}
	raw := s.written()
	if !strings.Contains(raw, "\r\x1b[Ksqlite.integrity: quick_check of ") {
		t.Errorf("no progress line on the terminal:\n%q", raw)
	}
	if !strings.Contains(raw, "read every page of") {
		t.Errorf("quick_check did not run:\n%q", raw)
	}

	// The pane: the row settles on the result of the full check.
	s = startPTY(t, dir, bin, ptyOpts{}, "doctor", "--deep", "--only", "sqlite.integrity")
	s.waitFor("the check to settle", func(sc string) bool {
		return strings.Contains(sc, "✓ sqlite.integrity  ok (quick_check read every page of") && strings.Contains(sc, "No problems found.")
	})
	s.press("q")
	if code := s.exit(); code != 0 {
		t.Errorf("exit %d", code)
	}

	// --deep only reads, as the default run does: no file created or changed.
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("doctor --deep changed files:\nbefore %v\nafter  %v", before, after)
	}
}

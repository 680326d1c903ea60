package cli

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"compozy.dev/setup/doctor/watch"
	"compozy.dev/setup/internal/testenv"
)

// expectWatchLines checks a piped --watch: a header of cols, then n lines with one field per
// column each.
func expectWatchLines(t *testing.T, r cliRun, cols []string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	if r.code != 0 || len(lines) != n+1 || strings.Join(strings.Fields(lines[0]), " ") != strings.Join(cols, " ") {
		t.Fatalf("exit %d, %d lines\nstdout:\n%s\nstderr:\n%s", r.code, len(lines), r.out, r.errOut)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) != len(cols) {
			t.Errorf("line %q has %d fields, want %d", l, len(f), len(cols))
		}
	}
}

// TestDoctorWatchSQLitePiped: while db bench writes beside it, a piped --watch prints a header
// and one parseable line per interval, ends after --count with exit 0, and changes no file.
func TestDoctorWatchSQLitePiped(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		binRun(t, bin, dir, nil, "db", "bench", "--workflows", "4", "--duration", "2s", "--warmup", "0s", "--variants", "configured")
	}()
	before := folderState(t, filepath.Dir(db))
	r := binRun(t, bin, dir, nil, "doctor", "--watch", "--count", "3", "--interval", "300ms")
	after := folderState(t, filepath.Dir(db))
	wg.Wait()
	expectWatchLines(t, r, watch.SQLiteColumns, 3)
	for name, v := range before {
		if after[name] != v && !strings.Contains(name, "bench") {
			t.Errorf("%s changed during the watch", name)
		}
	}
	if u := binRun(t, bin, dir, nil, "doctor", "--watch", "--json"); u.code != 2 {
		t.Errorf("--watch --json: exit %d, want 2", u.code)
	}
}

// TestDoctorWatchPane: on a terminal the pane shows the database's state and q quits (exit 0).
func TestDoctorWatchPane(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	s := startPTY(t, dir, bin, ptyOpts{}, "doctor", "--watch", "--interval", "200ms")
	s.waitFor("the pane", func(sc string) bool {
		return strings.Contains(sc, "compozy doctor --watch") && strings.Contains(sc, "Write lock")
	})
	s.resize(90, 30)
	s.press("q")
	if code := s.exit(); code != 0 {
		t.Errorf("exit %d after q, want 0\n%s", code, s.screen())
	}
}

// TestDoctorWatchPostgresPiped: the PostgreSQL columns, one parseable line per sample.
func TestDoctorWatchPostgresPiped(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dsn := testenv.PostgresDB(t)
	dir := t.TempDir()
	if r := binRun(t, bin, dir, nil, "migrate", "up", "--db-conn-string", dsn); r.code != 0 {
		t.Fatalf("migrate up: %d\n%s%s", r.code, r.out, r.errOut)
	}
	r := binRun(t, bin, dir, nil, "doctor", "--watch", "--count", "3", "--interval", "200ms", "--db-conn-string", dsn)
	expectWatchLines(t, r, watch.PostgresColumns, 3)
	if strings.Contains(r.out, " -1 ") {
		t.Errorf("a Compozy table was not found:\n%s", r.out)
	}

}

package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
	if u := binRun(t, bin, dir, nil, "doctor", "--count", "3"); u.code != 2 || !strings.Contains(u.errOut, "--count goes with --watch") {
		t.Errorf("--count without --watch: exit %d, want 2\n%s", u.code, u.errOut)
	}
}

// TestDoctorWatchPane: on a terminal, while db bench runs beside the database and rows go into
// it, the pane refreshes every interval (the WAL grows between two samples), and q quits (exit 0).
func TestDoctorWatchPane(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	writer := openTestDB(t, "sqlite", db)
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = execBin(ctx, bin, dir, binIn{}, "db", "bench", "--workflows", "4", "--duration", "5s", "--warmup", "0s", "--variants", "configured")
	}()
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = writer.ExecContext(ctx, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, input, created_at, updated_at)
				VALUES (?, 'w', 'RUNNING', json_object('pad', hex(randomblob(4000))), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, fmt.Sprintf("watch-%d", i))
			time.Sleep(10 * time.Millisecond)
		}
	}()
	s := startPTY(t, dir, bin, ptyOpts{}, "doctor", "--watch", "--interval", "200ms")
	grew := regexp.MustCompile(`WAL +\S+ \S+ \(\+[1-9][0-9]* KB since the last sample\)`)
	s.waitFor("the pane with the WAL grown since the last sample", func(sc string) bool {
		return strings.Contains(sc, "compozy doctor --watch") && strings.Contains(sc, "Write lock") && grew.MatchString(sc)
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

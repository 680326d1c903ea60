package cli

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupKilledLeavesNoHalfFile kills `compozy db backup` with SIGKILL at random moments
// while it writes a copy of a 24 MB database: there is never a file under the backup's name
// unless it is the whole backup (quick_check ok, every row), nothing is left beside the source,
// and the next backup removes what the killed ones left.
func TestBackupKilledLeavesNoHalfFile(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "data", "compozy.db")
	args := []string{"--db-driver", "sqlite", "--db-path", src}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "up")
	execSQLite(t, src, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status, input, created_at, updated_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
		SELECT 'wf-' || i, 'w', 'RUNNING', json_object('pad', hex(randomblob(1000))), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n`)
	before := treeState(t, filepath.Dir(src))
	out := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(out, "b.db")
	complete := 0
	for round := range 6 {
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"db", "backup", "--to", final}, args...)...)
		cmd.Dir, cmd.Env = dir, cleanEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if _, err := os.Stat(final); err == nil {
			// Only a whole, checked backup may have the name.
			if n := sqliteCount(t, final, "workflow_states"); n != 6000 {
				t.Fatalf("round %d: %s holds %d workflows, want 6000", round, final, n)
			}
			complete++
			if err := os.Remove(final); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range filesLike(t, out, `.`) {
			if e == "b.db-journal" || e == "b.db-wal" {
				t.Fatalf("round %d: %s beside the backup's name", round, e)
			}
		}
		sameFolder(t, "a killed backup", before, treeState(t, filepath.Dir(src)))
	}
	t.Logf("%d of 6 killed backups had finished", complete)
	r := binRun(t, bin, dir, nil, append([]string{"db", "backup", "--to", final}, args...)...)
	wantCode(t, r, 0, "backup after the kills")
	if got := filesLike(t, out, `.`); len(got) != 1 || got[0] != "b.db" {
		t.Errorf("after a backup that finished the folder holds %v, want b.db only", got)
	}
	if fi, _ := os.Stat(final); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o", fi.Mode().Perm())
	}
	if !strings.Contains(r.out, "quick_check ok") {
		t.Errorf("output:\n%s", r.out)
	}
	sameFolder(t, "a backup", before, treeState(t, filepath.Dir(src)))
}

// TestCopyKilledLeavesNoHalfFile kills `compozy db copy` into a new SQLite file at random
// moments: the target's name appears only with every row in it, the source is unchanged, and a
// later copy completes.
func TestCopyKilledLeavesNoHalfFile(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "data", "compozy.db")
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", src), 0, "up")
	seedSQLite(t, src, 20000)
	before := treeState(t, filepath.Dir(src))
	out := t.TempDir()
	final := filepath.Join(out, "copy.db")
	for round := range 5 {
		cmd := exec.CommandContext(t.Context(), bin, "db", "copy", "--from", src, "--to", final, "--yes")
		cmd.Dir, cmd.Env = dir, cleanEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(600)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if _, err := os.Stat(final); err == nil {
			if n := sqliteCount(t, final, "workflow_states"); n != 20000 {
				t.Fatalf("round %d: %s holds %d workflows, want 20000", round, final, n)
			}
			if err := os.Remove(final); err != nil {
				t.Fatal(err)
			}
		}
		sameFolder(t, fmt.Sprintf("round %d: a killed copy (source folder)", round), before, treeState(t, filepath.Dir(src)))
	}
	wantCode(t, binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", final, "--yes"), 0, "copy after the kills")
	if n := sqliteCount(t, final, "workflow_states"); n != 20000 {
		t.Fatalf("%d workflows copied, want 20000", n)
	}
	if got := filesLike(t, out, `.`); len(got) != 1 || got[0] != "copy.db" {
		t.Errorf("after a copy that finished the folder holds %v, want copy.db only", got)
	}
}

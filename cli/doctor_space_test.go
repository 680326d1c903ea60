package cli

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// fillTasks adds n tasks of about kb KB of output each (under one workflow, wf) to the SQLite
// database at path, in transactions of 500 tasks.
func fillTasks(t *testing.T, db *sql.DB, wf string, n, kb int) {
	t.Helper()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO workflow_states (workflow_exec_id, workflow_id, status) VALUES (?, 'wf', 'RUNNING')`, wf); err != nil {
		t.Fatal(err)
	}
	for done := 0; done < n; done += 500 {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`WITH RECURSIVE i(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM i WHERE x + 1 < %d)
			INSERT INTO task_states (component, status, task_exec_id, task_id, workflow_exec_id, workflow_id, output)
			SELECT 'task', 'SUCCESS', ? || '-' || x, 'task', ?, 'wf', '{"o":"' || hex(randomblob(%d)) || '"}' FROM i`, done, min(done+500, n), kb*512), wf, wf)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDoctorFreePages: a database whose rows were deleted keeps their pages; above 64 MB and a
// quarter of the file the doctor warns and points at compozy db vacuum (through the binary).
func TestDoctorFreePages(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, path := sqliteDir(t, "")
	newSQLiteDB(t, path, "WAL", 0)
	db := openTestDB(t, "sqlite", path)
	fillTasks(t, db, "wf-free", 4000, 20) // about 80 MB
	for _, q := range []string{"DELETE FROM task_states", "DELETE FROM workflow_states"} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	r := binRun(t, bin, dir, nil, "doctor", "--json", "--only", "sqlite.size")
	c := expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteSize, doctor.StatusWarn, `in free pages: \d+% of the file is free pages, which compozy db vacuum gives back`)
	if strings.Join(c.Fix.Commands, " ") != "compozy db vacuum" {
		t.Errorf("fix %+v", c.Fix)
	}
	if r.code != 0 {
		t.Errorf("exit %d (a warning)", r.code)
	}
}

// TestDoctorReaderHelper is not a test: TestDoctorWALPinned runs the test binary with it as a
// second process that keeps a read transaction open on a SQLite database until its stdin
// closes, as a sqlite3 shell left in BEGIN does.
func TestDoctorReaderHelper(t *testing.T) {
	t.Parallel()
	path := os.Getenv("COMPOZY_DOCTOR_READER_HELPER")
	if path == "" {
		t.Skip("helper process only")
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM workflow_states").Scan(&n); err != nil {
		t.Fatal(err)
	}
	fmt.Println("reading")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_, _ = conn.ExecContext(ctx, "ROLLBACK")
}

// TestDoctorWALPinned: while another process keeps a read transaction open, a writer's WAL
// grows past 64 MB, since no checkpoint may copy it past the reader's snapshot; the doctor
// names the reader's PID (from its read lock in /proc/locks).
func TestDoctorWALPinned(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/locks"); err != nil {
		t.Skip("needs /proc/locks")
	}
	bin := buildCompozy(t)
	dir, path := sqliteDir(t, "")
	newSQLiteDB(t, path, "WAL", 0)
	db := openTestDB(t, "sqlite", path)

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDoctorReaderHelper$")
	cmd.Env = append(os.Environ(), "COMPOZY_DOCTOR_READER_HELPER="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || strings.TrimSpace(line) != "reading" {
		t.Fatalf("helper: %q %v", line, err)
	}

	fillTasks(t, db, "wf-pinned", 4000, 20) // about 80 MB through the WAL
	db.Close()
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() < 64<<20 {
		t.Fatalf("the WAL did not grow: %v %v", fi, err)
	}

	r := binRun(t, bin, dir, nil, "doctor", "--json", "--only", "sqlite.size")
	expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteSize, doctor.StatusWarn,
		fmt.Sprintf(`of the WAL cannot be checkpointed while PID %d \(.*TestDoctorReaderHelper.*\) keeps a read transaction open`, cmd.Process.Pid))

	// Once the reader ends its transaction, nobody is blamed.
	stdin.Close()
	_ = cmd.Wait()
	r = binRun(t, bin, dir, nil, "doctor", "--json", "--only", "sqlite.size")
	if c, _ := parseDoctor(t, r).get(doctor.IDSQLiteSize); strings.Contains(c.Summary, "read transaction") {
		t.Errorf("blamed a reader that has gone: %s", c.Summary)
	}
}

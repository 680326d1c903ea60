package cli

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"compozy.dev/setup/internal/testenv"
)

// TestDBVacuumSQLite: the file shrinks after rows are deleted, every row left is there, the JSON
// says so; a database another process has open is refused with its PID and nothing changes.
func TestDBVacuumSQLite(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	args := []string{"--db-driver", "sqlite", "--db-path", db}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "up")
	seedSQLite(t, db, 3000)
	execSQLite(t, db, `UPDATE workflow_states SET input = json_object('pad', hex(randomblob(1000)))`)
	execSQLite(t, db, `DELETE FROM workflow_states WHERE workflow_exec_id > 'wf-2'`)
	left := sqliteCount(t, db, "workflow_states")

	t.Run("busy", func(t *testing.T) { // the holder ends with the subtest
		holder := startLockHolder(t, db, "")
		before := treeState(t, dir)
		r := binRun(t, bin, dir, nil, append([]string{"db", "vacuum"}, args...)...)
		if r.code != ExitFailed || !strings.Contains(r.errOut, "PID "+strconv.Itoa(holder)) || !strings.Contains(r.errOut, "nothing was changed") {
			t.Fatalf("vacuum while another process has the file open: exit %d\n%s", r.code, r.errOut)
		}
		sameFolder(t, "a refused vacuum", before, treeState(t, dir))
	})

	r := binRun(t, bin, dir, nil, append([]string{"db", "vacuum", "--json"}, args...)...)
	wantCode(t, r, 0, "db vacuum --json")
	var doc struct {
		SchemaVersion int   `json:"schema_version"`
		Before        int64 `json:"bytes_before"`
		After         int64 `json:"bytes_after"`
		Free          int64 `json:"free_bytes_before"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if doc.SchemaVersion != 1 || doc.After >= doc.Before || doc.Free == 0 {
		t.Errorf("vacuum: %+v", doc)
	}
	if n := sqliteCount(t, db, "workflow_states"); n != left {
		t.Errorf("%d workflows after the vacuum, %d before", n, left)
	}
}

// TestDBCopyNamesRoundedTimestamps: SQLite timestamps with nanoseconds are counted before a copy
// into PostgreSQL (which keeps microseconds) and in its result, instead of being rounded silently.
func TestDBCopyNamesRoundedTimestamps(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "c.db")
	wantCode(t, binRun(t, bin, dir, nil, "migrate", "up", "--db-driver", "sqlite", "--db-path", src), 0, "up")
	seedSQLite(t, src, 3)
	execSQLite(t, src, `UPDATE workflow_states SET created_at = '2026-01-01T00:00:00.123456789Z' WHERE workflow_exec_id = 'wf-1'`)
	r := binRun(t, bin, dir, nil, "db", "copy", "--from", src, "--to", testenv.PostgresDB(t), "--yes")
	wantCode(t, r, 0, "db copy")
	if !strings.Contains(r.out, "Note: 1 timestamp(s) of the source have nanoseconds") || !strings.Contains(r.out, "Rounded 1 timestamp(s)") {
		t.Errorf("output:\n%s", r.out)
	}
}

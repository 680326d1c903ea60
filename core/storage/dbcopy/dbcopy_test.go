package dbcopy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func sqliteDB(path string) config.Database {
	return config.Database{Driver: config.DriverSQLite, Path: path}
}

// seed fills a migrated SQLite database with the awkward cases: unicode, large nested JSON,
// numbers jsonb rewrites, NULLs, binary keys with every byte value, a three-level task
// hierarchy, and timestamps in SQLite's own datetime format and with an offset.
func seed(t *testing.T, path string, workflows int) {
	t.Helper()
	ctx := testCtx(t)
	d, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	storagetest.Migrate(t, "sqlite", d.Writer())

	u := &storage.User{ID: "usr-ü", Email: "Zoë@例え.jp", Role: storage.RoleAdmin}
	must(t, d.Users().Create(ctx, u))
	hash := make([]byte, 256)
	for i := range hash {
		hash[i] = byte(i)
	}
	used := time.Date(2025, 6, 3, 12, 48, 35, 123456000, time.UTC)
	must(t, d.APIKeys().Create(ctx, &storage.APIKey{ID: "key-1", UserID: u.ID, Hash: hash, Fingerprint: []byte{0, 0xff, 0, 1}, Prefix: "cpzy_1", LastUsed: &used}))
	must(t, d.APIKeys().Create(ctx, &storage.APIKey{ID: "key-2", UserID: u.ID, Hash: []byte{0}, Fingerprint: []byte{0xff}, Prefix: "cpzy_2"}))

	var big strings.Builder
	big.WriteString(`{"z": 1.0, "a": [1e2, -0.5, 12345678901234567890], "emoji": "😀 ñ 中文 \u00e9", "nested": {"k": [`)
	for i := range 2000 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `{"i": %d, "s": "välue %d", "n": null, "b": true}`, i, i)
	}
	big.WriteString(`]}}`)
	for w := range workflows {
		wid := fmt.Sprintf("wf-%03d-ß", w)
		wf := &storage.WorkflowState{WorkflowExecID: wid, WorkflowID: "flow", Status: storage.StatusRunning,
			Input: json.RawMessage(big.String()), Usage: json.RawMessage(`[{"tokens": 3}]`)}
		if w%2 == 1 {
			wf.Input = nil // NULL
		}
		must(t, d.Workflows().Create(ctx, wf))
		parent := ""
		for level := range 3 {
			tid := fmt.Sprintf("%s-t%d", wid, level)
			must(t, d.Tasks().Create(ctx, &storage.TaskState{Component: storage.ComponentTask, Status: storage.StatusPending,
				TaskExecID: tid, TaskID: "task", WorkflowExecID: wid, WorkflowID: "flow", ParentStateID: parent,
				ExecutionType: storage.ExecutionBasic, Input: json.RawMessage(`{"q": "¿qué?", "x": 1}`)}))
			parent = tid
		}
	}
	// Timestamps as other writers leave them: SQLite's datetime('now') and an offset.
	if _, err := d.Writer().ExecContext(ctx, `UPDATE workflow_states SET created_at = '2025-06-03 12:48:35', updated_at = '2025-06-03T14:48:35.5+02:00' WHERE workflow_exec_id = 'wf-000-ß'`); err != nil {
		t.Fatal(err)
	}
	// The trigger writes datetime('now') into updated_at.
	must(t, d.Tasks().UpdateStatus(ctx, "wf-000-ß-t0", storage.StatusUpdate{Status: storage.StatusSuccess, Output: json.RawMessage(`{"ok": true}`)}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func checksums(t *testing.T, db config.Database) map[string]dbcopy.TableResult {
	t.Helper()
	res, err := dbcopy.Checksums(testCtx(t), db)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]dbcopy.TableResult{}
	for _, r := range res {
		m[r.Table] = r
	}
	return m
}

// TestRoundTrip copies SQLite -> PostgreSQL -> SQLite: every table verifies on the way, and the
// final SQLite has the checksums of the first.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	first := sqliteDB(filepath.Join(dir, "first.db"))
	seed(t, first.Path, 6)
	pg := config.Database{Driver: config.DriverPostgres, ConnString: testenv.PostgresDB(t)}
	ctx := testCtx(t)

	res, err := dbcopy.Copy(ctx, first, pg, dbcopy.Options{})
	if err != nil {
		t.Fatalf("copy SQLite -> PostgreSQL: %v", err)
	}
	if res.Rows != 1+2+6+18 || res.Migrated == 0 {
		t.Errorf("copied %d rows with %d migrations, want 27 rows after migrating", res.Rows, res.Migrated)
	}
	for _, tr := range res.Tables {
		if !tr.Match {
			t.Errorf("%s: %+v", tr.Table, tr)
		}
	}
	second := sqliteDB(filepath.Join(dir, "second.db"))
	if _, err := dbcopy.Copy(ctx, pg, second, dbcopy.Options{}); err != nil {
		t.Fatalf("copy PostgreSQL -> SQLite: %v", err)
	}
	a, b := checksums(t, first), checksums(t, second)
	for _, name := range dbcopy.TableNames() {
		if a[name].SourceRows == 0 {
			t.Errorf("%s: no rows seeded", name)
		}
		if a[name] != b[name] {
			t.Errorf("%s differs after the round trip: %+v vs %+v", name, a[name], b[name])
		}
	}

	// A target that holds rows is refused, and nothing is written.
	_, err = dbcopy.Copy(ctx, first, pg, dbcopy.Options{})
	var ne *dbcopy.NotEmptyError
	if !errors.As(err, &ne) || ne.Unfinished || ne.Rows["task_states"] != 18 {
		t.Fatalf("copy into a non-empty target = %v, want NotEmptyError with 18 task_states", err)
	}
	// --force replaces them.
	if _, err := dbcopy.Copy(ctx, first, pg, dbcopy.Options{Force: true}); err != nil {
		t.Fatalf("copy --force: %v", err)
	}
	// A copy onto itself is refused.
	var same *dbcopy.SameDatabaseError
	if _, err := dbcopy.Copy(ctx, first, first, dbcopy.Options{Force: true}); !errors.As(err, &same) {
		t.Fatalf("copy onto itself = %v, want SameDatabaseError", err)
	}
}

// TestChecksumSeesDifferences: a changed value in any column kind changes the table checksum.
func TestChecksumSeesDifferences(t *testing.T) {
	dir := t.TempDir()
	db := sqliteDB(filepath.Join(dir, "a.db"))
	seed(t, db.Path, 2)
	before := checksums(t, db)
	d, err := sqlite.Open(testCtx(t), sqlite.Options{Path: db.Path})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE api_keys SET hash = x'00' WHERE id = 'key-1'`,
		`UPDATE workflow_states SET input = '{"z": 2}' WHERE workflow_exec_id = 'wf-000-ß'`,
		`UPDATE task_states SET created_at = '2001-01-01T00:00:00Z' WHERE task_exec_id = 'wf-001-ß-t2'`,
		`UPDATE users SET email = 'zoë@例え.jp'`,
	} {
		if _, err := d.Writer().ExecContext(testCtx(t), q); err != nil {
			t.Fatal(err)
		}
	}
	_ = d.Close()
	after := checksums(t, db)
	for _, name := range dbcopy.TableNames() {
		if before[name].SourceChecksum == after[name].SourceChecksum {
			t.Errorf("%s: checksum unchanged after an update", name)
		}
	}
}

// TestInterruptedCopy kills a process in the middle of a copy: the target says it is
// unfinished, a plain rerun is refused, and a rerun with Force completes and verifies.
func TestInterruptedCopy(t *testing.T) {
	if os.Getenv("DBCOPY_HELPER") == "1" {
		return
	}
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 60)
	pg := config.Database{Driver: config.DriverPostgres, ConnString: testenv.PostgresDB(t)}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCopyHelperProcess$")
	cmd.Env = append(os.Environ(), "DBCOPY_HELPER=1", "DBCOPY_FROM="+src.Path, "DBCOPY_TO="+pg.ConnString)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	midway := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "MIDWAY") {
			midway = true
			break
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !midway {
		t.Fatal("the helper process never reached the middle of the copy")
	}

	ctx := testCtx(t)
	_, err = dbcopy.Copy(ctx, src, pg, dbcopy.Options{})
	var ne *dbcopy.NotEmptyError
	if !errors.As(err, &ne) || !ne.Unfinished {
		t.Fatalf("rerun without --force = %v, want an unfinished-copy refusal", err)
	}
	if !strings.Contains(err.Error(), "unfinished") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("refusal does not say what happened and what to do: %v", err)
	}
	res, err := dbcopy.Copy(ctx, src, pg, dbcopy.Options{Force: true})
	if err != nil {
		t.Fatalf("rerun with --force: %v", err)
	}
	if !res.Cleared || res.Rows != 1+2+60+180 {
		t.Errorf("rerun: cleared %v, %d rows; want cleared and 243 rows", res.Cleared, res.Rows)
	}
}

// TestCopyHelperProcess is the process TestInterruptedCopy kills: it copies with a progress
// hook that says MIDWAY in the middle of task_states and then stalls.
func TestCopyHelperProcess(t *testing.T) {
	if os.Getenv("DBCOPY_HELPER") != "1" {
		t.Skip("helper process of TestInterruptedCopy")
	}
	from := sqliteDB(os.Getenv("DBCOPY_FROM"))
	to := config.Database{Driver: config.DriverPostgres, ConnString: os.Getenv("DBCOPY_TO")}
	said := false
	_, err := dbcopy.Copy(context.Background(), from, to, dbcopy.Options{Progress: func(p dbcopy.Progress) {
		if p.Phase == dbcopy.PhaseCopy && p.Table == "workflow_states" && !said {
			said = true
			fmt.Println("MIDWAY")
			time.Sleep(time.Minute)
		}
	}})
	t.Fatalf("helper copy was not killed: %v", err)
}

// TestMismatchNamesTheTable: a source that changes between the copy and the verification fails
// the copy (with the table's name when the verification sees it; the read-only source is also
// checked for a change after reading), and an existing target stays marked unfinished.
func TestMismatchNamesTheTable(t *testing.T) {
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 2)
	dst := sqliteDB(filepath.Join(dir, "dst.db"))
	ctx := testCtx(t)
	empty, err := sqlite.Open(ctx, sqlite.Options{Path: dst.Path})
	if err != nil {
		t.Fatal(err)
	}
	_ = empty.Close()
	changed := false
	_, err = dbcopy.Copy(ctx, src, dst, dbcopy.Options{Progress: func(p dbcopy.Progress) {
		if p.Phase != dbcopy.PhaseVerify || changed {
			return
		}
		changed = true
		d, err := sqlite.Open(ctx, sqlite.Options{Path: src.Path})
		if err != nil {
			t.Error(err)
			return
		}
		defer d.Close()
		if _, err := d.Writer().ExecContext(ctx, `UPDATE workflow_states SET status = 'FAILED' WHERE workflow_exec_id = 'wf-001-ß'`); err != nil {
			t.Error(err)
		}
	}})
	var mm *dbcopy.MismatchError
	if !errors.Is(err, sqlitefile.ErrChanged) && (!errors.As(err, &mm) || len(mm.Tables) != 1 || mm.Tables[0] != "workflow_states") {
		t.Fatalf("copy with a changed source = %v, want a mismatch in workflow_states or a changed source", err)
	}
	_, err = dbcopy.Copy(ctx, src, dst, dbcopy.Options{})
	var ne *dbcopy.NotEmptyError
	if !errors.As(err, &ne) || !ne.Unfinished {
		t.Fatalf("target after a failed verification: %v, want marked unfinished", err)
	}
}

// TestNewSQLiteTargetAppearsOnlyWhenVerified: a copy into a SQLite file that does not exist yet
// writes a temporary file beside it; a copy that fails leaves no file under the target's name and
// nothing else behind, and one that succeeds leaves exactly the target, mode 0600.
func TestNewSQLiteTargetAppearsOnlyWhenVerified(t *testing.T) {
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 3)
	out := t.TempDir()
	dst := sqliteDB(filepath.Join(out, "dst.db"))
	ctx, cancel := context.WithCancel(testCtx(t))
	_, err := dbcopy.Copy(ctx, src, dst, dbcopy.Options{Progress: func(p dbcopy.Progress) {
		if p.Table == "task_states" {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("a cancelled copy succeeded")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("a failed copy left %v", entries)
	}
	if _, err := dbcopy.Copy(testCtx(t), src, dst, dbcopy.Options{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "dst.db" {
		t.Fatalf("after the copy the folder holds %v, want dst.db only", entries)
	}
	if fi, _ := os.Stat(dst.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("dst.db mode %o, want 0600", fi.Mode().Perm())
	}
	want, got := checksums(t, src), checksums(t, dst)
	for _, name := range dbcopy.TableNames() {
		if want[name].SourceChecksum != got[name].SourceChecksum {
			t.Errorf("%s differs", name)
		}
	}
}

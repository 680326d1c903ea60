package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestSQLiteFileMissingBesideDatabases: a missing database file beside more than one other
// SQLite database fails naming them all, in order; a folder beside it is not one of them.
func TestSQLiteFileMissingBesideDatabases(t *testing.T) {
	ff := newFiles()
	for _, sfx := range []string{"", "-wal", "-shm"} {
		delete(ff.files, testPath+sfx)
	}
	ff.files[testDir+"/old.db"] = &fakeFile{perm: 0o600, size: 4096}
	ff.files[testDir+"/copy.db"] = &fakeFile{perm: 0o600, size: 8192}
	ff.files[testDir+"/backups"] = &fakeFile{dir: true, perm: 0o750}
	cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
	r := runCheck(t, cs, doctor.IDSQLiteFile,
		want{doctor.StatusFail, `does not exist, but its folder holds other SQLite databases \(copy.db, old.db\)\n.*wrong file`})
	if r.Fixable {
		t.Error("a missing database beside others is fixable: migrate up would start an empty one")
	}
}

// TestSQLitePermissionsBothIssues: a database its group may read and another user owns warns
// with the first issue, both in the detail, and both commands.
func TestSQLitePermissionsBothIssues(t *testing.T) {
	ff := newFiles()
	for _, sfx := range []string{"", "-wal", "-shm"} {
		ff.files[testPath+sfx].uid = 2000
	}
	ff.files[testPath].perm = 0o640
	cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
	r := runCheck(t, cs, doctor.IDSQLitePermissions,
		want{doctor.StatusWarn, `^mode 0640 lets its group read the workflow data\nmode 0640 lets its group read the workflow data\nowned by user2000, but compozy runs as svc here$`})
	if !r.Fixable {
		t.Error("not fixable, though chmod 600 makes it private")
	}
	if got, want := commands(r), "chmod 600 "+testPath+"\nchown svc "+testPath; got != want {
		t.Errorf("commands %q, want %q", got, want)
	}
}

// TestSQLitePermissionsRepair: the repair makes the database and those of its -wal and -shm
// files that exist private to their owner.
func TestSQLitePermissionsRepair(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.db")
	for _, f := range []string{path, path + "-wal"} { // no -shm
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := sqliteDB()
	db.Path = path
	for _, c := range testSet(t, db, Inputs{}, &fakeConn{}, nil).sqliteChecks() {
		if c.ID != doctor.IDSQLitePermissions {
			continue
		}
		if plan := c.Repair.Plan(doctor.Result{}); !strings.HasPrefix(plan, "chmod 600 "+path) {
			t.Errorf("plan %q", plan)
		}
		if err := c.Repair.Apply(t.Context(), doctor.Result{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{path, path + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

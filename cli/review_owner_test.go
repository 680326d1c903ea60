package cli

import (
	"database/sql"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/doctor"
)

// The service user of these tests: nobody:nogroup.
const nobodyID = 65534

// needRoot skips a test that runs compozy as root and then as nobody.
func needRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs compozy as root, then as nobody")
	}
	bin := buildCompozy(t)
	traversable(t, filepath.Dir(bin))
	return bin
}

// asNobody runs the binary as nobody:nogroup in dir.
func asNobody(t *testing.T, bin, dir string, args ...string) cliRun {
	t.Helper()
	return binRunWith(t, bin, dir, binIn{env: []string{"HOME=/nonexistent"}, cred: &syscall.Credential{Uid: nobodyID, Gid: nobodyID}}, args...)
}

// giveToNobody makes everything under root (root included) nobody:nogroup's.
func giveToNobody(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobodyID, nobodyID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wantOwner fails unless path (not followed) is nobody:nogroup's, with mode perm when perm is
// not 0.
func wantOwner(t *testing.T, path string, perm fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != nobodyID || st.Gid != nobodyID {
		t.Errorf("%s is %d:%d, want nobody:nogroup (%d:%d)", path, st.Uid, st.Gid, nobodyID, nobodyID)
	}
	if perm != 0 && fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), perm)
	}
}

// wantAllNobodys checks every file and folder under root.
func wantAllNobodys(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		wantOwner(t, p, 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// execClosed runs q on the SQLite file at path and closes the connection, so that no -wal or
// -shm file is left open behind the test.
func execClosed(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatal(err)
	}
}

// serviceData is a folder dir/data owned by nobody (0750) holding a SQLite database migrated
// to version to (0: all) with a user row in it, every file nobody's and no migrate lock yet.
func serviceData(t *testing.T, to int64) (dir, data, db string) {
	t.Helper()
	dir = t.TempDir()
	traversable(t, dir)
	data = filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	db = filepath.Join(data, "compozy.db")
	newSQLiteDB(t, db, "WAL", to)
	execClosed(t, db, `INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'admin')`)
	if err := os.Remove(db + migrate.LockSuffix); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	giveToNobody(t, data)
	return dir, data, db
}

// TestRootMigrateLeavesFilesToTheDatabaseOwner: `migrate up` run as root on nobody's database
// leaves its lock file and its pre-migrate backup to nobody (0600), after which nobody's
// `migrate down --yes` succeeds (it failed with "open lock file: permission denied"). A lock
// file an earlier root run left root's is given back by the next root run.
func TestRootMigrateLeavesFilesToTheDatabaseOwner(t *testing.T) {
	t.Parallel()
	bin := needRoot(t)
	dir, data, db := serviceData(t, 20250711163858)
	args := []string{"--db-driver", "sqlite", "--db-path", db}

	r := binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...)
	wantCode(t, r, 0, "migrate up as root")
	wantOwner(t, db+migrate.LockSuffix, 0o600)
	backups := filesLike(t, data, `^compozy-pre-migrate-`)
	if len(backups) != 1 {
		t.Fatalf("pre-migrate backups: %v\n%s", backups, r.out)
	}
	wantOwner(t, filepath.Join(data, backups[0]), 0o600)
	wantAllNobodys(t, data)

	r = asNobody(t, bin, dir, append([]string{"migrate", "down", "--yes"}, args...)...)
	wantCode(t, r, 0, "migrate down --yes as nobody")

	// A lock file left root's (by a compozy without this rule) is given back.
	if err := os.Chown(db+migrate.LockSuffix, 0, 0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "migrate up as root")
	wantAllNobodys(t, data)
	wantCode(t, asNobody(t, bin, dir, append([]string{"migrate", "down", "--yes"}, args...)...), 0, "migrate down --yes as nobody")
}

// TestRootCreatesTheDatabaseForTheFolderOwner: a database root creates (with its folder) in
// nobody's folder is nobody's: the folder 0750, the file 0600, the lock 0600, SQLite's own
// files too; nobody then migrates it.
func TestRootCreatesTheDatabaseForTheFolderOwner(t *testing.T) {
	t.Parallel()
	bin := needRoot(t)
	dir := t.TempDir()
	traversable(t, dir)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	giveToNobody(t, data)
	db := filepath.Join(data, "new", "compozy.db")
	args := []string{"--db-driver", "sqlite", "--db-path", db}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "migrate up as root")
	wantOwner(t, filepath.Dir(db), 0o750)
	wantOwner(t, db, 0o600)
	wantOwner(t, db+migrate.LockSuffix, 0o600)
	wantAllNobodys(t, data)
	wantCode(t, asNobody(t, bin, dir, append([]string{"migrate", "down", "--yes"}, args...)...), 0, "migrate down --yes as nobody")
	wantCode(t, asNobody(t, bin, dir, append([]string{"migrate", "up"}, args...)...), 0, "migrate up as nobody")
}

// TestRootBackupBelongsToTheDatabaseOwner: `db backup` run as root writes its default target
// next to nobody's database as nobody's (0600), which nobody can then read.
func TestRootBackupBelongsToTheDatabaseOwner(t *testing.T) {
	t.Parallel()
	bin := needRoot(t)
	dir, data, db := serviceData(t, 0)
	r := binRun(t, bin, dir, nil, "db", "backup", "--db-driver", "sqlite", "--db-path", db)
	wantCode(t, r, 0, "db backup as root")
	backups := filesLike(t, data, `^compozy-backup-.*\.db$`)
	if len(backups) != 1 {
		t.Fatalf("backups: %v\n%s", backups, r.out)
	}
	backup := filepath.Join(data, backups[0])
	wantOwner(t, backup, 0o600)
	wantAllNobodys(t, data)
	// nobody reads the backup root wrote, and backs it up in turn.
	r = asNobody(t, bin, dir, "db", "backup", "--db-driver", "sqlite", "--db-path", backup, "--to", filepath.Join(data, "again.db"))
	wantCode(t, r, 0, "db backup of root's backup as nobody")
	if n := sqliteCount(t, filepath.Join(data, "again.db"), "users"); n != 1 {
		t.Errorf("the backup of the backup holds %d users, want 1", n)
	}
}

// TestRootDoctorFixLeavesTheVectorFolderToTheServiceUser: `doctor --fix --yes` as root creates
// the filesystem vector folder data/vectors, its log and its lock as nobody's (they were
// root:root 0700), and nobody's doctor then passes the vector checks.
func TestRootDoctorFixLeavesTheVectorFolderToTheServiceUser(t *testing.T) {
	t.Parallel()
	bin := needRoot(t)
	dir, data, _ := serviceData(t, 0)
	yaml := "database:\n  driver: sqlite\n  path: ./data/compozy.db\n" + strings.Replace(fsVectorYAML, "./vectors", "./data/vectors", 1)
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r := binRun(t, bin, dir, nil, "doctor", "--fix", "--yes")
	wantCode(t, r, 0, "doctor --fix --yes as root")
	vectors := filepath.Join(data, "vectors")
	wantOwner(t, vectors, 0o700)
	wantAllNobodys(t, data)

	r = asNobody(t, bin, dir, "doctor", "--json")
	d := parseDoctor(t, r)
	expectCheck(t, d, doctor.IDVectorFilesystemFolder, doctor.StatusPass, "")
	expectCheck(t, d, doctor.IDVectorFilesystemData, doctor.StatusPass, "")
	if r.code != 0 {
		t.Errorf("nobody's doctor: exit %d\n%s", r.code, r.out)
	}
}

// TestRootInitUpdateKeepsTheConfigOwner: `init --update` as root on nobody:nogroup's 0640
// compozy.yaml, reached through a symbolic link, keeps the file nobody:nogroup 0640 (it became
// root:root, and the service could no longer read its config) and the link a link; the backup
// of the old file is nobody's and 0600; temporaries killed runs left beside the link and the
// file (the config's and its backup's) are removed, a live process's are kept.
func TestRootInitUpdateKeepsTheConfigOwner(t *testing.T) {
	t.Parallel()
	bin := needRoot(t)
	dir := t.TempDir()
	traversable(t, dir)
	etc := filepath.Join(dir, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(etc, "compozy.yaml")
	old := "database:\n  driver: sqlite\n  path: ./data/compozy.db\n"
	if err := os.WriteFile(real, []byte(old), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("etc/compozy.yaml", filepath.Join(dir, "compozy.yaml")); err != nil {
		t.Fatal(err)
	}
	giveToNobody(t, etc)

	dead := deadPID(t)
	live := strconv.Itoa(os.Getpid())
	stale := []string{
		filepath.Join(dir, ".compozy.yaml.20260101-000000.bak."+dead+".tmp"),
		filepath.Join(dir, ".compozy.yaml.20260101-000000-1.bak."+dead+".tmp"),
		filepath.Join(etc, ".compozy.yaml."+dead+".tmp"),
	}
	kept := []string{
		filepath.Join(dir, ".compozy.yaml.20260101-000000.bak."+live+".tmp"),
		filepath.Join(etc, ".other.yaml."+dead+".tmp"),
	}
	for _, p := range append(stale, kept...) {
		if err := os.WriteFile(p, []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r := binRun(t, bin, dir, nil, "init", "--update", "--use-case", "dev", "--yes")
	wantCode(t, r, 0, "init --update as root")
	if fi, err := os.Lstat(filepath.Join(dir, "compozy.yaml")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("compozy.yaml is no longer a link: %v %v", fi, err)
	}
	if got := readFile(t, real); got == old {
		t.Fatalf("the config was not updated:\n%s", r.out)
	}
	wantOwner(t, real, 0o640)
	baks := filesLike(t, dir, `^compozy\.yaml\..*\.bak$`)
	if len(baks) != 1 {
		t.Fatalf("backups: %v", baks)
	}
	wantOwner(t, filepath.Join(dir, baks[0]), 0o600)
	if readFile(t, filepath.Join(dir, baks[0])) != old {
		t.Error("the backup does not hold the old file")
	}
	for _, p := range stale {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s (left by a killed run) is still there", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	wantCode(t, asNobody(t, bin, dir, "config", "validate"), 0, "config validate as nobody")
}

// deadPID is the ID of a process that has ended.
func deadPID(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(cmd.Process.Pid)
}

// TestDoctorWarnsOnTmpfs: a database on tmpfs (/dev/shm) is a WARN that says a reboot erases it
// and the backups next to it, with the fix; `doctor explain` no longer lists tmpfs among the
// filesystems to use.
func TestDoctorWarnsOnTmpfs(t *testing.T) {
	t.Parallel()
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("/dev/shm is not tmpfs here")
	}
	bin := buildCompozy(t)
	dir, err := os.MkdirTemp("/dev/shm", "compozy-test-")
	if err != nil {
		t.Skip("cannot write /dev/shm: ", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	db := filepath.Join(dir, "compozy.db")
	args := []string{"--db-driver", "sqlite", "--db-path", db}
	wantCode(t, binRun(t, bin, dir, nil, append([]string{"migrate", "up"}, args...)...), 0, "migrate up")
	r := binRun(t, bin, dir, nil, append([]string{"doctor", "--json"}, args...)...)
	c := expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteFilesystem, doctor.StatusWarn, `is on tmpfs: a reboot erases the database \(and backups next to it\)`)
	if !strings.Contains(c.Fix.Text, "disk-backed folder") {
		t.Errorf("fix: %+v", c.Fix)
	}
	r = binRun(t, bin, dir, nil, "doctor", "explain", doctor.IDSQLiteFilesystem)
	wantCode(t, r, 0, "doctor explain")
	if strings.Contains(r.out, "apfs, tmpfs)") || !strings.Contains(r.out, "not tmpfs or ramfs") {
		t.Errorf("explain still recommends tmpfs:\n%s", r.out)
	}
}

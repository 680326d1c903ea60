package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	doctorwatch "compozy.dev/setup/doctor/watch"
)

// Issue 10, "Read-only means read-only", proved through the real binary: every read-only
// command (doctor without --fix, doctor --report with its file in the user's out folder, doctor
// --watch piped, migrate status/version/diff, config show/validate, every --dry-run, the source
// side of db copy and db backup) creates, changes and removes no file and no folder
// in the database's folder or in its working folder, whatever state the database is in and
// whichever user runs it. Each cell takes a listing of the watched folders (names, modes,
// owners, times) with a sha256 of every file before and after the run and asserts they are the
// same; the cells that the issue names also assert what the command says.
//
// COMPOZY_TEST_RO_LOG=TEXT logs the output of the cells whose "scenario/user/command" name
// contains TEXT.

// roUser is who runs the binary: root, or nobody (uid 65534) when the test runs as root.
type roUser struct {
	name string
	cred *syscall.Credential // nil: the test's own user
	uid  int
}

const (
	nobodyUID = 65534
	// otherUID owns the side files of the scenarios where they are not the database owner's
	// (a service that runs as another user than the one owning the file).
	otherUID = 4242
)

var (
	roRoot   = roUser{name: "root"}
	roNobody = roUser{name: "nobody", cred: &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID}, uid: nobodyUID}
)

// roFixture is one scenario's files: the configured database path, the folders to watch, and
// per user a working folder (with compozy.yaml) and a writable folder for backups and copies.
type roFixture struct {
	base  string
	data  string // the database's folder
	db    string // database.path as configured
	watch []string
	work  map[string]string
	out   map[string]string
	// seq numbers the backup, copy and report targets so that every run writes a new file.
	seq int
	// report is the FILE of the last doctor --report run.
	report string
}

// roScenario is a database state, built for real.
type roScenario struct {
	name string
	// build creates the state under fx.data and sets fx.db (and extra fx.watch folders).
	build func(t *testing.T, fx *roFixture)
	// root marks scenarios that only mean something with ownership (chown needs root).
	root bool
	// extra are commands run only in this scenario (beyond the read-only list).
	extra []roCommand
	// expect asserts what a command printed; nil asserts only that nothing changed.
	expect func(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun)
}

// roCommand is one command line of the matrix.
type roCommand struct {
	name string
	args func(fx *roFixture, u roUser) []string
	// writesOut: the command writes its output into the user's out folder (not watched).
	writesOut bool
}

func fixed(args ...string) func(*roFixture, roUser) []string {
	return func(*roFixture, roUser) []string { return args }
}

// roCommands are the commands the issue lists: none of them may touch the database's folder.
var roCommands = []roCommand{
	{name: "doctor", args: fixed("doctor")},
	{name: "doctor --json", args: fixed("doctor", "--json")},
	{name: "migrate status", args: fixed("migrate", "status")},
	{name: "migrate status --json", args: fixed("migrate", "status", "--json")},
	{name: "migrate status --check", args: fixed("migrate", "status", "--check")},
	{name: "migrate version", args: fixed("migrate", "version")},
	{name: "migrate diff", args: fixed("migrate", "diff")},
	{name: "migrate up --dry-run", args: fixed("migrate", "up", "--dry-run")},
	{name: "migrate down --dry-run", args: fixed("migrate", "down", "--dry-run")},
	{name: "migrate down --to 0 --dry-run", args: fixed("migrate", "down", "--to", "0", "--dry-run")},
	{name: "config show", args: fixed("config", "show")},
	{name: "config validate", args: fixed("config", "validate")},
	{name: "doctor --fix --dry-run", args: fixed("doctor", "--fix", "--dry-run")},
	{name: "init --dry-run --update", args: func(fx *roFixture, _ roUser) []string {
		return []string{"init", "--dry-run", "--update", "--use-case", "dev", "--yes", "--db-driver", "sqlite", "--db-path", fx.db, "--vector-provider", "none"}
	}},
	{name: "db copy", writesOut: true, args: func(fx *roFixture, u roUser) []string {
		fx.seq++
		return []string{"db", "copy", "--from", fx.db, "--to", filepath.Join(fx.out[u.name], fmt.Sprintf("copy-%d.db", fx.seq)), "--yes"}
	}},
	{name: "db backup", writesOut: true, args: func(fx *roFixture, u roUser) []string {
		fx.seq++
		return []string{"db", "backup", "--to", filepath.Join(fx.out[u.name], fmt.Sprintf("b-%d.db", fx.seq))}
	}},
	// The support report runs every check as doctor does and writes only its FILE (the last
	// argument), in the user's out folder.
	{name: "doctor --report", writesOut: true, args: func(fx *roFixture, u roUser) []string {
		fx.seq++
		fx.report = filepath.Join(fx.out[u.name], fmt.Sprintf("report-%d.md", fx.seq))
		return []string{"doctor", "--report", fx.report}
	}},
	// Piped (not a terminal): a header and one line per sample, two samples 100 ms apart.
	{name: "doctor --watch", args: fixed("doctor", "--watch", "--count", "2", "--interval", "100ms")},
}

// migrateUpCmd is not read-only; it runs only where it must fail before writing (a folder where
// the database should be).
var migrateUpCmd = roCommand{name: "migrate up", args: fixed("migrate", "up")}

func TestReadOnlyMatrix(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	isRoot := os.Geteuid() == 0
	users := []roUser{roRoot}
	if isRoot {
		users = append(users, roNobody)
		traversable(t, filepath.Dir(bin))
	} else {
		users[0].name = "self"
	}
	tpl := roTemplates(t)

	for _, sc := range roScenarios(tpl) {
		t.Run(sc.name, func(t *testing.T) {
			if sc.root && !isRoot {
				t.Skip("needs root to give files to nobody")
			}
			t.Parallel()
			fx := newROFixture(t, users)
			sc.build(t, fx)
			cmds := append(slices.Clone(roCommands), sc.extra...)
			for _, u := range users {
				for _, c := range cmds {
					args := c.args(fx, u)
					name := u.name + "/" + c.name
					watch := append(slices.Clone(fx.watch), fx.work[u.name])
					before := roSnapshot(t, watch...)
					r := roRun(t, bin, fx.work[u.name], u, args...)
					after := roSnapshot(t, watch...)
					if d := roDiff(before, after); d != "" {
						t.Errorf("%s: %s changed files:\n%s\nexit %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), d, r.code, r.out, r.errOut)
					}
					if strings.Contains(r.out+r.errOut, "disk I/O error") {
						t.Errorf("%s: SQLite's disk I/O error reaches the user:\n%s%s", name, r.out, r.errOut)
					}
					if c.name == "doctor" && strings.Contains(r.out, "\x1b") {
						t.Errorf("%s: escape codes in piped output:\n%q", name, r.out)
					}
					if c.name == "doctor --json" {
						parseDoctor(t, r)
					}
					if c.name == "doctor --report" {
						expectReportFile(t, name, args[len(args)-1], r)
					}
					if c.name == "doctor --watch" && r.code == 0 {
						expectWatchLines(t, r, doctorwatch.SQLiteColumns, 2)
					}
					if l := os.Getenv("COMPOZY_TEST_RO_LOG"); l != "" && strings.Contains(sc.name+"/"+name, l) {
						t.Logf("%s: exit %d\n%s\n%s", name, r.code, r.out, r.errOut)
					}
					if sc.expect != nil {
						t.Run(name, func(t *testing.T) { sc.expect(t, fx, u, c, r) })
					}
				}
			}
		})
	}
}

// expectReportFile: doctor --report wrote its Markdown report to path (0600), whatever the
// database's state (a problem is a check in the report, not a missing file), and said so.
func expectReportFile(t *testing.T, name, path string, r cliRun) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: no report: %v\nexit %d\nstdout:\n%s\nstderr:\n%s", name, err, r.code, r.out, r.errOut)
		return
	}
	if m := roFileMode(t, path); m != 0o600 || !strings.HasPrefix(string(b), "# ") || !strings.Contains(r.errOut, "Wrote "+path) {
		t.Errorf("%s: report mode %o, %d bytes starting %.40q; stderr:\n%s", name, m, len(b), b, r.errOut)
	}
}

// roTemplates builds the databases every scenario copies: a migrated WAL database with rows
// and the same in rollback-journal mode (journal_mode=delete), both closed cleanly.
type roTemplate struct{ wal, rollback string }

func roTemplates(t *testing.T) roTemplate {
	t.Helper()
	dir := t.TempDir()
	tpl := roTemplate{wal: filepath.Join(dir, "wal.db"), rollback: filepath.Join(dir, "rollback.db")}
	for _, c := range []struct{ path, mode string }{{tpl.wal, "WAL"}, {tpl.rollback, "DELETE"}} {
		newSQLiteDB(t, c.path, c.mode, 0)
		db := roOpen(t, c.path)
		for i := range 3 {
			if _, err := db.Exec("INSERT INTO users (id, email, role) VALUES (?, ?, 'user')", fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if s := sqlitefile.SideFiles(c.path); s.WAL || s.SHM || s.Journal {
			t.Fatalf("template %s left side files: %+v", c.path, s)
		}
	}
	return tpl
}

func roOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func newROFixture(t *testing.T, users []roUser) *roFixture {
	t.Helper()
	base := t.TempDir()
	traversable(t, base)
	fx := &roFixture{base: base, data: filepath.Join(base, "data"), work: map[string]string{}, out: map[string]string{}}
	fx.db = filepath.Join(fx.data, "compozy.db")
	fx.watch = []string{fx.data}
	for _, u := range users {
		work, out := filepath.Join(base, "work-"+u.name), filepath.Join(base, "out-"+u.name)
		for _, d := range []string{work, out} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			roChown(t, d, u.uid)
		}
		fx.work[u.name], fx.out[u.name] = work, out
	}
	return fx
}

// writeConfig writes each user's compozy.yaml, naming the database by fx.db.
func (fx *roFixture) writeConfig(t *testing.T) {
	t.Helper()
	for name, work := range fx.work {
		p := filepath.Join(work, "compozy.yaml")
		writeFile(t, p, fmt.Sprintf("database:\n  driver: sqlite\n  path: %q\n", fx.db))
		uid := 0
		if name == roNobody.name {
			uid = nobodyUID
		}
		roChown(t, p, uid)
	}
}

// roChown gives p to uid (its group too) when the test runs as root; otherwise it is a no-op.
func roChown(t *testing.T, p string, uid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func roCopy(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, to, mode)
}

// mkData makes the database's folder, owned by uid with mode.
func (fx *roFixture) mkData(t *testing.T, uid int, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(fx.data, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, fx.data, mode)
	roChown(t, fx.data, uid)
}

// healthy copies a template into the folder: the service user (nobody) owns folder and file.
func (fx *roFixture) healthy(t *testing.T, tpl string) {
	t.Helper()
	fx.mkData(t, nobodyUID, 0o700)
	roCopy(t, tpl, fx.db, 0o600)
	roChown(t, fx.db, nobodyUID)
	fx.writeConfig(t)
}

func roScenarios(tpl roTemplate) []roScenario {
	return []roScenario{
		{name: "healthy WAL", build: func(t *testing.T, fx *roFixture) { fx.healthy(t, tpl.wal) }, expect: expectHealthy},
		{name: "rollback journal", build: func(t *testing.T, fx *roFixture) { fx.healthy(t, tpl.rollback) }, expect: expectHealthy},
		{name: "live WAL writer", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			startROHelper(t, fx.db, "live-wal")
			if s := sqlitefile.SideFiles(fx.db); !s.WAL || !s.SHM {
				t.Fatalf("the live writer left no -wal/-shm: %+v", s)
			}
		}, expect: expectHealthy},
		{name: "live rollback writer mid-transaction", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.rollback)
			startROHelper(t, fx.db, "live-rollback")
			if !sqlitefile.SideFiles(fx.db).Journal {
				t.Fatal("the writer has no -journal")
			}
		}, expect: expectHealthy},
		{name: "hot rollback journal", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.rollback)
			crashROHelper(t, fx.db, "crash-rollback")
			if !sqlitefile.JournalHasTransaction(fx.db) {
				t.Fatal("the killed writer left no hot journal")
			}
		}, expect: expectHotJournal},
		{name: "crashed WAL writer", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			crashROHelper(t, fx.db, "crash-wal")
			if s := sqlitefile.SideFiles(fx.db); !s.WAL || !s.SHM || s.WALSize == 0 {
				t.Fatalf("the killed writer left no -wal/-shm: %+v", s)
			}
		}, expect: expectHealthy},
		{name: "wal without shm", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			crashROHelper(t, fx.db, "crash-wal")
			if err := os.Remove(fx.db + sqlitefile.SHMSuffix); err != nil {
				t.Fatal(err)
			}
		}, expect: expectNoSHM},
		{name: "crashed WAL writer, side files of another owner", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			crashROHelper(t, fx.db, "crash-wal")
			roChown(t, fx.db+sqlitefile.WALSuffix, otherUID)
			roChown(t, fx.db+sqlitefile.SHMSuffix, otherUID)
		}, expect: expectSideOwner},
		{name: "hot rollback journal of another owner", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.rollback)
			crashROHelper(t, fx.db, "crash-rollback")
			roChown(t, fx.db+sqlitefile.JournalSuffix, otherUID)
		}, expect: expectSideOwner},
		{name: "rollback database with a stale empty -wal", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.rollback)
			roCopy(t, "/dev/null", fx.db+sqlitefile.WALSuffix, 0o600)
			roChown(t, fx.db+sqlitefile.WALSuffix, nobodyUID)
		}, expect: expectHealthy},
		{name: "rollback database with a stale -wal and -shm", build: func(t *testing.T, fx *roFixture) {
			other := filepath.Join(fx.base, "other.db")
			roCopy(t, tpl.wal, other, 0o600)
			crashROHelper(t, other, "crash-wal")
			fx.healthy(t, tpl.rollback)
			for _, sfx := range []string{sqlitefile.WALSuffix, sqlitefile.SHMSuffix} {
				roCopy(t, other+sfx, fx.db+sfx, 0o600)
				roChown(t, fx.db+sfx, nobodyUID)
			}
		}, expect: expectHealthy},
		{name: "empty database file with a -wal", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			crashROHelper(t, fx.db, "crash-wal")
			if err := os.Truncate(fx.db, 0); err != nil {
				t.Fatal(err)
			}
		}, expect: func(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
			if c.name == "doctor --json" {
				expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteFile, doctor.StatusFail, "is empty, but its -wal holds")
			}
		}},
		{name: "0400 owned by nobody", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			chmod(t, fx.db, 0o400)
		}, expect: expect0400Nobody},
		{name: "0400 owned by root", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			chmod(t, fx.db, 0o400)
			roChown(t, fx.db, 0)
		}, expect: expect0400Root},
		{name: "folder nobody cannot write, db readable", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.mkData(t, 0, 0o755)
			roCopy(t, tpl.wal, fx.db, 0o644)
			fx.writeConfig(t)
		}, expect: expectUnwritableFolder},
		{name: "folder nobody cannot write, db private", root: true, build: func(t *testing.T, fx *roFixture) {
			fx.mkData(t, 0, 0o755)
			roCopy(t, tpl.wal, fx.db, 0o600)
			fx.writeConfig(t)
		}, expect: expectUnwritableFolder},
		{name: "missing database", build: func(t *testing.T, fx *roFixture) {
			fx.mkData(t, nobodyUID, 0o700)
			fx.writeConfig(t)
		}, expect: expectMissing},
		{name: "missing folder", build: func(t *testing.T, fx *roFixture) {
			fx.mkData(t, nobodyUID, 0o700)
			fx.db = filepath.Join(fx.data, "sub", "compozy.db")
			fx.writeConfig(t)
		}, expect: expectMissing},
		{name: "directory", build: func(t *testing.T, fx *roFixture) {
			fx.mkData(t, nobodyUID, 0o755)
			if err := os.Mkdir(fx.db, 0o755); err != nil {
				t.Fatal(err)
			}
			roChown(t, fx.db, nobodyUID)
			fx.writeConfig(t)
		}, extra: []roCommand{migrateUpCmd}, expect: expectDirectory},
		{name: "symbolic link", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			links := filepath.Join(fx.base, "links")
			if err := os.Mkdir(links, 0o755); err != nil {
				t.Fatal(err)
			}
			roChown(t, links, nobodyUID)
			link := filepath.Join(links, "compozy.db")
			if err := os.Symlink(fx.db, link); err != nil {
				t.Fatal(err)
			}
			roChown(t, link, nobodyUID)
			fx.db = link
			fx.watch = append(fx.watch, links)
			fx.writeConfig(t)
		}, expect: expectHealthy},
		{name: "two hard links", build: func(t *testing.T, fx *roFixture) {
			fx.healthy(t, tpl.wal)
			if err := os.Link(fx.db, filepath.Join(fx.data, "other.db")); err != nil {
				t.Fatal(err)
			}
		}, expect: expectHardLinks},
	}
}

// --- what each scenario's commands must say ---

// readsDB reports whether c opens the configured database (all but config and init).
func readsDB(c roCommand) bool {
	return !strings.HasPrefix(c.name, "config ") && !strings.HasPrefix(c.name, "init ")
}

// reportsText reports whether c is a doctor that tells a database problem in its text (plain
// doctor on stdout, doctor --report in its file) rather than as the command's error.
func reportsText(c roCommand) bool { return c.name == "doctor" || c.name == "doctor --report" }

// doctorText is that text: plain doctor's stdout, or the file doctor --report wrote.
func doctorText(t *testing.T, fx *roFixture, c roCommand, r cliRun) string {
	t.Helper()
	if c.name != "doctor --report" {
		return r.out
	}
	b, err := os.ReadFile(fx.report)
	if err != nil {
		t.Errorf("no report: %v", err)
	}
	return string(b)
}

func expectHealthy(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	if r.code != 0 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
	}
	if c.name == "doctor --json" {
		d := parseDoctor(t, r)
		for _, ch := range d.Checks {
			if ch.Status == doctor.StatusFail || ch.Status == doctor.StatusError {
				t.Errorf("%s: %s: %s\n%s", ch.ID, ch.Status, ch.Summary, ch.Detail)
			}
		}
		expectCheck(t, d, doctor.IDStorageRoundTrip, doctor.StatusPass, "")
		expectCheck(t, d, doctor.IDSQLiteIntegrity, doctor.StatusPass, "")
	}
}

func expectHotJournal(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	recovery := regexp.MustCompile(`(?s)crashed in the middle of a write.*compozy migrate up.*compozy doctor --fix|(?s)crashed in the middle of a write.*compozy doctor --fix.*compozy migrate up`)
	switch {
	case c.name == "doctor --json":
		d := parseDoctor(t, r)
		f := expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusFail, "crashed in the middle of a write")
		if all := f.Summary + "\n" + f.Detail + "\n" + f.Fix.Text + "\n" + strings.Join(f.Fix.Commands, "\n"); !strings.Contains(all, "compozy migrate up") || !strings.Contains(all, "compozy doctor --fix") {
			t.Errorf("sqlite.file does not say how to recover: %+v", f)
		}
		var fails []string
		for _, ch := range d.Checks {
			if ch.Status == doctor.StatusFail || ch.Status == doctor.StatusError {
				fails = append(fails, ch.ID+": "+ch.Summary)
			}
		}
		if len(fails) != 1 {
			t.Errorf("want one FAIL (sqlite.file), got %d:\n%s", len(fails), strings.Join(fails, "\n"))
		}
		for _, id := range []string{doctor.IDMigrationsTable, doctor.IDMigrationsPending, doctor.IDMigrationsNewer, doctor.IDMigrationsDirty, doctor.IDSQLiteIntegrity} {
			expectCheck(t, d, id, doctor.StatusSkip, "")
		}
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
	case reportsText(c):
		if out := doctorText(t, fx, c, r); !strings.Contains(out, "crashed in the middle of a write") || strings.Contains(out, "readonly database") {
			t.Errorf("%s:\n%s", c.name, out)
		}
	case readsDB(c) && c.name != "doctor --fix --dry-run":
		if r.code == 0 {
			t.Errorf("exit 0 on a hot journal\n%s", r.out)
		}
		if !recovery.MatchString(r.errOut) || strings.Contains(r.errOut, "readonly database") {
			t.Errorf("the error does not say another process crashed mid-write and how to recover:\n%s", r.errOut)
		}
	}
}

func expectNoSHM(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	switch {
	case c.name == "doctor --json":
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusFail, "-wal file without its -shm")
		expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusSkip, "")
	case c.name == "doctor --report":
		if out := doctorText(t, fx, c, r); !strings.Contains(out, "-wal file without its -shm") {
			t.Errorf("the report does not name the missing -shm:\n%s", out)
		}
	case readsDB(c) && c.name != "doctor" && c.name != "doctor --fix --dry-run":
		if r.code == 0 || !strings.Contains(r.errOut, "-wal file but no -shm") {
			t.Errorf("exit %d; the error does not name the missing -shm:\n%s", r.code, r.errOut)
		}
	}
}

// expectSideOwner: run as root, SQLite would give the -wal/-shm/-journal of another owner to
// the database's owner as it opens them; the read is refused and says why.
func expectSideOwner(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	if u.name == roNobody.name {
		return // nobody may not read the other user's 0600 files: an error, and nothing changed
	}
	switch {
	case c.name == "doctor --json":
		d := parseDoctor(t, r)
		expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusFail, "another owner than the database")
		expectCheck(t, d, doctor.IDMigrationsPending, doctor.StatusSkip, "")
	case c.name == "doctor --report":
		if out := doctorText(t, fx, c, r); !strings.Contains(out, "another owner than the database") {
			t.Errorf("the report does not say why the database was not opened:\n%s", out)
		}
	case readsDB(c) && c.name != "doctor" && c.name != "doctor --fix --dry-run":
		if r.code == 0 || !strings.Contains(r.errOut, "another owner than the database") || !strings.Contains(r.errOut, "run this as the user Compozy runs as") {
			t.Errorf("exit %d; the error does not say why the database was not opened:\n%s", r.code, r.errOut)
		}
	}
}

func expect0400Nobody(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	if c.name == "doctor --json" {
		d := parseDoctor(t, r)
		// nobody may not write its own 0400 file; root may, but the service (nobody) may not.
		re := "the owner may not write compozy.db \\(mode 0400, owner nobody\\)"
		if u.name == roNobody.name {
			re = "nobody cannot write compozy.db \\(mode 0400"
		}
		expectCheck(t, d, doctor.IDSQLitePermissions, doctor.StatusFail, re)
		expectCheck(t, d, doctor.IDSQLiteIntegrity, doctor.StatusPass, "")
	}
	if s := sqlitefile.SideFiles(fx.db); s.WAL || s.SHM {
		t.Errorf("-wal/-shm beside the 0400 database: %+v", s)
	}
}

func expect0400Root(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	if u.name == roNobody.name && readsDB(c) && c.name != "doctor" && c.name != "doctor --json" && c.name != "doctor --fix --dry-run" && r.code == 0 {
		t.Errorf("nobody read a root-only 0400 database?\n%s", r.out)
	}
	if u.name == roNobody.name && c.name == "db backup" && !strings.Contains(r.errOut, "source") {
		t.Errorf("db backup does not blame the source:\n%s", r.errOut)
	}
	if u.name == roNobody.name && c.name == "doctor --json" {
		expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteFile, doctor.StatusFail, "not readable by nobody")
	}
}

func expectUnwritableFolder(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	readable := u.name != roNobody.name || roFileMode(t, fx.db)&0o004 != 0
	switch c.name {
	case "db backup", "db copy":
		if readable && r.code != 0 {
			t.Errorf("%s of a readable database in a folder this user cannot write: exit %d\n%s%s", c.name, r.code, r.out, r.errOut)
		}
		if !readable {
			if r.code == 0 {
				t.Errorf("nobody backed up a database it cannot read")
			}
			if !strings.Contains(r.errOut, "source") || strings.Contains(r.errOut, "target") {
				t.Errorf("the error does not blame the source:\n%s", r.errOut)
			}
		}
	case "doctor --json":
		d := parseDoctor(t, r)
		if u.name == roNobody.name {
			expectCheck(t, d, doctor.IDSQLiteFolder, doctor.StatusFail, "is not writable by nobody")
		}
	case "migrate status", "migrate version", "migrate up --dry-run":
		if readable && r.code != 0 {
			t.Errorf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
	}
}

func roFileMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func expectMissing(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	switch c.name {
	case "doctor --json":
		d := parseDoctor(t, r)
		if _, err := os.Stat(filepath.Dir(fx.db)); err != nil {
			expectCheck(t, d, doctor.IDSQLiteFolder, doctor.StatusWarn, "does not exist yet: compozy migrate up creates it")
		} else {
			expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusSkip, "does not exist yet: compozy migrate up creates it")
		}
	case "migrate status --check":
		if r.code != ExitPending || !strings.Contains(r.out, "does not exist yet") {
			t.Errorf("exit %d, want %d\n%s%s", r.code, ExitPending, r.out, r.errOut)
		}
	case "migrate up --dry-run", "migrate version", "migrate status":
		if r.code != 0 || !strings.Contains(r.out, "does not exist") {
			t.Errorf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
	case "migrate diff":
		if r.code != ExitUsage || !strings.Contains(r.errOut, "does not exist, so there is no schema to compare") {
			t.Errorf("exit %d, want %d\n%s%s", r.code, ExitUsage, r.out, r.errOut)
		}
	case "db backup", "db copy":
		if r.code == 0 || !strings.Contains(r.errOut, "does not exist") && !strings.Contains(r.errOut, "no such file") {
			t.Errorf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
	}
}

func expectDirectory(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	switch {
	case c.name == "doctor --json":
		expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteFile, doctor.StatusFail, "is a directory")
	case reportsText(c):
		if out := doctorText(t, fx, c, r); !strings.Contains(out, "is a directory") {
			t.Errorf("%s does not say it is a directory:\n%s", c.name, out)
		}
	case readsDB(c) && c.name != "doctor --fix --dry-run", c.name == "migrate up":
		if r.code == 0 || !strings.Contains(r.errOut, "is a directory") {
			t.Errorf("exit %d; the error does not say it is a directory:\n%s%s", r.code, r.out, r.errOut)
		}
	}
}

func expectHardLinks(t *testing.T, fx *roFixture, u roUser, c roCommand, r cliRun) {
	if c.name == "doctor --json" {
		expectCheck(t, parseDoctor(t, r), doctor.IDSQLiteFile, doctor.StatusFail, "hard links")
	}
}

// --- running the binary, and watching folders ---

// roRun runs the binary as u in dir with a bounded time.
func roRun(t *testing.T, bin, dir string, u roUser, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	r, err := execBin(ctx, bin, dir, binIn{env: []string{"HOME=/nonexistent", "NO_COLOR=1"}, cred: u.cred}, args...)
	if err != nil {
		t.Fatalf("%v as %s", err, u.name)
	}
	return r
}

// roSnapshot lists every entry under dirs: name, type and mode, owner, modification time, and
// for a file its size and sha256 (a symbolic link: its target). A folder that does not exist is
// listed as absent.
func roSnapshot(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p == dir && errors.Is(err, fs.ErrNotExist) {
					m[p] = "absent"
					return nil
				}
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			line := fi.Mode().String()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				line += fmt.Sprintf(" uid=%d gid=%d nlink=%d mtime=%d.%09d", st.Uid, st.Gid, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec)
			}
			switch {
			case fi.Mode().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
				line += fmt.Sprintf(" size=%d sha256=%s", fi.Size(), hex.EncodeToString(h.Sum(nil)))
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				line += " -> " + target
			}
			m[p] = line
			return nil
		})
		if err != nil {
			t.Fatalf("list %s: %v", dir, err)
		}
	}
	return m
}

// roDiff describes what differs between two snapshots, "" when nothing does.
func roDiff(before, after map[string]string) string {
	var lines []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			lines = append(lines, "  removed "+p+" ("+b+")")
		case a != b:
			lines = append(lines, "  changed "+p+"\n    before "+b+"\n    after  "+a)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			lines = append(lines, "  created "+p+" ("+a+")")
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// --- helper processes: a live writer, and writers killed mid-write ---

const roHelperEnv = "COMPOZY_RO_HELPER"

// TestReadOnlyHelper is not a test: TestReadOnlyMatrix runs the test binary with it as another
// process that writes to a database and then holds it open (live-wal), holds a rollback-mode
// transaction open (live-rollback), or is killed with
// SIGKILL while it holds a committed WAL (crash-wal) or in the middle of a rollback-mode
// transaction whose journal it has synced and whose pages it has started writing
// (crash-rollback). It prints "ready" when the state is in place and then waits for its
// standard input to close.
func TestReadOnlyHelper(t *testing.T) {
	t.Parallel()
	mode := os.Getenv(roHelperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	path := os.Getenv(roHelperEnv + "_DB")
	ctx := context.Background()
	q := "file:" + path + "?_pragma=busy_timeout(10000)"
	if mode == "crash-rollback" || mode == "live-rollback" {
		q += "&_pragma=journal_mode(DELETE)"
	} else {
		q += "&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)"
	}
	db, err := sql.Open("sqlite", q)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	switch mode {
	case "live-wal", "crash-wal":
		exec("INSERT INTO users (id, email, role) VALUES (?, ?, 'user')", mode, mode+"@example.com")
	case "crash-rollback":
		// A page cache of a few pages makes the transaction spill: SQLite syncs the journal
		// (its header gets the magic that makes it hot) and writes changed pages into the
		// database before the commit that never comes.
		exec("CREATE TABLE filler (x BLOB)")
		exec("INSERT INTO filler SELECT randomblob(1000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) SELECT i FROM n)")
		exec("PRAGMA cache_size=2")
		exec("BEGIN")
		exec("UPDATE filler SET x = randomblob(1000)")
		exec("INSERT INTO users (id, email, role) VALUES ('crashed', 'crashed@example.com', 'user')")
	case "live-rollback":
		// The RESERVED lock and a -journal, held: readers read the last commit meanwhile.
		exec("BEGIN IMMEDIATE")
		exec("INSERT INTO users (id, email, role) VALUES ('pending', 'pending@example.com', 'user')")
	default:
		t.Fatalf("unknown helper mode %q", mode)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = conn.Close()
	_ = db.Close()
}

// startROHelper starts the helper in mode on db and waits until it is ready; it runs until the
// test ends (its standard input closes).
func startROHelper(t *testing.T, db, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadOnlyHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), roHelperEnv+"="+mode, roHelperEnv+"_DB="+db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { stdin.Close(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		stop()
		t.Fatalf("helper %s: %q %v\n%s", mode, line, err, stderr.String())
	}
	return cmd
}

// crashROHelper runs the helper in mode and kills it with SIGKILL once it is ready: a writer
// that crashed.
func crashROHelper(t *testing.T, db, mode string) {
	t.Helper()
	cmd := startROHelper(t, db, mode)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

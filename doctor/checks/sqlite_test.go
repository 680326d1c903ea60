package checks

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
)

// busyErr is a real SQLITE_BUSY, made through the one door: a second writer that does not wait
// (busy_timeout 0) while the first holds the write lock.
func busyErr(t *testing.T) error {
	t.Helper()
	ctx := t.Context()
	db := config.DefaultDatabase()
	db.Driver, db.Path = config.DriverSQLite, filepath.Join(t.TempDir(), "busy.db")
	first, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	conn, err := first.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
	db.BusyTimeout = 0
	second, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		if factory.IsBusy(err) {
			return err
		}
		t.Fatal(err)
	}
	defer second.Close()
	_, err = second.SQL.ExecContext(ctx, "CREATE TABLE x (a)")
	if !factory.IsBusy(err) {
		t.Fatalf("want SQLITE_BUSY, got %v", err)
	}
	return err
}

func TestSQLiteMemoryWarns(t *testing.T) {
	db := sqliteDB()
	db.Path = config.MemoryPath
	s := testSet(t, db, Inputs{}, &fakeConn{}, nil)
	cs := s.sqliteChecks()
	if len(cs) != 1 {
		t.Fatalf("%d checks for :memory:, want sqlite.memory only", len(cs))
	}
	runCheck(t, cs, doctor.IDSQLiteMemory, want{doctor.StatusWarn, "lost when compozy exits"})
}

// TestSQLiteHealthyPasses: the fakes' healthy setup passes every SQLite check, so each branch
// test below changes one thing only.
func TestSQLiteHealthyPasses(t *testing.T) {
	cs := testSet(t, sqliteDB(), Inputs{}, &fakeConn{}, nil).sqliteChecks()
	for _, c := range cs {
		runCheck(t, cs, c.ID, want{doctor.StatusPass, ""})
	}
}

func TestSQLiteFolder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ff *fakeFiles)
		want   want
	}{
		{"missing, parent is a file", func(ff *fakeFiles) {
			delete(ff.files, testDir)
			ff.files["/srv/compozy"] = &fakeFile{perm: 0o600}
		}, want{doctor.StatusFail, `does not exist, and cannot be created: /srv/compozy is not a folder`}},
		{"missing, parent not writable", func(ff *fakeFiles) {
			delete(ff.files, testDir)
			ff.files["/srv/compozy"].denied = unix.W_OK
		}, want{doctor.StatusFail, `does not exist, and svc may not create it in /srv/compozy\n.*permission denied \(owner user1000, mode 0750\)`}},
		{"missing, migrate up creates it", func(ff *fakeFiles) {
			for p := range ff.files {
				if strings.HasPrefix(p, testDir) {
					delete(ff.files, p)
				}
			}
		}, want{doctor.StatusWarn, `does not exist yet: compozy migrate up creates it`}},
		{"unreachable", func(ff *fakeFiles) { ff.files[testDir].statErr = syscall.EACCES },
			want{doctor.StatusFail, `cannot reach folder .*\npermission denied`}},
		{"not a folder", func(ff *fakeFiles) { ff.files[testDir] = &fakeFile{perm: 0o600} },
			want{doctor.StatusFail, `is not a folder`}},
		{"not writable", func(ff *fakeFiles) { ff.files[testDir].denied = unix.W_OK },
			want{doctor.StatusFail, `not writable by svc\n.*-wal and -shm`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			tc.change(ff)
			cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
			r := runCheck(t, cs, doctor.IDSQLiteFolder, tc.want)
			if tc.name == "missing, migrate up creates it" && (!r.Fixable || commands(r) != "compozy migrate up") {
				t.Errorf("fixable %v, commands %q", r.Fixable, commands(r))
			}
		})
	}
}

func TestSQLiteFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(ff *fakeFiles)
		openErr error
		want    want
	}{
		{"missing, nothing left", func(ff *fakeFiles) {
			delete(ff.files, testPath)
			delete(ff.files, testPath+"-wal")
			delete(ff.files, testPath+"-shm")
		}, nil, want{doctor.StatusSkip, `does not exist yet: compozy migrate up creates it`}},
		{"missing, its -wal left", func(ff *fakeFiles) { delete(ff.files, testPath) }, nil,
			want{doctor.StatusFail, `does not exist, but its folder holds compozy.db-wal, compozy.db-shm\n.*wrong file`}},
		{"missing, another database beside it", func(ff *fakeFiles) {
			delete(ff.files, testPath)
			delete(ff.files, testPath+"-wal")
			delete(ff.files, testPath+"-shm")
			ff.files[testDir+"/old.db"] = &fakeFile{perm: 0o600, size: 4096}
		}, nil, want{doctor.StatusFail, `folder holds another SQLite database \(old.db\)`}},
		{"unreachable", func(ff *fakeFiles) { ff.files[testPath].statErr = syscall.EACCES }, nil,
			want{doctor.StatusFail, `cannot reach .*\npermission denied`}},
		{"a folder", func(ff *fakeFiles) { ff.files[testPath] = &fakeFile{dir: true, perm: 0o750} }, nil,
			want{doctor.StatusFail, `is a directory, not a database file`}},
		{"not a regular file", func(ff *fakeFiles) { ff.files[testPath] = &fakeFile{other: true, perm: 0o600} }, nil,
			want{doctor.StatusFail, `is not a regular file`}},
		{"unreadable", func(ff *fakeFiles) {
			ff.files[testPath].headerErr = &fs.PathError{Op: "open", Path: testPath, Err: fs.ErrPermission}
		}, nil,
			want{doctor.StatusFail, `is not readable by svc\nowner user1000, mode 0600`}},
		{"not SQLite", func(ff *fakeFiles) {
			ff.files[testPath].headerErr = fmt.Errorf("%s %w", testPath, sqlitefile.ErrNotSQLite)
		}, nil,
			want{doctor.StatusFail, `is not a SQLite database`}},
		{"truncated", func(ff *fakeFiles) {
			ff.files[testPath].headerErr = fmt.Errorf("%s %w", testPath, sqlitefile.ErrTruncated)
		}, nil,
			want{doctor.StatusFail, `is truncated`}},
		{"header unreadable", func(ff *fakeFiles) { ff.files[testPath].headerErr = &fs.PathError{Op: "read", Err: syscall.EIO} }, nil,
			want{doctor.StatusFail, `cannot read .*\ninput/output error`}},
		{"hard links", func(ff *fakeFiles) { ff.files[testPath].links = 2 }, nil,
			want{doctor.StatusFail, `has 2 names \(hard links\)`}},
		{"empty", func(ff *fakeFiles) { ff.files[testPath].size = 0 }, nil,
			want{doctor.StatusWarn, `is empty \(no schema yet\)`}},
		{"only a -wal holds the data", func(ff *fakeFiles) { ff.files[testPath+"-wal"].size = 2 << 20 }, fmt.Errorf("open: %w", sqlitefile.ErrWALOnly),
			want{doctor.StatusFail, `its -wal holds 2.0 MB: the database file was truncated or replaced`}},
		{"hot journal", nil, fmt.Errorf("open: %w", factory.ErrHotJournal),
			want{doctor.StatusFail, `left a hot rollback journal`}},
		{"-wal without -shm", nil, fmt.Errorf("open: %w", factory.ErrNeedsSHM),
			want{doctor.StatusFail, `has a -wal file without its -shm file`}},
		{"side files of another owner, as root", nil, fmt.Errorf("open: %w", factory.ErrSideOwner),
			want{doctor.StatusFail, `have another owner than the database, and the doctor runs as root`}},
		{"other open failure", nil, errors.New("disk I/O error"),
			want{doctor.StatusFail, `cannot open .* read-only\ndisk I/O error`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			if tc.change != nil {
				tc.change(ff)
			}
			cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, tc.openErr).sqliteChecks()
			r := runCheck(t, cs, doctor.IDSQLiteFile, tc.want)
			if errors.Is(tc.openErr, factory.ErrHotJournal) || errors.Is(tc.openErr, factory.ErrNeedsSHM) {
				if !r.Fixable || !strings.Contains(commands(r), "compozy doctor --fix") {
					t.Errorf("fixable %v, commands %q", r.Fixable, commands(r))
				}
			}
		})
	}
	t.Run("locked", func(t *testing.T) {
		cs := testSet(t, sqliteDB(), Inputs{}, &fakeConn{}, busyErr(t)).sqliteChecks()
		runCheck(t, cs, doctor.IDSQLiteFile, want{doctor.StatusWarn, `locked by another process`})
	})
}

func TestSQLitePermissions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ff *fakeFiles)
		want   want
		fix    bool
	}{
		{"cannot stat", func(ff *fakeFiles) { ff.files[testPath].statErr = syscall.EACCES },
			want{doctor.StatusFail, `cannot stat`}, false},
		{"this user cannot write", func(ff *fakeFiles) { ff.files[testPath+"-shm"].denied = unix.W_OK },
			want{doctor.StatusFail, `svc cannot write compozy.db-shm \(mode 0600, owner user1000\)`}, false},
		{"the owner cannot write", func(ff *fakeFiles) { ff.files[testPath].perm = 0o400 },
			want{doctor.StatusFail, `the owner may not write compozy.db \(mode 0400, owner user1000\)`}, true},
		{"others may read", func(ff *fakeFiles) { ff.files[testPath].perm = 0o644 },
			want{doctor.StatusWarn, `mode 0644 lets others read the workflow data`}, true},
		{"its group may read", func(ff *fakeFiles) { ff.files[testPath].perm = 0o640 },
			want{doctor.StatusWarn, `mode 0640 lets its group read`}, true},
		{"another owner", func(ff *fakeFiles) {
			for _, sfx := range []string{"", "-wal", "-shm"} {
				ff.files[testPath+sfx].uid = 2000
			}
		}, want{doctor.StatusWarn, `owned by user2000, but compozy runs as svc here`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			tc.change(ff)
			cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
			if r := runCheck(t, cs, doctor.IDSQLitePermissions, tc.want); r.Fixable != tc.fix {
				t.Errorf("fixable %v, want %v", r.Fixable, tc.fix)
			}
		})
	}
	t.Run("root owns a read-only file", func(t *testing.T) {
		ff := newFiles()
		ff.files[testPath].perm, ff.files[testPath].uid = 0o400, 0
		ff.user, ff.uid = "root", 0
		cs := testSet(t, sqliteDB(), Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks()
		runCheck(t, cs, doctor.IDSQLitePermissions, want{doctor.StatusPass, `mode 0400`})
	})
}

func TestSQLiteFilesystemAndDisk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		vol     Volume
		volErr  error
		journal string
		id      string
		want    want
	}{
		{"statfs fails", Volume{}, syscall.EIO, "wal", doctor.IDSQLiteFilesystem, want{doctor.StatusFail, `cannot read the filesystem`}},
		{"read-only mount", Volume{Name: "ext4", ReadOnly: true, Free: 70 << 30}, nil, "wal", doctor.IDSQLiteFilesystem, want{doctor.StatusFail, `read-only ext4 mount`}},
		{"NFS with WAL", Volume{Name: "NFS", Kind: fsNetwork, Free: 70 << 30}, nil, "wal", doctor.IDSQLiteFilesystem, want{doctor.StatusFail, `on NFS: WAL is unsafe`}},
		{"overlay", Volume{Name: "overlay", Kind: fsVirtual, Free: 70 << 30}, nil, "wal", doctor.IDSQLiteFilesystem, want{doctor.StatusWarn, `on overlay: WAL and locks may not work`}},
		{"tmpfs", Volume{Name: "tmpfs", Kind: fsMemory, Free: 70 << 30}, nil, "wal", doctor.IDSQLiteFilesystem, want{doctor.StatusWarn, `on tmpfs: a reboot erases the database`}},
		{"statfs fails (disk)", Volume{}, syscall.EIO, "wal", doctor.IDSQLiteDisk, want{doctor.StatusFail, `cannot read free space`}},
		{"less than twice the database", Volume{Name: "ext4", Free: 32 << 20}, nil, "wal", doctor.IDSQLiteDisk, want{doctor.StatusFail, `32.0 MB free on the volume; the database and WAL take 120 KB`}},
		{"under a gigabyte", Volume{Name: "ext4", Free: 512 << 20}, nil, "wal", doctor.IDSQLiteDisk, want{doctor.StatusWarn, `only 512.0 MB free`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			ff.vol, ff.volErr = tc.vol, tc.volErr
			db := sqliteDB()
			db.JournalMode = tc.journal
			runCheck(t, testSet(t, db, Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks(), tc.id, tc.want)
		})
	}
	t.Run("NFS with a rollback journal", func(t *testing.T) {
		ff := newFiles()
		ff.vol = Volume{Name: "NFS", Kind: fsNetwork, Free: 70 << 30}
		ff.files[testPath].header.WAL = false
		db := sqliteDB()
		db.JournalMode = "delete"
		runCheck(t, testSet(t, db, Inputs{Files: ff}, &fakeConn{}, nil).sqliteChecks(), doctor.IDSQLiteFilesystem,
			want{doctor.StatusWarn, `on NFS: locking is unreliable`})
	})
}

func TestSQLiteJournalMode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		headerWAL bool
		size      int64
		headerErr error
		pragma    string
		pragmaErr error
		openErr   error
		config    string
		want      want
	}{
		{name: "header unreadable", headerWAL: true, headerErr: syscall.EIO, config: "wal", want: want{doctor.StatusFail, `cannot read the header`}},
		{name: "empty file", headerWAL: false, size: -1, config: "wal", want: want{doctor.StatusSkip, `the database is empty`}},
		{name: "no connection", headerWAL: true, openErr: errors.New("boom"), config: "wal", want: want{doctor.StatusSkip, `cannot open the database read-only`}},
		{name: "pragma fails", headerWAL: true, pragmaErr: errors.New("disk I/O error"), config: "wal", want: want{doctor.StatusFail, `journal_mode failed`}},
		{name: "rollback journal", headerWAL: false, pragma: "delete", config: "wal",
			want: want{doctor.StatusWarn, `rollback journal \(journal_mode=delete\), not WAL\n.*read back from the read-only connection`}},
		{name: "truncate journal, configured so", headerWAL: false, pragma: "truncate", config: "truncate",
			want: want{doctor.StatusWarn, `journal_mode=truncate`}},
		{name: "WAL file, configured otherwise", headerWAL: true, pragma: "wal", config: "delete",
			want: want{doctor.StatusWarn, `the file is in WAL mode, but database.journal_mode is delete`}},
		{name: "immutable read of a WAL file", headerWAL: true, pragma: "delete", config: "wal",
			want: want{doctor.StatusPass, `^wal\nfrom the file header: .*immutable.*reports journal_mode delete`}},
		{name: "WAL read back", headerWAL: true, pragma: "wal", config: "wal",
			want: want{doctor.StatusPass, `^wal\nread back from the read-only connection`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			f := ff.files[testPath]
			f.header.WAL, f.headerErr = tc.headerWAL, tc.headerErr
			if tc.size < 0 {
				f.size = 0
			}
			conn := &fakeConn{pragmaErr: tc.pragmaErr, pragmas: map[string]string{"journal_mode": tc.pragma}}
			db := sqliteDB()
			db.JournalMode = tc.config
			r := runCheck(t, testSet(t, db, Inputs{Files: ff}, conn, tc.openErr).sqliteChecks(), doctor.IDSQLiteJournal, tc.want)
			if r.Status == doctor.StatusWarn && strings.Contains(r.Summary, "rollback") {
				if !r.Fixable || !strings.Contains(commands(r), "PRAGMA journal_mode=WAL") {
					t.Errorf("fixable %v, commands %q", r.Fixable, commands(r))
				}
				if set := strings.Contains(r.Fix.Text, "set database.journal_mode: wal"); set != (tc.config != "wal") {
					t.Errorf("fix %q (config %s)", r.Fix.Text, tc.config)
				}
			}
		})
	}
}

// TestSQLiteBusyTimeout: the value is read back from the connection; 0 is SQLite's 0, a wait
// of nothing, which the driver now applies as it is.
func TestSQLiteBusyTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pragma  string
		openErr error
		config  time.Duration
		want    want
	}{
		{"0 read back", "0", nil, 5 * time.Second, want{doctor.StatusWarn, `busy_timeout is 0: every lock wait fails at once.*\nread back from the read-only connection`}},
		{"under a second", "250", nil, 5 * time.Second, want{doctor.StatusWarn, `busy_timeout is only 250ms`}},
		{"not a number", "soon", nil, 5 * time.Second, want{doctor.StatusFail, `busy_timeout failed\n.*not a number of milliseconds`}},
		{"no connection, 0 configured", "", errors.New("no file"), 0, want{doctor.StatusWarn, `busy_timeout is 0.*\nfrom database.busy_timeout: no connection`}},
		{"read back", "5000", nil, 0, want{doctor.StatusPass, `^5s\nread back`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqliteDB()
			db.BusyTimeout = tc.config
			conn := &fakeConn{pragmas: map[string]string{"busy_timeout": tc.pragma}}
			runCheck(t, testSet(t, db, Inputs{}, conn, tc.openErr).sqliteChecks(), doctor.IDSQLiteBusy, tc.want)
		})
	}
	t.Run("locked", func(t *testing.T) {
		conn := &fakeConn{pragmaErr: busyErr(t)}
		runCheck(t, testSet(t, sqliteDB(), Inputs{}, conn, nil).sqliteChecks(), doctor.IDSQLiteBusy,
			want{doctor.StatusWarn, `busy_timeout: the database is locked by another process`})
	})
}

func TestSQLiteSynchronous(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pragma    string
		pragmaErr error
		openErr   error
		config    string
		want      want
	}{
		{"off read back", "0", nil, nil, "normal", want{doctor.StatusWarn, `synchronous is off: a crash or power loss can corrupt.*\nread back`}},
		{"off configured, no connection", "", nil, errors.New("no file"), "off", want{doctor.StatusWarn, `synchronous is off.*\nfrom database.synchronous`}},
		{"0 configured, no connection", "", nil, errors.New("no file"), "0", want{doctor.StatusWarn, `synchronous is off`}},
		{"out of range", "7", nil, nil, "normal", want{doctor.StatusFail, `synchronous failed\n.*not 0-3`}},
		{"damaged", "", sqliteCorrupt(t), nil, "normal", want{doctor.StatusFail, `synchronous: the database is damaged`}},
		{"the words alone are no damage", "", errors.New("file is not a database"), nil, "normal", want{doctor.StatusFail, `synchronous failed`}},
		{"full read back", "2", nil, nil, "normal", want{doctor.StatusPass, `^full\nread back`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqliteDB()
			db.Synchronous = tc.config
			conn := &fakeConn{pragmaErr: tc.pragmaErr, pragmas: map[string]string{"synchronous": tc.pragma}}
			runCheck(t, testSet(t, db, Inputs{}, conn, tc.openErr).sqliteChecks(), doctor.IDSQLiteSynchronous, tc.want)
		})
	}
}

func TestSQLiteIntegrity(t *testing.T) {
	damage := []string{"*** in database main ***", "Page 5: btreeInitPage() returns error code 11"}
	for _, tc := range []struct {
		name    string
		empty   bool
		openErr error
		conn    *fakeConn
		want    want
	}{
		{"empty", true, nil, &fakeConn{}, want{doctor.StatusSkip, `the database is empty`}},
		{"no connection", false, errors.New("boom"), &fakeConn{}, want{doctor.StatusSkip, `cannot open the database read-only`}},
		{"damage", false, nil, &fakeConn{quick: damage}, want{doctor.StatusFail, `quick_check found damage\n\*\*\* in database main`}},
		{"changed while checked", false, nil, &fakeConn{quick: damage, changed: errors.New("changed")}, want{doctor.StatusWarn, `another process wrote to the database while it was checked`}},
		{"error while changed", false, nil, &fakeConn{quickErr: sqliteCorrupt(t), changed: errors.New("changed")}, want{doctor.StatusWarn, `another process wrote`}},
		{"malformed", false, nil, &fakeConn{quickErr: sqliteCorrupt(t)}, want{doctor.StatusFail, `quick_check: the database is damaged`}},
		{"other error", false, nil, &fakeConn{quickErr: errors.New("interrupted")}, want{doctor.StatusFail, `quick_check failed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			if tc.empty {
				ff.files[testPath].size = 0
			}
			r := runCheck(t, testSet(t, sqliteDB(), Inputs{Files: ff}, tc.conn, tc.openErr).sqliteChecks(), doctor.IDSQLiteIntegrity, tc.want)
			if tc.name == "damage" && !strings.Contains(commands(r), ".recover") {
				t.Errorf("commands %q", commands(r))
			}
		})
	}
}

func TestSQLiteSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f, wal *fakeFile)
		conn   *fakeConn
		want   want
	}{
		{"header unreadable", func(f, _ *fakeFile) { f.headerErr = syscall.EIO }, nil, want{doctor.StatusFail, `cannot read the header`}},
		{"free pages, but under 64 MB", func(f, _ *fakeFile) {
			f.size, f.header.FreePages = 40<<20, 3000
		}, nil, want{doctor.StatusPass, `^40.0 MB, 11.7 MB in free pages\n$`}},
		{"free pages, but under a quarter", func(f, _ *fakeFile) {
			f.size, f.header.FreePages = 1<<30, 40000 // 156 MB of 1 GB
		}, nil, want{doctor.StatusPass, `^1.0 GB, 156.2 MB in free pages\n$`}},
		{"free pages above 64 MB and a quarter", func(f, _ *fakeFile) {
			f.size, f.header.FreePages = 400<<20, 30000 // 117 MB of 400 MB
		}, nil, want{doctor.StatusWarn, `^400.0 MB, 117.2 MB in free pages: 29% of the file is free pages, which compozy db vacuum gives back\n30000 of 102400 pages are free`}},
		// The header is as of the last checkpoint: the connection, which reads the WAL too,
		// has the last word.
		{"free pages the WAL knows of", func(f, _ *fakeFile) { f.size = 400 << 20 },
			&fakeConn{pragmas: map[string]string{"page_count": "102400", "freelist_count": "30000"}},
			want{doctor.StatusWarn, `117.2 MB in free pages: 29%`}},
		{"large WAL", func(_, wal *fakeFile) { wal.size = 300 << 20 }, nil, want{doctor.StatusWarn, `WAL 300.0 MB: the WAL is large`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			tc.change(ff.files[testPath], ff.files[testPath+"-wal"])
			conn := tc.conn
			if conn == nil {
				conn = &fakeConn{}
			}
			r := runCheck(t, testSet(t, sqliteDB(), Inputs{Files: ff}, conn, nil).sqliteChecks(), doctor.IDSQLiteSize, tc.want)
			if r.Status == doctor.StatusWarn && strings.Contains(r.Summary, "free pages:") && commands(r) != "compozy db vacuum" {
				t.Errorf("fix commands %q, want compozy db vacuum", commands(r))
			}
		})
	}
}

// TestSQLiteSizePinnedWAL: a WAL that a reader keeps from being checkpointed is named with the
// reader, from the read marks /proc/locks shows; a WAL file that is large but mostly reused
// space, or one nobody holds, is not blamed on anyone.
func TestSQLiteSizePinnedWAL(t *testing.T) {
	reader := LockHolders{Open: []string{"PID 4242 (sqlite3 compozy.db)"}, Readers: []string{"PID 4242 (sqlite3 compozy.db)"}}
	inUse := func(mb int64) *sqlitefile.WALIndex {
		return &sqlitefile.WALIndex{PageSize: 4096, Frames: mb << 20 / 4120, Backfilled: 10}
	}
	for _, tc := range []struct {
		name  string
		wal   int64
		index *sqlitefile.WALIndex
		locks fakeLocks
		want  want
	}{
		{"pinned", 80 << 20, inUse(80), fakeLocks{h: reader},
			want{doctor.StatusWarn, `WAL 80.0 MB: 80.0 MB of the WAL cannot be checkpointed while PID 4242 \(sqlite3 compozy.db\) keeps a read transaction open\nin a read transaction: PID 4242 \(sqlite3 compozy.db\)\nWAL in use: 20360 frames, 10 of them copied`}},
		{"pinned, no -shm to read", 80 << 20, nil, fakeLocks{h: reader}, want{doctor.StatusWarn, `keeps a read transaction open\n.*\nWAL in use: the -wal file's size`}},
		{"large file, little in use", 80 << 20, inUse(1), fakeLocks{h: reader}, want{doctor.StatusPass, `WAL 80.0 MB\n$`}},
		{"no reader", 80 << 20, inUse(80), fakeLocks{h: LockHolders{Open: reader.Open}}, want{doctor.StatusPass, `WAL 80.0 MB\n$`}},
		{"readers unknown", 80 << 20, inUse(80), fakeLocks{err: errors.New("cannot read /proc/locks")}, want{doctor.StatusPass, `WAL 80.0 MB\n$`}},
		{"small WAL with a reader", 8 << 20, inUse(8), fakeLocks{h: reader}, want{doctor.StatusPass, `WAL 8.0 MB\n$`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			ff.files[testPath+"-wal"].size = tc.wal
			ff.walIndex = tc.index
			runCheck(t, testSet(t, sqliteDB(), Inputs{Files: ff, Locks: tc.locks}, &fakeConn{}, nil).sqliteChecks(), doctor.IDSQLiteSize, tc.want)
		})
	}
}

// TestSQLiteIntegrityBySize: the default run leaves quick_check to --deep above the limit,
// saying the size and the time it would take; --deep runs it at any size, unbounded by the
// default per-check timeout, and reports its progress.
func TestSQLiteIntegrityBySize(t *testing.T) {
	const limit = 1 << 20
	for _, tc := range []struct {
		name string
		size int64
		deep bool
		want want
	}{
		{"small, default run", limit - 4096, false, want{doctor.StatusPass, `ok \(quick_check read every page of 1020 KB\)`}},
		{"large, default run", 2 << 30, false, want{doctor.StatusSkip, `^skipped: reading all 2.0 GB would take about \d+(\.\d)?s \(the default run checks databases up to 1.0 MB\); run compozy doctor --deep`}},
		{"large, --deep", 2 << 30, true, want{doctor.StatusPass, `ok \(quick_check read every page of 2.0 GB\)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ff := newFiles()
			ff.files[testPath].size = tc.size
			conn := &fakeConn{}
			cs := testSet(t, sqliteDB(), Inputs{Files: ff, Deep: tc.deep, QuickCheckLimit: limit}, conn, nil).sqliteChecks()
			runCheck(t, cs, doctor.IDSQLiteIntegrity, tc.want)
			if ran := conn.quickCalls > 0; ran == (tc.want.status == doctor.StatusSkip) {
				t.Errorf("quick_check ran: %v", ran)
			}
			for _, c := range cs {
				if c.ID == doctor.IDSQLiteIntegrity && c.Unbounded != tc.deep {
					t.Errorf("Unbounded %v with deep %v", c.Unbounded, tc.deep)
				}
			}
		})
	}

	// --deep's progress reaches the runner's listener.
	ff := newFiles()
	ff.files[testPath].size = 2 << 30
	cs := testSet(t, sqliteDB(), Inputs{Files: ff, Deep: true}, &fakeConn{}, nil).sqliteChecks()
	var progress []string
	for _, c := range cs {
		if c.ID == doctor.IDSQLiteIntegrity {
			doctor.Run(t.Context(), []doctor.Check{c}, doctor.RunOptions{OnProgress: func(i int, text string) { progress = append(progress, text) }})
		}
	}
	if len(progress) == 0 || !strings.HasPrefix(progress[0], "quick_check of 2.0 GB: 0s of about ") {
		t.Errorf("progress %q", progress)
	}
}

func TestQuickCheckProgress(t *testing.T) {
	size := int64(quickCheckRate) * 3 // three seconds' worth
	for _, tc := range []struct {
		elapsed time.Duration
		want    string
	}{
		{0, "quick_check of 960.0 MB: 0s of about 3s"},
		{1234 * time.Millisecond, "quick_check of 960.0 MB: 1.2s of about 3s"},
		{4 * time.Second, "quick_check of 960.0 MB: 4s (estimated 3s)"},
	} {
		if got := quickCheckProgress(size, tc.elapsed); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.elapsed, got, tc.want)
		}
	}
}

func TestSQLiteLock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		locks fakeLocks
		want  want
	}{
		{"no /proc/locks", fakeLocks{err: errors.New("cannot read /proc/locks: permission denied")}, want{doctor.StatusSkip, `skipped: cannot read /proc/locks`}},
		{"a writer", fakeLocks{h: LockHolders{Writers: []string{"PID 42 (sqlite3 compozy.db)", "PID 42 (sqlite3 compozy.db)"}, Open: []string{"PID 7 (compozy)"}}},
			want{doctor.StatusWarn, `another process holds the write lock: PID 42 \(sqlite3 compozy.db\)\nwriters: PID 42 \(sqlite3 compozy.db\)\nopen by: PID 7 \(compozy\)$`}},
		{"a migration", fakeLocks{h: LockHolders{Migrators: []string{"PID 9 (compozy migrate up)"}}},
			want{doctor.StatusWarn, `a migration is running: PID 9 \(compozy migrate up\) holds .*compozy.db.migrate.lock`}},
		{"readers only", fakeLocks{h: LockHolders{Open: []string{"PID 7", "PID 8"}}}, want{doctor.StatusPass, `no writer; 2 other process\(es\) have it open`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCheck(t, testSet(t, sqliteDB(), Inputs{Locks: tc.locks}, &fakeConn{}, nil).sqliteChecks(), doctor.IDSQLiteLock, tc.want)
		})
	}
}

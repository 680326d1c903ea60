package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
)

// The fakes of this file stand in for what Build's Inputs hand the checks, so that every
// branch of a check can be reached without a broken database, a full disk or a server.

// fakeConn is Conn with canned answers; a zero field answers as a healthy database would.
type fakeConn struct {
	pragmas   map[string]string
	pragmaErr error
	quick     []string
	quickErr  error
	// quickCalls counts the QuickCheck calls.
	quickCalls int
	// changed is what Unchanged returns: another process wrote meanwhile.
	changed error

	show    map[string]string
	showErr error
	// showErrs fails SHOW of the settings it names (one setting, where showErr fails all).
	showErrs    map[string]error
	recovery    bool
	recoveryErr error
	priv        Privileges
	privErr     error
	backends    int
	backendsErr error
	clock       time.Time
	clockErr    error
	roundErr    error

	check      *migrate.CheckResult
	checkErr   error
	missing    []string
	missingErr error
	mark       CopyMark
	markErr    error
	copyTo     string
	copyToPG   bool
}

var _ Conn = (*fakeConn)(nil)

func (c *fakeConn) Pragma(_ context.Context, name string) (string, error) {
	if c.pragmaErr != nil {
		return "", c.pragmaErr
	}
	if v, ok := c.pragmas[name]; ok {
		return v, nil
	}
	return map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "synchronous": "1"}[name], nil
}

func (c *fakeConn) QuickCheck(context.Context, int) ([]string, error) {
	c.quickCalls++
	if c.quick == nil && c.quickErr == nil {
		return []string{"ok"}, nil
	}
	return c.quick, c.quickErr
}

func (c *fakeConn) Unchanged() error { return c.changed }

func (c *fakeConn) Show(_ context.Context, name string) (string, error) {
	if c.showErr != nil {
		return "", c.showErr
	}
	if err := c.showErrs[name]; err != nil {
		return "", err
	}
	if v, ok := c.show[name]; ok {
		return v, nil
	}
	return map[string]string{"server_version_num": "160004", "server_version": "16.4", "default_transaction_read_only": "off",
		"max_connections": "100", "superuser_reserved_connections": "3"}[name], nil
}

func (c *fakeConn) InRecovery(context.Context) (bool, error) { return c.recovery, c.recoveryErr }

func (c *fakeConn) Privileges(context.Context) (Privileges, error) {
	if c.priv == (Privileges{}) && c.privErr == nil {
		return Privileges{Schema: "public", Role: "compozy", CanCreate: true, Migrated: true}, nil
	}
	return c.priv, c.privErr
}

func (c *fakeConn) ClientBackends(context.Context) (int, error) { return c.backends, c.backendsErr }

func (c *fakeConn) Clock(context.Context) (time.Time, error) {
	if c.clock.IsZero() && c.clockErr == nil {
		return time.Now(), nil
	}
	return c.clock, c.clockErr
}

func (c *fakeConn) RoundTrip(context.Context) error { return c.roundErr }

func (c *fakeConn) Check(context.Context) (*migrate.CheckResult, error) {
	if c.check == nil && c.checkErr == nil {
		return &migrate.CheckResult{Versions: migrate.Versions{Current: 3, Latest: 3}}, nil
	}
	return c.check, c.checkErr
}

func (c *fakeConn) MissingTables(context.Context, []string) ([]string, error) {
	return c.missing, c.missingErr
}

func (c *fakeConn) CopyMark(context.Context) (CopyMark, error) { return c.mark, c.markErr }

func (c *fakeConn) CopyTarget() (string, bool) {
	if c.copyTo == "" {
		return "/data/compozy.db", c.copyToPG
	}
	return c.copyTo, c.copyToPG
}

// fakeFile is one file or folder of fakeFiles.
type fakeFile struct {
	dir   bool
	other bool // neither a file nor a folder (a socket)
	perm  fs.FileMode
	size  int64
	uid   int
	links uint64
	// header is what Header returns for the file (Size is taken from size when 0).
	header    sqlitefile.Header
	headerErr error
	statErr   error
	// denied are the access bits (unix.R_OK, W_OK, X_OK) this user lacks.
	denied uint32
}

// fakeFiles is Files over a map of paths.
type fakeFiles struct {
	files  map[string]*fakeFile
	vol    Volume
	volErr error
	user   string
	uid    int
	// walIndex is what the -shm of the database says; nil: there is none to read.
	walIndex *sqlitefile.WALIndex
}

var _ Files = (*fakeFiles)(nil)

func (ff *fakeFiles) WALIndex(name string) (sqlitefile.WALIndex, error) {
	if ff.walIndex == nil {
		return sqlitefile.WALIndex{}, &fs.PathError{Op: "open", Path: name + "-shm", Err: fs.ErrNotExist}
	}
	return *ff.walIndex, nil
}

type fakeInfo struct {
	name string
	f    *fakeFile
}

func (i fakeInfo) Name() string { return filepath.Base(i.name) }
func (i fakeInfo) Size() int64  { return i.f.size }
func (i fakeInfo) Mode() fs.FileMode {
	switch {
	case i.f.dir:
		return fs.ModeDir | i.f.perm
	case i.f.other:
		return fs.ModeSocket | i.f.perm
	}
	return i.f.perm
}
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.f.dir }
func (i fakeInfo) Sys() any           { return &syscall.Stat_t{Uid: uint32(i.f.uid)} }

func (ff *fakeFiles) get(op, name string) (*fakeFile, error) {
	f, ok := ff.files[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: syscall.ENOENT}
	}
	return f, nil
}

func (ff *fakeFiles) Lstat(name string) (fs.FileInfo, error) {
	f, err := ff.get("lstat", name)
	if err != nil {
		return nil, err
	}
	if f.statErr != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: f.statErr}
	}
	return fakeInfo{name, f}, nil
}

func (ff *fakeFiles) Stat(name string) (fs.FileInfo, error) { return ff.Lstat(name) }

func (ff *fakeFiles) Access(name string, mode uint32) error {
	f, err := ff.get("access", name)
	if err != nil {
		return err
	}
	if f.denied&mode != 0 {
		return &fs.PathError{Op: "access", Path: name, Err: syscall.EACCES}
	}
	return nil
}

func (ff *fakeFiles) Header(name string) (sqlitefile.Header, error) {
	f, err := ff.get("open", name)
	if err != nil {
		return sqlitefile.Header{}, err
	}
	if f.headerErr != nil {
		return sqlitefile.Header{}, f.headerErr
	}
	h := f.header
	if h.Size == 0 {
		h.Size = f.size
	}
	return h, nil
}

func (ff *fakeFiles) Links(name string) (uint64, error) {
	f, err := ff.get("stat", name)
	if err != nil {
		return 0, err
	}
	return max(f.links, 1), nil
}

func (ff *fakeFiles) Names(dir string, n int) ([]string, error) {
	var names []string
	for p := range ff.files {
		if filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	if len(names) > n {
		names = names[:n]
	}
	return names, nil
}

func (ff *fakeFiles) Volume(string) (Volume, error) { return ff.vol, ff.volErr }
func (ff *fakeFiles) User() (string, int)           { return ff.user, ff.uid }
func (ff *fakeFiles) Owner(fi fs.FileInfo) string {
	uid, _ := uidOf(fi)
	return fmt.Sprintf("user%d", uid)
}

// Paths of the healthy SQLite setup newFiles builds.
const (
	testDir  = "/srv/compozy/data"
	testPath = testDir + "/compozy.db"
)

// newFiles is a healthy SQLite setup: a private WAL database of 120 KB in a writable folder
// on a local ext4 volume with 70 GB free, owned by the user the doctor runs as.
func newFiles() *fakeFiles {
	return &fakeFiles{
		files: map[string]*fakeFile{
			"/":               {dir: true, perm: 0o755},
			"/srv":            {dir: true, perm: 0o755},
			"/srv/compozy":    {dir: true, perm: 0o750, uid: 1000},
			testDir:           {dir: true, perm: 0o750, uid: 1000},
			testPath:          {perm: 0o600, uid: 1000, size: 120 << 10, header: sqlitefile.Header{PageSize: 4096, WAL: true}},
			testPath + "-wal": {perm: 0o600, uid: 1000},
			testPath + "-shm": {perm: 0o600, uid: 1000, size: 32 << 10},
		},
		vol:  Volume{Name: "ext4", Kind: fsLocal, Free: 70 << 30},
		user: "svc", uid: 1000,
	}
}

// fakeLocks is Locks with canned holders.
type fakeLocks struct {
	h   LockHolders
	err error
}

func (l fakeLocks) Holders(context.Context, string, string) (LockHolders, error) { return l.h, l.err }

// fakeNet is Network with canned answers; lookup blocks until its context ends when hang is set.
type fakeNet struct {
	lookupErr error
	hang      bool
	dialErr   error
	dialed    []string
}

func (n *fakeNet) LookupHost(ctx context.Context, _ string) error {
	if n.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return n.lookupErr
}

func (n *fakeNet) Dial(_ context.Context, addr string, _ time.Duration) error {
	n.dialed = append(n.dialed, addr)
	return n.dialErr
}

// failDoor is an Opener that must not be used: a unit test that reaches it fails.
type failDoor struct{ t *testing.T }

func (d failDoor) Open(context.Context, config.Database, factory.Mode) (*factory.Handle, error) {
	d.t.Helper()
	d.t.Error("the door was opened by a unit test")
	return nil, errors.New("no door in unit tests")
}

func (d failDoor) MemoryCopy(context.Context, *factory.Handle) (*factory.Handle, error) {
	d.t.Helper()
	d.t.Error("the door was opened by a unit test")
	return nil, errors.New("no door in unit tests")
}

// errDoor is an Opener whose every open fails with err: a server that refuses the read-write
// open, an in-memory copy that cannot be made. It records the modes it was asked for.
type errDoor struct {
	err    error
	opened []factory.Mode
	copied int
}

func (d *errDoor) Open(_ context.Context, _ config.Database, mode factory.Mode) (*factory.Handle, error) {
	d.opened = append(d.opened, mode)
	return nil, d.err
}

func (d *errDoor) MemoryCopy(context.Context, *factory.Handle) (*factory.Handle, error) {
	d.copied++
	return nil, fmt.Errorf("memory copy: %w", d.err)
}

// findingConn is fakeConn that says what sits between compozy and the server (PoolerConn).
type findingConn struct {
	*fakeConn
	f   PoolerFinding
	err error
}

func (c *findingConn) Pooler(context.Context) (PoolerFinding, error) { return c.f, c.err }

// testSet returns a Set for db whose read-only connection is conn (or fails with openErr), and
// whose files, locks and network are in's (fakes: newFiles, fakeLocks{}, &fakeNet{} when nil).
func testSet(t *testing.T, db config.Database, in Inputs, conn Conn, openErr error) *Set {
	t.Helper()
	if in.Files == nil {
		in.Files = newFiles()
	}
	if in.Locks == nil {
		in.Locks = fakeLocks{}
	}
	if in.Net == nil {
		in.Net = &fakeNet{}
	}
	if in.Door == nil {
		in.Door = failDoor{t}
	}
	s := &Set{}
	s.init(db, in, &source{connect: func(ctx context.Context) (Conn, error) {
		if openErr != nil {
			return nil, openErr
		}
		return conn, nil
	}})
	return s
}

// sqliteDB is the database section of the healthy SQLite setup.
func sqliteDB() config.Database {
	return config.Database{Driver: config.DriverSQLite, Path: testPath, BusyTimeout: 5 * time.Second,
		JournalMode: "wal", Synchronous: "normal", AutoMigrate: true}
}

// postgresDB is a PostgreSQL database section (an IP address, so no DNS step).
func postgresDB() config.Database {
	return config.Database{Driver: config.DriverPostgres, Host: "192.0.2.10", Port: 5432, User: "compozy", Name: "compozy",
		SSLMode: "disable", MaxOpenConns: 10, AutoMigrate: true}
}

// want is one expected result: the status, and a pattern the summary and detail (joined by a
// newline) match.
type want struct {
	status doctor.Status
	re     string
}

// runCheck runs the check id of cs and compares its result with w.
func runCheck(t *testing.T, cs []doctor.Check, id string, w want) doctor.Result {
	t.Helper()
	for _, c := range cs {
		if c.ID != id {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		r := c.Run(ctx)
		text := r.Summary + "\n" + r.Detail
		if r.Status != w.status || !regexp.MustCompile(w.re).MatchString(text) {
			t.Errorf("%s: %s %q\nwant %s matching %q", id, r.Status, text, w.status, w.re)
		}
		if r.Status != doctor.StatusPass && r.Status != doctor.StatusSkip && r.Summary == "" {
			t.Errorf("%s: a %s with no summary", id, r.Status)
		}
		return r
	}
	t.Fatalf("no check %s among %d", id, len(cs))
	return doctor.Result{}
}

// commands is every command of a fix, joined.
func commands(r doctor.Result) string { return strings.Join(r.Fix.Commands, "\n") }

func rx(re string) *regexp.Regexp { return regexp.MustCompile(re) }

// faultRepos is the round trip's memRepos with one of its later steps failing: a task's
// create, the workflow read back, the tasks listed, the delete, the tasks listed after it.
type faultRepos struct {
	*memRepos
	taskErr, getErr, listErr, deleteErr, afterDeleteErr error
	// dropTask stores only the first task (a write that was lost).
	dropTask bool
	deleted  bool
}

type faultWorkflows struct {
	memWorkflows
	f *faultRepos
}

type faultTasks struct {
	memTasks
	f *faultRepos
}

func (r *faultRepos) Workflows() storage.WorkflowRepo {
	return faultWorkflows{memWorkflows{r: r.memRepos}, r}
}

func (r *faultRepos) Tasks() storage.TaskRepo { return faultTasks{memTasks{r: r.memRepos}, r} }

func (w faultWorkflows) Get(ctx context.Context, id string) (*storage.WorkflowState, error) {
	if w.f.getErr != nil {
		return nil, w.f.getErr
	}
	return w.memWorkflows.Get(ctx, id)
}

func (w faultWorkflows) Delete(ctx context.Context, id string) error {
	if w.f.deleteErr != nil {
		return w.f.deleteErr
	}
	w.f.deleted = true
	return w.memWorkflows.Delete(ctx, id)
}

func (t faultTasks) Create(ctx context.Context, s *storage.TaskState) error {
	if t.f.taskErr != nil {
		return t.f.taskErr
	}
	if t.f.dropTask && len(t.f.tasks) > 0 {
		return nil
	}
	return t.memTasks.Create(ctx, s)
}

func (t faultTasks) ListByWorkflow(ctx context.Context, id string) ([]*storage.TaskState, error) {
	switch {
	case t.f.deleted && t.f.afterDeleteErr != nil:
		return nil, t.f.afterDeleteErr
	case !t.f.deleted && t.f.listErr != nil:
		return nil, t.f.listErr
	}
	return t.memTasks.ListByWorkflow(ctx, id)
}

// faultStore is a storage.Store whose transaction runs on a fresh copy of faults (and is
// rolled back: nothing is left to read afterwards).
type faultStore struct {
	storage.Store
	faults faultRepos
}

func (s *faultStore) InTx(_ context.Context, fn func(storage.Repos) error) error {
	r := s.faults
	r.memRepos = newMemRepos()
	return fn(&r)
}

func (s *faultStore) Workflows() storage.WorkflowRepo { return memWorkflows{r: newMemRepos()} }

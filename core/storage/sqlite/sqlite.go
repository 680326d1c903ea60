// Package sqlite implements the storage repositories on SQLite (modernc.org/sqlite, pure Go).
//
// The database is opened the way SQLite performs under concurrent load and never reports
// "database is locked" within one process:
//
//   - pragmas are in the DSN, so every connection gets them (journal_mode, busy_timeout,
//     synchronous, foreign_keys), and journal_mode is read back after opening;
//   - all writes go through ONE connection whose transactions begin IMMEDIATE, so a
//     read-then-write transaction never has to upgrade its lock (the upgrade fails at once with
//     SQLITE_BUSY, whatever the busy_timeout);
//   - writers queue for that connection first come, first served (database/sql hands a released
//     connection to a random waiter, which inflates tail latency), and the writes queued at
//     one moment share one commit, each caller returning once that commit is done (group.go);
//   - reads outside a transaction use a separate pool of read-only connections, which in WAL mode
//     never wait for the writer;
//   - the folder is created 0750 and the file 0600 before SQLite opens it, so the -wal and -shm
//     files SQLite creates next to it get 0600 too.
//
// ":memory:" uses a single connection that is never closed while the DB is open, so the data
// lives as long as the DB.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/sqlitefile"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// MemoryPath is the Path of an in-memory database.
const MemoryPath = ":memory:"

// Defaults applied by Open to zero Options fields. BusyTimeout has none: 0 means 0, as in
// SQLite, and the configured default lives once, in the configuration's field table
// (config.DefaultDatabase gives it to settings built in code).
const (
	DefaultJournalMode = "WAL"
	DefaultSynchronous = "NORMAL"
	DefaultReaders     = 4
)

// Options configures Open.
type Options struct {
	// Path is the database file, or MemoryPath. A relative path is made absolute against the
	// working directory, and symbolic links are followed: the database is the real file.
	Path string
	// BusyTimeout is how long a connection waits for a lock held by another connection or
	// process before SQLITE_BUSY, in whole milliseconds (a positive value under 1ms waits 1ms).
	// 0 means SQLite's 0: no wait, a lock held elsewhere fails at once with "database is
	// locked". There is no default here: callers pass the configured value (config's field
	// table holds the default, 5s).
	BusyTimeout time.Duration
	// JournalMode is DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF (any case). Default WAL.
	// Ignored for MemoryPath: an in-memory database always uses MEMORY.
	JournalMode string
	// Synchronous is OFF, NORMAL, FULL or EXTRA (or 0-3). Default NORMAL: in WAL mode a power
	// loss can lose the last commits, never consistency; FULL also survives that, at about a
	// third of the write rate.
	Synchronous string
	// Readers is the size of the read-only pool. Default DefaultReaders. Ignored for MemoryPath.
	Readers int
	// Now is the clock for created_at/updated_at. Default time.Now.
	Now func() time.Time
	// Naive opens the database the way this package exists to avoid, for `compozy db bench` to
	// show the difference: database/sql's default pool shared by reads and writes, deferred
	// BEGIN, no write queue and no group commit (the pragmas still apply). Under concurrent
	// writes it fails with "database is locked". Never use it for Compozy's data. Ignored for
	// MemoryPath.
	Naive bool
}

// DB is an open SQLite database. It implements storage.Store.
type DB struct {
	path        string
	memory      bool
	journalMode string
	now         func() time.Time
	// naive is Options.Naive: one shared pool, no token, no group commit.
	naive bool

	writer *sql.DB
	reader *sql.DB // == writer for MemoryPath

	// token is the right to use the writer: a goroutine sends to take it and receives to give
	// it back. Blocked senders are served in arrival order.
	token chan struct{}
	// wstmts are the statements prepared on the writer connection. Only the token holder
	// reads or writes the map (and, inside InTx, the goroutines of the holder's fn, which
	// only read it).
	wstmts map[string]*sql.Stmt
	// queries are all statements of the repositories, prepared on the writer.
	queries []string
	// queue holds the single-statement writes waiting for a group commit.
	queue writeQueue
	// rstmts are the statements prepared on the reader pool.
	rstmts stmtCache

	closeOnce sync.Once
	closeErr  error
}

var _ storage.Store = (*DB)(nil)

// Open opens (creating when missing) the SQLite database described by opts. It returns an error
// naming the step that failed: options, folder, file, connection, or a journal mode that SQLite
// did not accept.
func Open(ctx context.Context, opts Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &DB{
		path:    o.Path,
		memory:  o.Path == MemoryPath,
		now:     o.Now,
		token:   make(chan struct{}, 1),
		wstmts:  make(map[string]*sql.Stmt),
		queries: allQueries(),
	}
	d.naive = o.Naive && !d.memory
	if !d.memory {
		if d.path, err = prepareFile(o.Path); err != nil {
			return nil, err
		}
		if err := writableFolder(d.path); err != nil {
			return nil, err
		}
	}

	dsn := writerDSN(d.path, d.memory, o)
	if d.naive {
		dsn = strings.TrimSuffix(dsn, "&_txlock=immediate")
	}
	writer, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", d.path, err)
	}
	if !d.naive {
		// One connection, never closed while the DB is open: writes are serialised here
		// instead of in SQLite's busy handler, and ":memory:" keeps its data.
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		writer.SetConnMaxLifetime(0)
		writer.SetConnMaxIdleTime(0)
	}
	d.writer = writer

	if err := d.firstConnection(ctx, o); err != nil {
		_ = writer.Close()
		return nil, err
	}

	if d.memory || d.naive {
		d.reader = writer
	} else {
		reader, err := sql.Open("sqlite", readerDSN(d.path, o))
		if err != nil {
			_ = writer.Close()
			return nil, fmt.Errorf("open sqlite readers %s: %w", d.path, err)
		}
		reader.SetMaxOpenConns(o.Readers)
		reader.SetMaxIdleConns(o.Readers)
		reader.SetConnMaxLifetime(0)
		reader.SetConnMaxIdleTime(0)
		if err := reader.PingContext(ctx); err != nil {
			_ = reader.Close()
			_ = writer.Close()
			return nil, fmt.Errorf("open sqlite readers %s: %w", d.path, err)
		}
		d.reader = reader
	}
	d.rstmts.db = d.reader
	return d, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Path == "" {
		return o, errors.New("open sqlite: path is required")
	}
	if o.BusyTimeout < 0 {
		return o, fmt.Errorf("open sqlite: busy timeout %s is negative", o.BusyTimeout)
	}
	// A zero BusyTimeout stays 0 (no wait), the meaning validate and the doctor give it.
	if o.JournalMode == "" {
		o.JournalMode = DefaultJournalMode
	}
	o.JournalMode = strings.ToUpper(o.JournalMode)
	if !oneOf(o.JournalMode, "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF") {
		return o, fmt.Errorf("open sqlite: journal mode %q is not DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF", o.JournalMode)
	}
	if o.Synchronous == "" {
		o.Synchronous = DefaultSynchronous
	}
	o.Synchronous = strings.ToUpper(o.Synchronous)
	if !oneOf(o.Synchronous, "OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3") {
		return o, fmt.Errorf("open sqlite: synchronous %q is not OFF, NORMAL, FULL or EXTRA", o.Synchronous)
	}
	if o.Readers < 0 {
		return o, fmt.Errorf("open sqlite: readers %d is negative", o.Readers)
	}
	if o.Readers == 0 {
		o.Readers = DefaultReaders
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// ReadOnlyOptions are the connection settings of OpenReadOnly: those that mean something on a
// connection that only reads, applied as on Compozy's own connections, so that a reader (the
// doctor) reads back what the driver made of the configuration.
type ReadOnlyOptions struct {
	// BusyTimeout is as Options.BusyTimeout: 0 means no wait.
	BusyTimeout time.Duration
	// Synchronous is as Options.Synchronous (default NORMAL). A reader writes nothing, so it
	// changes nothing; it is set so that PRAGMA synchronous on the connection says what the
	// writer uses.
	Synchronous string
}

// query is the DSN pragmas of o, each starting with "&".
func (o ReadOnlyOptions) query() (string, error) {
	if o.BusyTimeout < 0 {
		return "", fmt.Errorf("open sqlite read-only: busy timeout %s is negative", o.BusyTimeout)
	}
	sync := strings.ToUpper(o.Synchronous)
	if sync == "" {
		sync = DefaultSynchronous
	}
	if !oneOf(sync, "OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3") {
		return "", fmt.Errorf("open sqlite read-only: synchronous %q is not OFF, NORMAL, FULL or EXTRA", o.Synchronous)
	}
	return "&_pragma=busy_timeout(" + millis(o.BusyTimeout) + ")&_pragma=synchronous(" + sync + ")", nil
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// prepareFile resolves path to the database's real file (symbolic links followed, even to a file
// that does not exist yet), creates its folder (0750) and, when missing, the file (0600), so
// that SQLite's -wal and -shm files, which copy the database file's mode, are private too. A
// file with more than one hard link is refused: SQLite names its -wal and -journal after the
// path, so two names for one file would each get their own and corrupt it.
//
// Run as root, the folders and the file it creates take the owner and group of the folder they
// are created in (core/atomicfile), so a database root makes in the service user's folder is
// that user's; SQLite itself gives the -wal, -shm and -journal files the database file's owner.
func prepareFile(path string) (string, error) {
	real, err := sqlitefile.Resolve(path)
	if err != nil {
		return "", fmt.Errorf("open sqlite %s: %w", path, err)
	}
	dir := filepath.Dir(real)
	if err := atomicfile.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create sqlite folder %s: %w", dir, err)
	}
	f, err := os.OpenFile(real, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	switch {
	case err == nil:
		err = f.Close()
		if err == nil {
			err = atomicfile.ChownLike(real, dir)
		}
		if err != nil {
			return "", fmt.Errorf("create sqlite file %s: %w", real, err)
		}
	case errors.Is(err, fs.ErrExist):
		// An existing database keeps its mode; the doctor reports a loose one.
	default:
		return "", fmt.Errorf("create sqlite file %s: %w", real, err)
	}
	info, err := sqlitefile.Stat(real)
	if err != nil {
		return "", fmt.Errorf("open sqlite %s: %w", real, err)
	}
	if err := sqlitefile.CheckNotWALOnly(real); err != nil {
		return "", fmt.Errorf("open sqlite: %w", err)
	}
	if info.Links > 1 {
		return "", fmt.Errorf("open sqlite %s: %w", real, &LinkedError{Path: real, Links: info.Links})
	}
	return real, nil
}

// writableFolder refuses, with the reason, a database whose folder this user cannot write:
// SQLite creates its -wal, -shm and -journal files beside the database, and without the folder
// every write would fail with "attempt to write a readonly database", which blames the file.
func writableFolder(path string) error {
	dir := filepath.Dir(path)
	if err := syscall.Access(dir, 2|1); err != nil { // W_OK|X_OK
		who := strconv.Itoa(os.Geteuid())
		if u, uerr := user.Current(); uerr == nil {
			who = u.Username
		}
		return fmt.Errorf("open sqlite %s: the folder %s is not writable by %s, and SQLite creates its -wal, -shm and -journal files there: give that user write access to the folder (%w)", path, dir, who, err)
	}
	return nil
}

// LinkedError refuses to write a database file that has more than one name (hard links).
type LinkedError struct {
	Path  string
	Links uint64
}

func (e *LinkedError) Error() string {
	return fmt.Sprintf("the file has %d hard links (names); SQLite keeps its -wal and -journal beside the name it was opened by, so writing through two names corrupts the database: remove the other names (find them with: find / -xdev -samefile %s), keeping one", e.Links, e.Path)
}

// Is makes errors.Is(err, sqlitefile.ErrLinked) true.
func (e *LinkedError) Is(target error) bool { return target == sqlitefile.ErrLinked }

// fileURI is the SQLite URI of an absolute path, with the characters that would end the path
// (?, #) or start an escape (%) escaped.
func fileURI(path string) string { return FileURI(path) }

// FileURI is the SQLite URI of an absolute path ("file:/data/my%20db.db"), with the characters
// that would end the path (?, #) or start an escape (%) escaped; append "?mode=ro" and pragmas
// to it.
func FileURI(path string) string {
	return "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath()
}

func writerDSN(path string, memory bool, o Options) string {
	q := []string{"_pragma=busy_timeout(" + millis(o.BusyTimeout) + ")"}
	if !memory {
		q = append(q, "_pragma=journal_mode("+o.JournalMode+")")
	}
	q = append(q,
		"_pragma=synchronous("+o.Synchronous+")",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	)
	if memory {
		return MemoryPath + "?" + strings.Join(q, "&")
	}
	return fileURI(path) + "?" + strings.Join(q, "&")
}

func readerDSN(path string, o Options) string {
	return fileURI(path) + "?mode=ro" +
		"&_pragma=busy_timeout(" + millis(o.BusyTimeout) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=query_only(1)"
}

func millis(d time.Duration) string {
	ms := d.Milliseconds()
	if ms == 0 && d > 0 {
		ms = 1
	}
	return fmt.Sprint(ms)
}

// firstConnection connects the writer and checks its journal mode. SQLite answers some lock
// states with SQLITE_BUSY at once, without calling the busy handler: a connection's first
// read while another process switches a new file to WAL or recovers its WAL index. Those are
// tried again within busy_timeout, as the busy handler would have waited (0 waits not at all).
func (d *DB) firstConnection(ctx context.Context, o Options) error {
	deadline := time.Now().Add(o.BusyTimeout)
	for {
		err := d.checkJournalMode(ctx, o.JournalMode)
		if err == nil || !IsBusy(err) || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkJournalMode reads journal_mode back from the writer. SQLite answers a journal_mode pragma
// it cannot apply (WAL on a file system without shared memory, a mode change while another
// connection has the file open) with the mode it kept, not with an error.
func (d *DB) checkJournalMode(ctx context.Context, want string) error {
	var got string
	if err := d.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&got); err != nil {
		// The first connection applies the DSN pragmas, so their errors surface here.
		return fmt.Errorf("open sqlite %s: connect and apply pragmas: %w", d.path, err)
	}
	got = strings.ToLower(got)
	d.journalMode = got
	if d.memory {
		return nil
	}
	if got != strings.ToLower(want) {
		return fmt.Errorf("open sqlite %s: journal_mode is %s, not %s as configured (SQLite keeps the old mode when it cannot switch: another process may hold the file open, or the file system does not support %s)",
			d.path, got, strings.ToLower(want), strings.ToLower(want))
	}
	return nil
}

// Path returns the real path of the database file (absolute, links followed), or MemoryPath.
func (d *DB) Path() string { return d.path }

// JournalMode returns the journal mode read back when the database was opened, in lower case
// ("wal", or "memory" for MemoryPath).
func (d *DB) JournalMode() string { return d.journalMode }

// Writer returns the writer pool (one connection). Migrations run on it. Using it for writes
// outside the repositories bypasses the first-come-first-served queue but is otherwise safe.
func (d *DB) Writer() *sql.DB { return d.writer }

// Ping checks that the writer and the readers answer.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	if err := d.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite readers: %w", err)
	}
	return nil
}

// Close waits for a write in progress, then closes the prepared statements and the
// connections. The last connection to close checkpoints the WAL into the database file.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		var errs []error
		d.rstmts.close()
		// Take the writer so that no write is in flight; a writer blocked on a closed DB
		// afterwards gets sql.ErrConnDone.
		d.token <- struct{}{}
		for q, st := range d.wstmts {
			_ = st.Close()
			delete(d.wstmts, q)
		}
		<-d.token
		if d.reader != d.writer {
			if err := d.reader.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close sqlite readers: %w", err))
			}
		}
		if err := d.writer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite writer: %w", err))
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

// InTx runs fn in one transaction on the writer connection (BEGIN IMMEDIATE, so reads inside fn
// already hold the write lock and a later write cannot fail to upgrade). Concurrent writes share
// one commit (see group.go): fn runs inside a savepoint of it, and InTx returns once that commit
// has returned. Statements inside fn are not interrupted by ctx (an interrupt would roll back the
// shared transaction); ctx bounds the wait for the writer. fn must use tx only: calling the DB's
// own repositories inside fn waits for the writer fn holds.
func (d *DB) InTx(ctx context.Context, fn func(tx storage.Repos) error) error {
	return d.inTx(ctx, func(r runner) error { return fn(repos{r}) })
}

func (d *DB) inTx(ctx context.Context, fn func(r runner) error) (err error) {
	if !d.naive {
		return d.groupTx(ctx, fn)
	}
	// Naive: a deferred BEGIN on any pooled connection, as database/sql does by default.
	tx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", mapErr(err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(runner{db: d, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", mapErr(err))
	}
	committed = true
	return nil
}

// prepareWriter prepares every statement of the repositories on the writer, so that statements
// run inside transactions are prepared too. A statement that does not prepare (the schema is not
// migrated yet) is tried again the next time the writer is taken and meanwhile runs
// unprepared. Caller holds the token.
func (d *DB) prepareWriter(ctx context.Context) {
	if d.naive || len(d.wstmts) == len(d.queries) {
		return
	}
	for _, q := range d.queries {
		if d.wstmts[q] != nil {
			continue
		}
		st, err := d.writer.PrepareContext(ctx, q)
		if err != nil {
			return
		}
		d.wstmts[q] = st
	}
}

// Workflows returns the workflow repository.
func (d *DB) Workflows() storage.WorkflowRepo { return workflowRepo{runner{db: d}} }

// Tasks returns the task repository.
func (d *DB) Tasks() storage.TaskRepo { return taskRepo{runner{db: d}} }

// Users returns the user repository.
func (d *DB) Users() storage.UserRepo { return userRepo{runner{db: d}} }

// APIKeys returns the API-key repository.
func (d *DB) APIKeys() storage.APIKeyRepo { return apiKeyRepo{runner{db: d}} }

// repos are the repositories bound to one transaction.
type repos struct{ r runner }

func (x repos) Workflows() storage.WorkflowRepo { return workflowRepo(x) }
func (x repos) Tasks() storage.TaskRepo         { return taskRepo(x) }
func (x repos) Users() storage.UserRepo         { return userRepo(x) }
func (x repos) APIKeys() storage.APIKeyRepo     { return apiKeyRepo(x) }

// allQueries lists every statement of the repositories, to prepare them on the writer.
func allQueries() []string {
	return []string{
		qWorkflowInsert, qWorkflowGet, qWorkflowList, qWorkflowUpdate, qWorkflowDelete,
		qTaskInsert, qTaskGet, qTaskListByWorkflow, qTaskListByStatus, qTaskUpdate, qTaskDelete,
		qUserInsert, qUserGet, qUserByEmail, qUserDelete,
		qAPIKeyInsert, qAPIKeyByPrefix, qAPIKeyLastUsed, qAPIKeySetLastUsed,
	}
}

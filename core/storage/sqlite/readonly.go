package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"compozy.dev/setup/core/storage/sqlitefile"
)

// Errors of OpenReadOnly beyond the file errors of package sqlitefile; test with errors.Is.
var (
	// ErrHotJournal means another process crashed in the middle of a write and left a rollback
	// journal that must be rolled back before the database can be read; reading alone cannot
	// do it. (SQLite itself says "attempt to write a readonly database", which blames the
	// wrong thing: the text here replaces it.)
	ErrHotJournal = errors.New("another process crashed in the middle of a write and left a hot rollback journal (-journal); reading cannot undo the half-done write, the next process that opens the database for writing rolls it back: run compozy migrate up, or compozy doctor --fix")
	// ErrNeedsSHM means the database has a -wal file but no -shm file, which SQLite would have
	// to create to read the WAL.
	ErrNeedsSHM = errors.New("the database has a -wal file but no -shm file; reading the WAL would create one, and reading creates no file: open it for writing once to recover it (compozy migrate up, or compozy doctor --fix)")
)

// How a read-only connection reads the file.
const (
	// ReadImmutable: no -wal and no -journal, so the file alone is the database; SQLite is
	// told it is immutable and creates, locks and changes nothing (Unchanged tells whether
	// another process wrote meanwhile).
	ReadImmutable = "immutable"
	// ReadWAL: a -wal and -shm exist (a process has the database open, or crashed); they are
	// read with the -shm opened read-only, so not even its lock bytes change.
	ReadWAL = "wal"
	// ReadRollback: a rollback-journal database, read under SQLite's shared lock; nothing is
	// created.
	ReadRollback = "rollback"
)

// ReadOnly is a database file opened for reading only.
type ReadOnly struct {
	// DB is the read-only pool (the file is opened with mode=ro).
	DB *sql.DB
	// Info is the file when it was opened (real path, identity, size, times).
	Info sqlitefile.Info
	// How is ReadImmutable, ReadWAL or ReadRollback.
	How string
}

// OpenReadOnly opens the database file at path for reading only, for the commands that must
// change nothing (the doctor, `migrate status` and `version`, the source of a backup or a copy,
// every --dry-run): it creates no file (not even -wal, -shm or a lock file), writes no byte to
// any file, and switches no journal mode, whatever state the database is in and whoever runs
// it. A missing file is an error wrapping fs.ErrNotExist: reading never creates it.
//
// It returns ErrHotJournal when a crashed writer's journal must be rolled back first,
// ErrNeedsSHM for a -wal without its -shm, and the errors of sqlitefile for a folder, a file
// that is not SQLite, or a truncated one.
func OpenReadOnly(ctx context.Context, path string, o ReadOnlyOptions) (*ReadOnly, error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	// A writer that is opening or closing the database creates and removes -wal and -shm one
	// after the other; a read that falls between the two sees a WAL without its -shm for a
	// moment. Such a failure is tried again a few times before it is reported.
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ro, transient, err := openReadOnly(ctx, path, q)
		if err == nil || !transient || attempt == 6 {
			return ro, err
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

func openReadOnly(ctx context.Context, path, pragmas string) (ro *ReadOnly, transient bool, err error) {
	real, err := sqlitefile.Resolve(path)
	if err != nil {
		return nil, false, err
	}
	info, err := sqlitefile.Stat(real)
	if err != nil {
		return nil, false, fmt.Errorf("open %s read-only: %w", real, err)
	}
	h, err := sqlitefile.ReadHeader(real)
	if err != nil {
		return nil, false, fmt.Errorf("open %s read-only: %w", real, err)
	}
	if err := sqlitefile.CheckNotWALOnly(real); err != nil {
		return nil, false, fmt.Errorf("open sqlite read-only: %w", err)
	}
	sides := sqlitefile.SideFiles(real)
	ro = &ReadOnly{Info: info}
	// mode=ro, not query_only: the file is opened read-only, and VACUUM INTO (a backup, which
	// writes only its own new file) stays possible; query_only would forbid it.
	q := "?mode=ro" + pragmas
	switch {
	case h.WAL && sides.WAL, h.Size > 0 && sides.WALSize > 0:
		// SQLite reads a -wal that exists whatever the header says (a file switched out of
		// WAL mode, or a backup restored over a stale -wal, has a rollback header): then, as
		// for a WAL file, without readonly_shm it would rebuild the wal-index in the -shm, or
		// create the -shm. (It takes an empty -wal beside a rollback header for no -wal.)
		ro.How = ReadWAL
		q += "&readonly_shm=1"
	case !h.WAL && (sides.Journal || h.Size > 0):
		ro.How = ReadRollback
	default:
		ro.How = ReadImmutable
		q += "&immutable=1"
		// Unchanged compares modification times, which the kernel keeps at clock-tick
		// resolution: a write within the tick of the last one could keep the same time. Start
		// reading only once the last write is a few ticks old.
		if age := time.Since(time.Unix(0, info.ModTime)); age >= 0 && age < settle {
			if err := sleep(ctx, settle-age); err != nil {
				return nil, false, err
			}
		}
	}
	if err := checkRootChown(real, info, ro.How, sides); err != nil {
		// A rollback writer's -journal lasts one transaction: try again before reporting it.
		return nil, ro.How == ReadRollback, fmt.Errorf("open %s read-only: %w", real, err)
	}
	db, err := sql.Open("sqlite", FileURI(real)+q)
	if err != nil {
		return nil, false, fmt.Errorf("open %s read-only: %w", real, err)
	}
	db.SetMaxOpenConns(4)
	// A first read surfaces what the file holds back: a hot journal, a WAL without -shm.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		_ = db.Close()
		var se *sqlite.Error
		transient = ro.How == ReadWAL && errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CANTOPEN
		return nil, transient, fmt.Errorf("open %s read-only: %w", real, readOnlyErr(err, sqlitefile.SideFiles(real)))
	}
	ro.DB = db
	return ro, false, nil
}

// checkRootChown refuses a read that SQLite would turn into a change of owner. Run as root,
// SQLite gives the -wal, -shm and -journal files it opens to the database's owner and group
// (fchown), even on a read-only connection, so that the owner can still open them after root
// created them. On files that already exist with another owner that is a change, made by a
// command that must change nothing, and one that can lock the service that owns them out of its
// own -wal/-shm: say so instead. Which files SQLite opens depends on how the file is read: a
// -journal that is not empty (to see whether it is hot) unless the read is immutable, and the
// -wal and -shm for a WAL read.
func checkRootChown(path string, info sqlitefile.Info, how string, sides sqlitefile.Sides) error {
	if os.Geteuid() != 0 {
		return nil
	}
	var opened []string
	if how == ReadImmutable {
		return nil
	}
	if sides.JournalSize > 0 { // SQLite takes an empty -journal for none and does not open it
		opened = append(opened, sqlitefile.JournalSuffix)
	}
	if how == ReadWAL {
		opened = append(opened, sqlitefile.WALSuffix, sqlitefile.SHMSuffix)
	}
	err := sqlitefile.CheckSideOwners(path, info, opened...)
	if err == nil {
		return nil
	}
	files := path
	for _, sfx := range opened {
		files += " " + path + sfx
	}
	return fmt.Errorf("%w; SQLite run as root gives these files to the database's owner as it opens them, even to read, and a read changes no file, so the database was not opened: run this as the user Compozy runs as (sudo -u USER compozy ...), or give the files that user (chown USER: %s)",
		err, files)
}

// settle is how old the file's last modification must be before an immutable read starts.
const settle = 25 * time.Millisecond

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readOnlyErr names what an error of the first read means.
func readOnlyErr(err error, sides sqlitefile.Sides) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.Code() == sqlite3.SQLITE_READONLY_ROLLBACK:
		// SQLite's own text, "attempt to write a readonly database", is left out: nothing
		// tried to write, and it sends the reader to the permissions.
		return ErrHotJournal
	case se.Code()&0xff == sqlite3.SQLITE_CANTOPEN && sides.WAL && !sides.SHM:
		return ErrNeedsSHM
	case se.Code()&0xff == sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w (%v)", sqlitefile.ErrNotSQLite, err)
	case se.Code()&0xff == sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("%w (cannot open the database or its -wal/-shm files; check that this user may read them)", err)
	}
	return err
}

// Unchanged reports whether the file is still as it was when it was opened. For an immutable
// read that is what makes the read consistent: a process that wrote meanwhile (a checkpoint, a
// rollback-mode commit) changed the file's size or times. It returns an error naming the
// change, or nil.
func (r *ReadOnly) Unchanged() error {
	now, err := sqlitefile.Stat(r.Info.Path)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", r.Info.Path, sqlitefile.ErrChanged, err)
	}
	if !r.Info.Unchanged(now) {
		return fmt.Errorf("%s: %w", r.Info.Path, sqlitefile.ErrChanged)
	}
	return nil
}

// Close closes the pool.
func (r *ReadOnly) Close() error { return r.DB.Close() }

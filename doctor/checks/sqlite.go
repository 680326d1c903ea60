package checks

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
)

// The sqlite group, one constructor per check, each in the file of what it looks at:
//
//	sqlite.go            the group in report order, sqlite.memory, what the checks share
//	sqlite_file.go       sqlite.folder, sqlite.file, sqlite.permissions: the path and its files
//	sqlite_volume.go     sqlite.filesystem, sqlite.disk: the volume the folder is on
//	sqlite_pragma.go     sqlite.journal_mode, sqlite.busy_timeout, sqlite.synchronous: settings
//	                     read back from the read-only connection
//	sqlite_integrity.go  sqlite.integrity: quick_check, bounded by size in the default run
//	sqlite_size.go       sqlite.size: free pages and a WAL kept from being checkpointed
//	sqlite_lock.go       sqlite.lock: other processes' locks on the database (/proc/locks)
//
// The checks ask the file system through s.in.Files, the lock holders through s.in.Locks, and
// the database through the read-only connection of s.src.

// sqliteChecks returns the sqlite group for the database s.db describes, in report order. An
// in-memory database has sqlite.memory only: there is no file to look at.
func (s *Set) sqliteChecks() []doctor.Check {
	if s.db.Path == config.MemoryPath {
		return []doctor.Check{sqliteInMemoryCheck()}
	}
	return []doctor.Check{
		s.sqliteMemoryCheck(),
		s.sqliteFolderCheck(),
		s.sqliteFileCheck(),
		s.sqlitePermissionsCheck(),
		s.sqliteFilesystemCheck(),
		s.sqliteDiskCheck(),
		s.sqliteJournalCheck(),
		s.sqliteBusyCheck(),
		s.sqliteSynchronousCheck(),
		s.sqliteIntegrityCheck(),
		s.sqliteSizeCheck(),
		s.sqliteLockCheck(),
	}
}

// sqliteInMemoryCheck is sqlite.memory for database.path :memory:.
func sqliteInMemoryCheck() doctor.Check {
	return check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
		return doctor.Warn("path is :memory:: every workflow is lost when compozy exits", "",
			doctor.Fix{Text: "set database.path to a file, for example ./data/compozy.db"})
	})
}

// sqliteMemoryCheck is sqlite.memory for a database in a file: it says which.
func (s *Set) sqliteMemoryCheck() doctor.Check {
	path := s.db.Path
	return check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
		return doctor.Pass("stored in " + path)
	})
}

// sqliteConn is the read-only connection the checks that read the database share, opened once.
func (s *Set) sqliteConn(ctx context.Context) (SQLiteConn, error) { return s.src.get(ctx) }

// sqliteQueryFail is the result of a query on the read-only connection that failed: SQLite's
// busy or locked error is a warning, a damaged file a failure (each by its code).
func sqliteQueryFail(what string, err error) doctor.Result {
	if factory.IsBusy(err) {
		return doctor.Warn(what+": the database is locked by another process", err.Error(), doctor.Fix{Text: "see sqlite.lock"})
	}
	if factory.IsCorrupt(err) {
		return doctor.Fail(what+": the database is damaged", err.Error(), doctor.Fix{Text: "restore the database from a backup"})
	}
	return doctor.Fail(what+" failed", err.Error(), doctor.Fix{})
}

// existingDir is dir, or the nearest of its parents that exists: where a folder that does not
// exist yet would be created.
func existingDir(files Files, dir string) string {
	for {
		if _, err := files.Lstat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

func exists(files Files, path string) bool {
	_, err := files.Lstat(path)
	return err == nil
}

func fileSize(files Files, path string) int64 {
	fi, err := files.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func walSize(files Files, path string) int64 { return fileSize(files, path+sqlitefile.WALSuffix) }

func pathReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

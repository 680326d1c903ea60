package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
	"compozy.dev/setup/internal/shellquote"
)

// sqliteFolderCheck is sqlite.folder: the database's folder exists and this user may create
// files in it (SQLite creates the -wal and -shm there), or migrate up may create it.
func (s *Set) sqliteFolderCheck() doctor.Check {
	files, db := s.in.Files, s.db
	dir := filepath.Dir(db.Path)
	folder := check(doctor.IDSQLiteFolder, func(context.Context) doctor.Result {
		fi, err := files.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A setup nobody migrated yet (right after compozy init): migrate up creates the
			// folder with the database, when the nearest folder that exists lets it.
			parent := existingDir(files, dir)
			if pi, err := files.Stat(parent); err != nil || !pi.IsDir() {
				return doctor.Fail(fmt.Sprintf("folder %s does not exist, and cannot be created: %s is not a folder", dir, parent), "",
					doctor.Fix{Text: "point database.path at a file inside a folder"})
			} else if err := files.Access(parent, unix.W_OK|unix.X_OK); err != nil {
				who, _ := files.User()
				return doctor.Fail(fmt.Sprintf("folder %s does not exist, and %s may not create it in %s", dir, who, parent),
					fmt.Sprintf("%s (owner %s, mode %04o)", pathReason(err), files.Owner(pi), pi.Mode().Perm()),
					doctor.Cmds("create it for the user compozy runs as", "mkdir -p "+shellquote.Quote(dir), "chown "+who+" "+shellquote.Quote(dir)))
			}
			r := doctor.Warn("folder "+dir+" does not exist yet: compozy migrate up creates it, with the database", "",
				doctor.Cmds("create the database, its folder and its tables", "compozy migrate up"))
			r.Fixable = true
			return r
		case err != nil:
			return doctor.Fail("cannot reach folder "+dir, pathReason(err), doctor.Fix{Text: "check the permissions of its parent folders"})
		case !fi.IsDir():
			return doctor.Fail(dir+" is not a folder", "", doctor.Fix{Text: "point database.path at a file inside a folder"})
		}
		if err := files.Access(dir, unix.W_OK|unix.X_OK); err != nil {
			who, _ := files.User()
			return doctor.Fail(fmt.Sprintf("folder %s is not writable by %s", dir, who),
				fmt.Sprintf("%s (owner %s, mode %04o); SQLite creates the -wal and -shm files next to the database", pathReason(err), files.Owner(fi), fi.Mode().Perm()),
				doctor.Cmds("give the user compozy runs as write access to the folder", "chown "+who+" "+shellquote.Quote(dir), "chmod u+rwx "+shellquote.Quote(dir)))
		}
		return doctor.Pass("folder " + dir + " is writable")
	})
	// The folder's only fix is the missing folder, which migrate up creates with the database
	// (the same plan as sqlite.file's, so --fix applies it once).
	folder.Repair = &doctor.Repair{
		Plan:  func(doctor.Result) string { return "compozy migrate up on " + factory.Target(db) },
		Apply: func(ctx context.Context, r doctor.Result) error { return s.migrateRepair().Apply(ctx, r) },
	}
	return folder
}

// sqliteFileCheck is sqlite.file: the database file is a SQLite database this user may read,
// with one name, that the read-only connection opens; or it does not exist yet, and nothing
// says a database was there.
func (s *Set) sqliteFileCheck() doctor.Check {
	files, db, conn := s.in.Files, s.db, s.sqliteConn
	path := db.Path
	file := check(doctor.IDSQLiteFile, func(ctx context.Context) doctor.Result {
		fi, err := files.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return missingFileResult(files, path)
		case err != nil:
			return doctor.Fail("cannot reach "+path, pathReason(err), doctor.Fix{})
		case fi.IsDir():
			return doctor.Fail(path+" is a directory, not a database file", "",
				doctor.Fix{Text: "point database.path at a file inside that folder (for example " + filepath.Join(path, "compozy.db") + "), or move the folder away"})
		case !fi.Mode().IsRegular():
			return doctor.Fail(path+" is not a regular file", fi.Mode().String(), doctor.Fix{Text: "point database.path at a SQLite file"})
		}
		h, err := files.Header(path)
		if err != nil {
			return headerFail(files, path, fi, err)
		}
		if links, err := files.Links(path); err == nil && links > 1 {
			return doctor.Fail(fmt.Sprintf("%s has %d names (hard links): SQLite keeps a -wal and -journal per name, so writing through two of them corrupts the database", path, links),
				"compozy refuses to write to it until only one name is left",
				doctor.Cmds("find the other names and remove all but one (while nothing has the database open)", "find / -xdev -samefile "+shellquote.Quote(path)))
		}
		if _, err := conn(ctx); err != nil {
			return openFail(path, walSize(files, path), err)
		}
		if h.Size == 0 {
			return doctor.Warn(path+" is empty (no schema yet)", "", doctor.Cmds("create the schema", "compozy migrate up"))
		}
		return doctor.Pass(fmt.Sprintf("SQLite database, %s (%d-byte pages)", bytesize.Format(h.Size), h.PageSize))
	})
	file.Repair = s.sqliteFileRepair()
	return file
}

// sqliteFileRepair is sqlite.file's repair. A missing file is created by migrate up; one that
// exists is recovered by a writer opening it. Told by the file itself, as the check tells it,
// not by the result's words.
func (s *Set) sqliteFileRepair() *doctor.Repair {
	files, db := s.in.Files, s.db
	path := db.Path
	missing := func() bool {
		_, err := files.Lstat(path)
		return errors.Is(err, fs.ErrNotExist)
	}
	return &doctor.Repair{
		Plan: func(r doctor.Result) string {
			if missing() {
				return "compozy migrate up on " + factory.Target(db)
			}
			return "open " + path + " for writing once, which recovers it (rolls the crashed write back)"
		},
		Apply: func(ctx context.Context, r doctor.Result) error {
			if missing() {
				return s.migrateRepair().Apply(ctx, r)
			}
			return s.recoverSQLite(ctx)
		},
	}
}

// missingFileResult is the sqlite.file result for a database file that does not exist.
func missingFileResult(files Files, path string) doctor.Result {
	if found := leftovers(files, path); len(found) > 0 {
		// Something of a database was here: it was moved or deleted, or database.path names
		// the wrong file. A new empty database would hide that (and beside a stale -journal or
		// -wal, take it for its own).
		return doctor.Fail(fmt.Sprintf("%s does not exist, but its folder holds %s", path, strings.Join(found, ", ")),
			"a database was here, or database.path names the wrong file; compozy migrate up would start an empty one",
			doctor.Fix{Text: "point database.path at the database, or restore it from a backup; if it is gone for good, move what is left aside, then run compozy migrate up"})
	}
	// Never created (right after compozy init): the next step, not a failure. The checks that
	// read the file are skipped.
	r := doctor.Skip(path + " does not exist yet: compozy migrate up creates it")
	r.Fix = doctor.Cmds("create the database and its tables", "compozy migrate up")
	return r
}

// headerFail is the sqlite.file result for a regular file, fi, whose header could not be read
// (err is not nil).
func headerFail(files Files, path string, fi fs.FileInfo, err error) doctor.Result {
	switch {
	case errors.Is(err, fs.ErrPermission):
		who, _ := files.User()
		return doctor.Fail(fmt.Sprintf("%s is not readable by %s", path, who),
			fmt.Sprintf("owner %s, mode %04o", files.Owner(fi), fi.Mode().Perm()),
			doctor.Cmds("make the file the service user's", "chown "+who+" "+shellquote.Quote(path), "chmod 600 "+shellquote.Quote(path)))
	case errors.Is(err, sqlitefile.ErrNotSQLite):
		return doctor.Fail(path+" is not a SQLite database", err.Error()+"; its first bytes are not \"SQLite format 3\"",
			doctor.Cmds("point database.path at the right file, or move this one away and create a new database",
				"mv "+shellquote.Quote(path)+" "+shellquote.Quote(path+".broken"), "compozy migrate up"))
	case errors.Is(err, sqlitefile.ErrTruncated):
		return doctor.Fail(path+" is truncated", err.Error(),
			doctor.Cmds("restore the database from a backup (copy the -wal file with it, or use 'sqlite3 DB .backup')"))
	}
	return doctor.Fail("cannot read "+path, pathReason(err), doctor.Fix{})
}

// leftovers names what in the folder of a missing database file says a database was there:
// its side files (-wal, -shm, -journal, the migration lock), or other SQLite databases
// (a backup, a copy under another name). It looks at the first 1000 names only.
func leftovers(files Files, path string) []string {
	var found []string
	for _, sfx := range []string{sqlitefile.WALSuffix, sqlitefile.SHMSuffix, sqlitefile.JournalSuffix, migrate.LockSuffix} {
		if exists(files, path+sfx) {
			found = append(found, filepath.Base(path+sfx))
		}
	}
	names, _ := files.Names(filepath.Dir(path), 1000)
	sort.Strings(names)
	var dbs []string
	for _, n := range names {
		p := filepath.Join(filepath.Dir(path), n)
		if strings.HasPrefix(n, filepath.Base(path)+"-") || strings.HasSuffix(n, migrate.LockSuffix) {
			continue
		}
		if fi, err := files.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if h, err := files.Header(p); err == nil && h.Size > 0 {
			dbs = append(dbs, n)
		}
	}
	switch {
	case len(dbs) == 1:
		found = append(found, "another SQLite database ("+dbs[0]+")")
	case len(dbs) > 1:
		found = append(found, fmt.Sprintf("other SQLite databases (%s)", strings.Join(dbs, ", ")))
	}
	return found
}

// openFail is the sqlite.file result for a database that exists but cannot be opened for
// reading: each reason says what happened and what to do. walBytes is the size of its -wal.
func openFail(path string, walBytes int64, err error) doctor.Result {
	switch {
	case errors.Is(err, sqlitefile.ErrWALOnly):
		// SQLite never leaves its data in a -wal beside an empty file (switching to WAL writes
		// the header first); and the next process that opens it deletes such a -wal. compozy
		// refuses to open it; say so before anyone starts Compozy on it.
		return doctor.Fail(fmt.Sprintf("%s is empty, but its -wal holds %s: the database file was truncated or replaced", path, bytesize.Format(walBytes)),
			"compozy refuses to open it; the next other program that opens the database (Compozy starting, sqlite3) deletes a -wal beside an empty file, and with it what the -wal holds",
			doctor.Cmds("keep both files before anything opens them, then restore the database from a backup",
				"cp -p "+shellquote.Quote(path)+" "+shellquote.Quote(path+sqlitefile.WALSuffix)+" /SAFE/PLACE/"))
	case errors.Is(err, factory.ErrHotJournal):
		r := doctor.Fail("another process crashed in the middle of a write to "+path+" and left a hot rollback journal",
			"the -journal holds the pages to put back; until a process opens the database for writing (which rolls the crashed write back) nothing can read it, so the checks that read the database are skipped; the doctor only reads",
			doctor.Cmds("let the next writer recover it: start Compozy, or run one of", "compozy doctor --fix", "compozy migrate up"))
		r.Fixable = true
		return r
	case errors.Is(err, factory.ErrNeedsSHM):
		r := doctor.Fail(path+" has a -wal file without its -shm file", "reading the WAL would create the -shm file, and the doctor only reads, so the checks that read the database are skipped",
			doctor.Cmds("let the next writer recover it: start Compozy, or run one of", "compozy doctor --fix", "compozy migrate up"))
		r.Fixable = true
		return r
	case errors.Is(err, sqlitefile.ErrSideOwner):
		return doctor.Fail("the files beside "+path+" have another owner than the database, and the doctor runs as root: opening it would give them to the database's owner, so it was not opened",
			config.Redact(err.Error()),
			doctor.Cmds("run the doctor as the user compozy runs as, or give all the files that user", "sudo -u USER compozy doctor", "chown USER: "+shellquote.Quote(path)+"*"))
	case factory.IsBusy(err):
		return doctor.Warn("the database is locked by another process", config.Redact(err.Error()), doctor.Fix{Text: "see sqlite.lock"})
	}
	return doctor.Fail("cannot open "+path+" read-only", config.Redact(err.Error()), doctor.Fix{Text: "check that this user may read the database and its -wal/-shm files"})
}

// recoverSQLite opens the database for writing once through the one door: SQLite rolls a hot
// journal back, or rebuilds a missing -shm, when a writer opens it.
func (s *Set) recoverSQLite(ctx context.Context) error {
	h, err := s.in.Door.Open(ctx, s.db, factory.ReadWrite)
	if err != nil {
		return fmt.Errorf("open for writing: %w", err)
	}
	if _, err := h.Migrator.Version(ctx); err != nil {
		_ = h.Close()
		return fmt.Errorf("read after recovery: %w", err)
	}
	return h.Close()
}

// sqlitePermissionsCheck is sqlite.permissions: this user and the owner may write the database
// and its -wal and -shm files, and nobody else may read them.
func (s *Set) sqlitePermissionsCheck() doctor.Check {
	files, path := s.in.Files, s.db.Path
	perms := check(doctor.IDSQLitePermissions, func(context.Context) doctor.Result {
		fi, err := files.Stat(path)
		if err != nil {
			return doctor.Fail("cannot stat "+path, pathReason(err), doctor.Fix{})
		}
		who, euid := files.User()
		// Files this user cannot write make every write fail with "attempt to write a readonly
		// database", although reading (and so most checks) works.
		if unwritable := unwritableFiles(files, path); len(unwritable) > 0 {
			return doctor.Fail(fmt.Sprintf("%s cannot write %s: every write fails with \"attempt to write a readonly database\"", who, strings.Join(unwritable, ", ")), "",
				doctor.Cmds("give the files to the user compozy runs as, private to it",
					"chown "+who+" "+shellquote.Quote(path)+"*", "chmod 600 "+shellquote.Quote(path)+"*"))
		}
		// Root may write whatever the mode says, so the test above passes for root; the user
		// that owns the files (the service, usually) may not write them without the owner's
		// write bit.
		if ownerRO := ownerReadOnlyFiles(files, path); len(ownerRO) > 0 {
			r := doctor.Fail(fmt.Sprintf("the owner may not write %s: when compozy runs as that user, every write fails with \"attempt to write a readonly database\"", strings.Join(ownerRO, ", ")), "",
				doctor.Cmds("let the owner write the files, private to it", "chmod 600 "+shellquote.Quote(path)+"*"))
			r.Fixable = true
			return r
		}
		return privacyResult(files, path, fi, who, euid)
	})
	perms.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string {
			return "chmod 600 " + shellquote.Quote(path) + " (and its -wal/-shm files)"
		},
		Apply: func(context.Context, doctor.Result) error { return chmodPrivate(path) },
	}
	return perms
}

// unwritableFiles names those of the database and its -wal and -shm files that exist and this
// user may not write, with their mode and owner.
func unwritableFiles(files Files, path string) []string {
	var unwritable []string
	for _, f := range []string{path, path + sqlitefile.WALSuffix, path + sqlitefile.SHMSuffix} {
		if exists(files, f) && files.Access(f, unix.W_OK) != nil {
			m := "?"
			if fi, err := files.Stat(f); err == nil {
				m = fmt.Sprintf("%04o, owner %s", fi.Mode().Perm(), files.Owner(fi))
			}
			unwritable = append(unwritable, fmt.Sprintf("%s (mode %s)", filepath.Base(f), m))
		}
	}
	return unwritable
}

// ownerReadOnlyFiles names those of the database and its -wal and -shm files without the
// owner's write bit, unless root owns them.
func ownerReadOnlyFiles(files Files, path string) []string {
	var ownerRO []string
	for _, f := range []string{path, path + sqlitefile.WALSuffix, path + sqlitefile.SHMSuffix} {
		fi, err := files.Stat(f)
		if err != nil || fi.Mode().Perm()&0o200 != 0 {
			continue
		}
		if uid, ok := uidOf(fi); ok && uid == 0 {
			continue // root, the owner, writes anyway
		}
		ownerRO = append(ownerRO, fmt.Sprintf("%s (mode %04o, owner %s)", filepath.Base(f), fi.Mode().Perm(), files.Owner(fi)))
	}
	return ownerRO
}

// privacyResult is the sqlite.permissions result for a database, fi, that its users may write:
// a warning when its group or others may read it, or another user than who (euid) owns it.
func privacyResult(files Files, path string, fi fs.FileInfo, who string, euid int) doctor.Result {
	var issues []string
	var cmds []string
	mode := fi.Mode().Perm()
	if mode&0o044 != 0 {
		whom := "others"
		if mode&0o004 == 0 {
			whom = "its group"
		}
		issues = append(issues, fmt.Sprintf("mode %04o lets %s read the workflow data", mode, whom))
		cmds = append(cmds, "chmod 600 "+shellquote.Quote(path))
	}
	if uid, ok := uidOf(fi); ok && uid != euid {
		issues = append(issues, fmt.Sprintf("owned by %s, but compozy runs as %s here", files.Owner(fi), who))
		cmds = append(cmds, "chown "+who+" "+shellquote.Quote(path))
	}
	if len(issues) == 0 {
		return doctor.Pass(fmt.Sprintf("mode %04o, owned by %s", mode, files.Owner(fi)))
	}
	detail := ""
	if len(issues) > 1 {
		detail = strings.Join(issues, "\n")
	}
	r := doctor.Warn(issues[0], detail, doctor.Cmds("make the database private to the user compozy runs as", cmds...))
	r.Fixable = mode&0o077 != 0
	return r
}

// chmodPrivate is sqlite.permissions' repair: the database and its -wal and -shm files (those
// that exist) private to their owner.
func chmodPrivate(path string) error {
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("chmod %s: %w", f, err)
		}
	}
	return nil
}

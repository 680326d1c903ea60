package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
	"compozy.dev/setup/internal/shellquote"
)

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

func exists(files Files, path string) bool {
	_, err := files.Lstat(path)
	return err == nil
}

// sqliteChecks returns the sqlite group for the database s.db describes. The checks ask the
// file system through s.in.Files, the lock holders through s.in.Locks, and the database through
// the read-only connection of s.src; settings are read back from that connection.
func (s *Set) sqliteChecks() []doctor.Check {
	db := s.db
	if db.Path == config.MemoryPath {
		mem := check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
			return doctor.Warn("path is :memory:: every workflow is lost when compozy exits", "",
				doctor.Fix{Text: "set database.path to a file, for example ./data/compozy.db"})
		})
		return []doctor.Check{mem}
	}
	files := s.in.Files
	path := db.Path
	dir := filepath.Dir(path)
	conn := func(ctx context.Context) (SQLiteConn, error) { return s.src.get(ctx) }

	mem := check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
		return doctor.Pass("stored in " + path)
	})

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

	file := check(doctor.IDSQLiteFile, func(ctx context.Context) doctor.Result {
		fi, err := files.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if found := leftovers(files, path); len(found) > 0 {
				// Something of a database was here: it was moved or deleted, or database.path
				// names the wrong file. A new empty database would hide that (and beside a
				// stale -journal or -wal, take it for its own).
				return doctor.Fail(fmt.Sprintf("%s does not exist, but its folder holds %s", path, strings.Join(found, ", ")),
					"a database was here, or database.path names the wrong file; compozy migrate up would start an empty one",
					doctor.Fix{Text: "point database.path at the database, or restore it from a backup; if it is gone for good, move what is left aside, then run compozy migrate up"})
			}
			// Never created (right after compozy init): the next step, not a failure. The
			// checks that read the file are skipped.
			r := doctor.Skip(path + " does not exist yet: compozy migrate up creates it")
			r.Fix = doctor.Cmds("create the database and its tables", "compozy migrate up")
			return r
		case err != nil:
			return doctor.Fail("cannot reach "+path, pathReason(err), doctor.Fix{})
		case fi.IsDir():
			return doctor.Fail(path+" is a directory, not a database file", "",
				doctor.Fix{Text: "point database.path at a file inside that folder (for example " + filepath.Join(path, "compozy.db") + "), or move the folder away"})
		case !fi.Mode().IsRegular():
			return doctor.Fail(path+" is not a regular file", fi.Mode().String(), doctor.Fix{Text: "point database.path at a SQLite file"})
		}
		h, err := files.Header(path)
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
		case err != nil:
			return doctor.Fail("cannot read "+path, pathReason(err), doctor.Fix{})
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
	// A missing file is created by migrate up; one that exists is recovered by a writer opening
	// it. Told by the file itself, as the check tells it, not by the result's words.
	missing := func() bool {
		_, err := files.Lstat(path)
		return errors.Is(err, fs.ErrNotExist)
	}
	file.Repair = &doctor.Repair{
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

	perms := check(doctor.IDSQLitePermissions, func(context.Context) doctor.Result {
		fi, err := files.Stat(path)
		if err != nil {
			return doctor.Fail("cannot stat "+path, pathReason(err), doctor.Fix{})
		}
		who, euid := files.User()
		// Files this user cannot write make every write fail with "attempt to write a readonly
		// database", although reading (and so most checks) works.
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
		if len(unwritable) > 0 {
			return doctor.Fail(fmt.Sprintf("%s cannot write %s: every write fails with \"attempt to write a readonly database\"", who, strings.Join(unwritable, ", ")), "",
				doctor.Cmds("give the files to the user compozy runs as, private to it",
					"chown "+who+" "+shellquote.Quote(path)+"*", "chmod 600 "+shellquote.Quote(path)+"*"))
		}
		// Root may write whatever the mode says, so the test above passes for root; the user
		// that owns the files (the service, usually) may not write them without the owner's
		// write bit.
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
		if len(ownerRO) > 0 {
			r := doctor.Fail(fmt.Sprintf("the owner may not write %s: when compozy runs as that user, every write fails with \"attempt to write a readonly database\"", strings.Join(ownerRO, ", ")), "",
				doctor.Cmds("let the owner write the files, private to it", "chmod 600 "+shellquote.Quote(path)+"*"))
			r.Fixable = true
			return r
		}
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
	})
	perms.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string {
			return "chmod 600 " + shellquote.Quote(path) + " (and its -wal/-shm files)"
		},
		Apply: func(context.Context, doctor.Result) error {
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("chmod %s: %w", f, err)
				}
			}
			return nil
		},
	}

	fsys := check(doctor.IDSQLiteFilesystem, func(context.Context) doctor.Result {
		vol, err := files.Volume(existingDir(files, dir)) // a folder not created yet: where it will be
		if err != nil {
			return doctor.Fail("cannot read the filesystem of "+dir, err.Error(), doctor.Fix{})
		}
		name := vol.Name
		if vol.ReadOnly {
			return doctor.Fail(fmt.Sprintf("%s is on a read-only %s mount", dir, name), "", doctor.Fix{Text: "move the database to a writable local disk"})
		}
		h, _ := files.Header(path)
		wal := h.WAL || strings.EqualFold(db.JournalMode, "wal")
		switch vol.Kind {
		case fsNetwork:
			if wal {
				return doctor.Fail(fmt.Sprintf("%s is on %s: WAL is unsafe on a network filesystem", dir, name),
					"WAL needs shared memory and POSIX locks that work across every process; network filesystems do not guarantee them",
					doctor.Fix{Text: "move the database to a local disk, or use PostgreSQL"})
			}
			return doctor.Warn(fmt.Sprintf("%s is on %s: locking is unreliable on network filesystems", dir, name), "",
				doctor.Fix{Text: "move the database to a local disk, or use PostgreSQL"})
		case fsVirtual:
			return doctor.Warn(fmt.Sprintf("%s is on %s: WAL and locks may not work reliably", dir, name), "",
				doctor.Fix{Text: "keep the database on a local disk (a volume, not the container's overlay layer)"})
		case fsMemory:
			// WAL and locks work in memory; the data does not outlive the machine's uptime.
			return doctor.Warn(fmt.Sprintf("%s is on %s: a reboot erases the database (and backups next to it)", dir, name),
				name+" keeps files in memory only: SQLite works there, but nothing survives a reboot or an unmount, and the default backups and pre-migrate copies land in the same folder",
				doctor.Fix{Text: "move the database to a disk-backed folder (for example /var/lib/compozy) and point database.path at it"})
		}
		return doctor.Pass(name + ", local")
	})

	disk := check(doctor.IDSQLiteDisk, func(context.Context) doctor.Result {
		vol, err := files.Volume(existingDir(files, dir))
		if err != nil {
			return doctor.Fail("cannot read free space of "+dir, err.Error(), doctor.Fix{})
		}
		free := vol.Free
		used := fileSize(files, path) + walSize(files, path)
		need := 2*used + 64<<20
		switch {
		case free < need:
			return doctor.Fail(fmt.Sprintf("%s free on the volume; the database and WAL take %s", bytesize.Format(free), bytesize.Format(used)),
				"migrations and VACUUM need up to twice the database size", doctor.Fix{Text: "free space on the volume, or move the database to a larger one"})
		case free < 1<<30:
			return doctor.Warn(fmt.Sprintf("only %s free on the volume", bytesize.Format(free)), "", doctor.Fix{Text: "free space on the volume"})
		}
		return doctor.Pass(bytesize.Format(free) + " free")
	})

	journal := check(doctor.IDSQLiteJournal, func(ctx context.Context) doctor.Result {
		h, err := files.Header(path)
		if err != nil {
			return doctor.Fail("cannot read the header", err.Error(), doctor.Fix{})
		}
		if h.Size == 0 {
			return doctor.Skip("skipped: the database is empty")
		}
		c, err := conn(ctx)
		if err != nil {
			return doctor.Skip("skipped: cannot open the database read-only (see sqlite.file)")
		}
		mode, from, err := journalMode(ctx, c, h)
		if err != nil {
			return sqliteQueryFail("journal_mode", err)
		}
		if mode == "wal" {
			if !strings.EqualFold(db.JournalMode, "wal") {
				return doctor.Warn("the file is in WAL mode, but database.journal_mode is "+db.JournalMode, "compozy will switch the file back when it opens it; "+from,
					doctor.Fix{Text: "set database.journal_mode: wal"})
			}
			r := doctor.Pass("wal")
			r.Detail = from
			return r
		}
		r := doctor.Warn(fmt.Sprintf("the file uses a rollback journal (journal_mode=%s), not WAL", mode),
			"in rollback mode a writer blocks every reader, so concurrent workflows hit \"database is locked\"; "+from,
			doctor.Cmds("switch the file to WAL while nothing else has it open", "sqlite3 "+shellquote.Quote(path)+" 'PRAGMA journal_mode=WAL'"))
		if !strings.EqualFold(db.JournalMode, "wal") {
			r.Fix.Text += "; and set database.journal_mode: wal"
		}
		r.Fixable = true
		return r
	})
	journal.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string { return "PRAGMA journal_mode=WAL on " + path },
		Apply: func(ctx context.Context, _ doctor.Result) error {
			// Opening for writing through the one door applies journal_mode=WAL and reads it back
			// (an error when another process has the file open and SQLite keeps the old mode).
			wal := db
			wal.JournalMode = "wal"
			h, err := s.in.Door.Open(ctx, wal, factory.ReadWrite)
			if err != nil {
				return fmt.Errorf("switch %s to WAL: %w", path, err)
			}
			return h.Close()
		},
	}

	busy := check(doctor.IDSQLiteBusy, func(ctx context.Context) doctor.Result {
		d, from, err := busyTimeout(ctx, conn, db)
		if err != nil {
			return sqliteQueryFail("busy_timeout", err)
		}
		switch {
		case d <= 0:
			return doctor.Warn("busy_timeout is 0: every lock wait fails at once with \"database is locked\"", from, doctor.Fix{Text: "set database.busy_timeout: 5s"})
		case d < time.Second:
			return doctor.Warn(fmt.Sprintf("busy_timeout is only %s", d), from, doctor.Fix{Text: "set database.busy_timeout: 5s"})
		}
		r := doctor.Pass(d.String())
		r.Detail = from
		return r
	})
	syncCheck := check(doctor.IDSQLiteSynchronous, func(ctx context.Context) doctor.Result {
		level, from, err := synchronous(ctx, conn, db)
		if err != nil {
			return sqliteQueryFail("synchronous", err)
		}
		if level == "off" {
			return doctor.Warn("synchronous is off: a crash or power loss can corrupt the database", from, doctor.Fix{Text: "set database.synchronous: normal"})
		}
		r := doctor.Pass(level)
		r.Detail = from
		return r
	})

	integrity := check(doctor.IDSQLiteIntegrity, func(ctx context.Context) doctor.Result {
		h, _ := files.Header(path)
		if h.Size == 0 {
			return doctor.Skip("skipped: the database is empty")
		}
		// quick_check reads every page: its time grows with the database, and the default
		// run must not (it leaves a large database to --deep, saying what that would take).
		size := h.Size + walSize(files, path)
		if limit := s.quickCheckLimit(); !s.in.Deep && size > limit {
			return doctor.Skip(fmt.Sprintf("skipped: reading all %s would take about %s (the default run checks databases up to %s); run compozy doctor --deep",
				bytesize.Format(size), quickCheckEstimate(size), bytesize.Format(limit)))
		}
		c, err := conn(ctx)
		if err != nil {
			return doctor.Skip("skipped: cannot open the database read-only (see sqlite.file)")
		}
		var stop func()
		if s.in.Deep {
			stop = reportQuickCheck(ctx, size)
		}
		lines, err := c.QuickCheck(ctx, 10)
		if stop != nil {
			stop()
		}
		if err != nil {
			if c.Unchanged() != nil {
				return doctor.Warn("another process wrote to the database while it was checked", err.Error(), doctor.Fix{Text: "run compozy doctor again"})
			}
			return sqliteQueryFail("quick_check", err)
		}
		if len(lines) == 1 && lines[0] == "ok" {
			return doctor.Pass("ok (quick_check read every page of " + bytesize.Format(size) + ")")
		}
		if c.Unchanged() != nil {
			return doctor.Warn("another process wrote to the database while it was checked", strings.Join(lines, "\n"), doctor.Fix{Text: "run compozy doctor again"})
		}
		return doctor.Fail("quick_check found damage", strings.Join(lines, "\n"),
			doctor.Cmds("restore from a backup, or recover what is readable",
				"sqlite3 "+shellquote.Quote(path)+" .recover | sqlite3 "+shellquote.Quote(path+".recovered")))
	})
	integrity.Unbounded = s.in.Deep

	size := check(doctor.IDSQLiteSize, func(ctx context.Context) doctor.Result {
		h, err := files.Header(path)
		if err != nil {
			return doctor.Fail("cannot read the header", err.Error(), doctor.Fix{})
		}
		pages, freePages := h.Size/max(h.PageSize, 1), h.FreePages
		if h.Size > 0 {
			// The file's header is as of the last checkpoint; the connection reads the WAL too.
			if c, err := conn(ctx); err == nil {
				if n, err := pragmaInt(ctx, c, "page_count"); err == nil && n > 0 {
					pages = n
				}
				if n, err := pragmaInt(ctx, c, "freelist_count"); err == nil {
					freePages = n
				}
			}
		}
		wal := walSize(files, path)
		free := freePages * h.PageSize
		msg := fmt.Sprintf("%s, %s in free pages", bytesize.Format(h.Size), bytesize.Format(free))
		if wal > 0 {
			msg += fmt.Sprintf(", WAL %s", bytesize.Format(wal))
		}
		if r, ok := s.walPinned(ctx, msg, wal); ok {
			return r
		}
		if free > freePagesLimit && free*4 > pages*h.PageSize {
			return doctor.Warn(fmt.Sprintf("%s: %d%% of the file is free pages, which compozy db vacuum gives back", msg, free*100/max(pages*h.PageSize, 1)),
				fmt.Sprintf("%d of %d pages are free: deleted rows leave pages that SQLite reuses but does not give back to the filesystem", freePages, pages),
				doctor.Cmds("rewrite the file without them, while Compozy is stopped (db vacuum needs the database to itself and room for a copy)", "compozy db vacuum"))
		}
		if wal > walLargeLimit {
			return doctor.Warn(msg+": the WAL is large", "a long-lived reader may keep the WAL from being checkpointed",
				doctor.Fix{Text: "find long-running readers (sqlite.lock lists processes with the file open)"})
		}
		return doctor.Pass(msg)
	})

	lock := check(doctor.IDSQLiteLock, func(ctx context.Context) doctor.Result {
		if ctx.Err() != nil {
			return doctor.Skip("skipped: " + ctx.Err().Error())
		}
		lockPath := path + migrate.LockSuffix
		h, err := s.in.Locks.Holders(ctx, path, lockPath)
		if err != nil {
			return doctor.Skip("skipped: " + err.Error())
		}
		return lockResult(h, lockPath)
	})
	return []doctor.Check{mem, folder, file, perms, fsys, disk, journal, busy, syncCheck, integrity, size, lock}
}

// DefaultQuickCheckLimit is the size of a SQLite database (with its -wal) above which the
// default run leaves quick_check to --deep. At quickCheckRate a database of this size takes
// about 75 ms (110 ms at the slowest rate measured under load), inside the 150 ms the default
// run may grow by at any size.
const DefaultQuickCheckLimit = 24 << 20

// quickCheckRate is how fast quick_check goes through a database of Compozy's, in bytes per
// second: 1578 MB in 4.9 s with `make bench` on the 2-core machine of docs/benchmarks-doctor.md
// (it also checks every row's CHECK constraints, json_valid of each task's output among them).
// It gives the estimate of a skipped check, and --deep's progress, since SQLite says nothing
// while it checks.
const quickCheckRate = 320 << 20

// freePagesLimit and walPinnedLimit are the sizes from which free pages (also above a quarter
// of the file) and a WAL kept from being checkpointed are worth a warning; walLargeLimit is a
// WAL large enough to warn about although no reader holds it.
const (
	freePagesLimit = 64 << 20
	walPinnedLimit = 64 << 20
	walLargeLimit  = 256 << 20
)

func (s *Set) quickCheckLimit() int64 {
	if s.in.QuickCheckLimit > 0 {
		return s.in.QuickCheckLimit
	}
	return DefaultQuickCheckLimit
}

// quickCheckEstimate is the time quick_check takes on size bytes at quickCheckRate.
func quickCheckEstimate(size int64) time.Duration {
	d := time.Duration(float64(size) / quickCheckRate * float64(time.Second))
	if d < time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// reportQuickCheck reports the progress of a quick_check of size bytes (doctor.Progress) until
// stop is called: at once, then four times a second.
func reportQuickCheck(ctx context.Context, size int64) (stop func()) {
	start := time.Now()
	report := func() {
		doctor.Progress(ctx, quickCheckProgress(size, time.Since(start)))
	}
	report()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// quickCheckProgress says how far a quick_check of size bytes is after elapsed: SQLite tells
// nothing while it checks, so this is the time against the estimate.
func quickCheckProgress(size int64, elapsed time.Duration) string {
	est := quickCheckEstimate(size)
	el := elapsed.Round(100 * time.Millisecond)
	if elapsed < est {
		return fmt.Sprintf("quick_check of %s: %s of about %s", bytesize.Format(size), el, est)
	}
	return fmt.Sprintf("quick_check of %s: %s (estimated %s)", bytesize.Format(size), el, est)
}

// walPinned is the sqlite.size warning for a WAL that grows because a reader keeps it from
// being checkpointed: more than walPinnedLimit of it in use (what the -shm says; the file
// size where it cannot be read), while another process holds a read transaction open (from
// /proc/locks). ok is false when that is not the case, or cannot be seen.
func (s *Set) walPinned(ctx context.Context, msg string, wal int64) (r doctor.Result, ok bool) {
	if wal <= walPinnedLimit {
		return doctor.Result{}, false
	}
	inUse, how := wal, "the -wal file's size"
	if idx, err := s.in.Files.WALIndex(s.db.Path); err == nil {
		inUse, how = idx.InUse(), fmt.Sprintf("%d frames, %d of them copied into the database (the wal-index in the -shm)", idx.Frames, idx.Backfilled)
	}
	if inUse <= walPinnedLimit {
		return doctor.Result{}, false
	}
	h, err := s.in.Locks.Holders(ctx, s.db.Path, "")
	if err != nil || len(h.Readers) == 0 {
		return doctor.Result{}, false
	}
	return doctor.Warn(fmt.Sprintf("%s: %s of the WAL cannot be checkpointed while %s keeps a read transaction open", msg, bytesize.Format(inUse), h.Readers[0]),
		fmt.Sprintf("in a read transaction: %s\nWAL in use: %s\na checkpoint copies the WAL into the database only up to the snapshot of the oldest open reader, and starts the WAL over only when no reader uses it: until the reader ends its transaction every write makes the WAL longer, and reads slower",
			strings.Join(h.Readers, "; "), how),
		doctor.Fix{Text: "end that read transaction: finish or restart the process (a sqlite3 shell left in BEGIN, a long query, a backup tool); the next checkpoint then catches up"}), true
}

// pragmaInt reads an integer setting back from the connection.
func pragmaInt(ctx context.Context, c SQLiteConn, name string) (int64, error) {
	v, err := c.Pragma(ctx, name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
}

// journalMode is the journal mode the read-only connection reports, and where it came from. A
// connection to a file that nothing has open reads it as immutable (sqlite.OpenReadOnly),
// without any journal, and then reports "delete" whatever the file is; its header still says
// whether the file is in WAL mode, the one journal mode a file keeps: then that is the answer,
// and the source says so.
func journalMode(ctx context.Context, c SQLiteConn, h sqlitefile.Header) (mode, from string, err error) {
	mode, err = c.Pragma(ctx, "journal_mode")
	if err != nil {
		return "", "", err
	}
	mode = strings.ToLower(mode)
	if mode != "wal" && h.WAL {
		return "wal", "from the file header: nothing has the file open, so the read-only connection reads it as immutable, with no journal, and reports journal_mode " + mode, nil
	}
	return mode, "read back from the read-only connection (PRAGMA journal_mode)", nil
}

// busyTimeout reads busy_timeout back from the read-only connection, which the one door opens
// with database.busy_timeout as it opens Compozy's. Without a connection (no file yet, or one
// that cannot be read) it is the configured value, and the source says so.
func busyTimeout(ctx context.Context, conn func(context.Context) (SQLiteConn, error), db config.Database) (time.Duration, string, error) {
	c, err := conn(ctx)
	if err != nil {
		return db.BusyTimeout, "from database.busy_timeout: no connection to read it back from (see sqlite.file)", nil
	}
	v, err := c.Pragma(ctx, "busy_timeout")
	if err != nil {
		return 0, "", err
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("PRAGMA busy_timeout: %q is not a number of milliseconds", v)
	}
	return time.Duration(ms) * time.Millisecond, "read back from the read-only connection (PRAGMA busy_timeout), which the door opens with database.busy_timeout", nil
}

// synchronous reads synchronous back from the read-only connection, which carries
// database.synchronous as Compozy's writer does: off, normal, full or extra. Without a
// connection it is the configured value, and the source says so.
func synchronous(ctx context.Context, conn func(context.Context) (SQLiteConn, error), db config.Database) (string, string, error) {
	c, err := conn(ctx)
	if err != nil {
		level := strings.ToLower(db.Synchronous)
		switch level {
		case "":
			level = "normal"
		case "0", "1", "2", "3":
			level = syncLevels[level[0]-'0']
		}
		return level, "from database.synchronous: no connection to read it back from (see sqlite.file)", nil
	}
	v, err := c.Pragma(ctx, "synchronous")
	if err != nil {
		return "", "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n >= len(syncLevels) {
		return "", "", fmt.Errorf("PRAGMA synchronous: %q is not 0-3", v)
	}
	return syncLevels[n], "read back from the read-only connection (PRAGMA synchronous), which the door opens with database.synchronous", nil
}

// syncLevels are PRAGMA synchronous's values by number.
var syncLevels = []string{"off", "normal", "full", "extra"}

func walSize(files Files, path string) int64 { return fileSize(files, path+sqlitefile.WALSuffix) }

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

func fileSize(files Files, path string) int64 {
	fi, err := files.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func pathReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

type fsKind int

const (
	fsLocal fsKind = iota
	fsNetwork
	fsVirtual
	fsMemory // local for WAL and locks, but erased by a reboot
)

// fsName names a statfs magic number and says whether SQLite is safe there.
func fsName(magic int64) (string, fsKind) {
	switch uint32(magic) {
	case 0xEF53:
		return "ext4", fsLocal
	case 0x58465342:
		return "xfs", fsLocal
	case 0x9123683E:
		return "btrfs", fsLocal
	case 0x01021994:
		return "tmpfs", fsMemory
	case 0x858458F6:
		return "ramfs", fsMemory
	case 0x2FC12FC1:
		return "zfs", fsLocal
	case 0xF2F52010:
		return "f2fs", fsLocal
	case 0x6969:
		return "NFS", fsNetwork
	case 0x517B:
		return "SMB", fsNetwork
	case 0xFF534D42:
		return "CIFS", fsNetwork
	case 0xFE534D42:
		return "SMB2", fsNetwork
	case 0x01021997:
		return "9p", fsNetwork
	case 0x65735546:
		return "FUSE", fsVirtual
	case 0x794C7630:
		return "overlay", fsVirtual
	}
	return fmt.Sprintf("filesystem 0x%x", uint32(magic)), fsLocal
}

// lockResult is the sqlite.lock result for the lock holders found.
func lockResult(h LockHolders, lockPath string) doctor.Result {
	detail := ""
	if len(h.Open) > 0 {
		detail = "open by: " + strings.Join(h.Open, "; ")
	}
	switch {
	case len(h.Writers) > 0:
		return doctor.Warn("another process holds the write lock: "+h.Writers[0],
			strings.TrimSpace("writers: "+strings.Join(uniq(h.Writers), "; ")+"\n"+detail),
			doctor.Fix{Text: "let it finish, or stop it; writers wait up to database.busy_timeout and then fail with \"database is locked\""})
	case len(h.Migrators) > 0:
		return doctor.Warn("a migration is running: "+h.Migrators[0]+" holds "+lockPath, detail,
			doctor.Fix{Text: "wait for it to finish; a second 'compozy migrate up' waits for it"})
	case len(h.Open) > 0:
		return doctor.Pass(fmt.Sprintf("no writer; %d other process(es) have it open", len(h.Open)))
	}
	return doctor.Pass("no other process holds a lock")
}

package checks

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

	"golang.org/x/sys/unix"

	// The SQLite driver for the read-only connection.
	_ "modernc.org/sqlite"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/sqlite"
	"compozy.dev/setup/doctor"
)

// sqliteHeader is what the first 100 bytes of a SQLite file say.
type sqliteHeader struct {
	pageSize  int64
	pageCount int64 // 0 when the header's count is not valid
	freePages int64
	wal       bool // file format versions say WAL
	size      int64
}

// sqliteProbe holds what the SQLite checks share: the path, the read-only connection and the
// header, each read once.
type sqliteProbe struct {
	cfg  config.Database
	path string

	mu     sync.Mutex
	db     *sql.DB
	dbErr  error
	opened bool
}

// open returns the read-only connection. When the database has no -wal or -journal file, it is
// opened immutable, so that SQLite creates no -wal or -shm file; otherwise mode=ro reads the
// WAL the other process keeps. Nothing is ever created or written.
func (p *sqliteProbe) open() (*sql.DB, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opened {
		return p.db, p.dbErr
	}
	p.opened = true
	db, err := sqlite.OpenReadOnly(p.path, 500*time.Millisecond)
	if err != nil {
		p.dbErr = err
		return nil, p.dbErr
	}
	p.db = db
	return db, nil
}

func (p *sqliteProbe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.db != nil {
		_ = p.db.Close()
		p.db = nil
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// readHeader reads and checks the SQLite header of path.
func readHeader(path string) (sqliteHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return sqliteHeader{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return sqliteHeader{}, err
	}
	h := sqliteHeader{size: fi.Size()}
	if h.size == 0 {
		return h, nil
	}
	buf := make([]byte, 100)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return h, err
	}
	if n < 16 || string(buf[:16]) != "SQLite format 3\x00" {
		return h, errNotSQLite
	}
	if n < 100 {
		return h, fmt.Errorf("%w: the file ends inside the 100-byte header (%d bytes)", errTruncated, h.size)
	}
	h.pageSize = int64(binary.BigEndian.Uint16(buf[16:18]))
	if h.pageSize == 1 {
		h.pageSize = 65536
	}
	h.wal = buf[18] == 2 && buf[19] == 2
	if binary.BigEndian.Uint32(buf[24:28]) == binary.BigEndian.Uint32(buf[92:96]) {
		h.pageCount = int64(binary.BigEndian.Uint32(buf[28:32]))
	}
	h.freePages = int64(binary.BigEndian.Uint32(buf[36:40]))
	switch {
	case h.pageSize < 512 || h.pageSize&(h.pageSize-1) != 0:
		return h, fmt.Errorf("%w: page size %d in the header is invalid", errNotSQLite, h.pageSize)
	case h.size%h.pageSize != 0:
		return h, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages", errTruncated, h.size, h.pageSize)
	case h.pageCount > 0 && h.size < h.pageCount*h.pageSize:
		return h, fmt.Errorf("%w: the header says %d pages (%s) but the file has %s", errTruncated,
			h.pageCount, humanBytes(h.pageCount*h.pageSize), humanBytes(h.size))
	}
	return h, nil
}

var (
	errNotSQLite = errors.New("not a SQLite database")
	errTruncated = errors.New("truncated SQLite database")
)

// SQLiteChecks returns the sqlite group for the database db describes.
func (s *Set) sqliteChecks(db config.Database) []doctor.Check {
	if db.Path == config.MemoryPath {
		mem := check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
			return doctor.Warn("path is :memory:: every workflow is lost when compozy exits", "",
				doctor.Fix{Text: "set database.path to a file, for example ./data/compozy.db"})
		})
		return []doctor.Check{mem}
	}
	p := s.sqlite
	path := p.path
	dir := filepath.Dir(path)

	mem := check(doctor.IDSQLiteMemory, func(context.Context) doctor.Result {
		return doctor.Pass("stored in " + path)
	})

	folder := check(doctor.IDSQLiteFolder, func(context.Context) doctor.Result {
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r := doctor.Fail("folder "+dir+" does not exist", "", doctor.Cmds("create it (compozy migrate up also does)", "mkdir -p "+shellQuote(dir)))
			r.Fixable = true
			return r
		case err != nil:
			return doctor.Fail("cannot reach folder "+dir, pathReason(err), doctor.Fix{Text: "check the permissions of its parent folders"})
		case !fi.IsDir():
			return doctor.Fail(dir+" is not a folder", "", doctor.Fix{Text: "point database.path at a file inside a folder"})
		}
		if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
			who := currentUser()
			return doctor.Fail(fmt.Sprintf("folder %s is not writable by %s", dir, who),
				fmt.Sprintf("%s (owner %s, mode %04o); SQLite creates the -wal and -shm files next to the database", pathReason(err), ownerOf(fi), fi.Mode().Perm()),
				doctor.Cmds("give the user compozy runs as write access to the folder", "chown "+who+" "+shellQuote(dir), "chmod u+rwx "+shellQuote(dir)))
		}
		return doctor.Pass("folder " + dir + " is writable")
	})
	folder.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string { return "mkdir -p -m 750 " + shellQuote(dir) },
		Apply: func(context.Context, doctor.Result) error {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return fmt.Errorf("create folder: %w", err)
			}
			return nil
		},
	}

	file := check(doctor.IDSQLiteFile, func(context.Context) doctor.Result {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r := doctor.Fail(path+" does not exist", "",
				doctor.Cmds("create it with the schema", "compozy migrate up"))
			r.Fixable = true
			return r
		case err != nil:
			return doctor.Fail("cannot reach "+path, pathReason(err), doctor.Fix{})
		case !fi.Mode().IsRegular():
			return doctor.Fail(path+" is not a regular file", fi.Mode().String(), doctor.Fix{Text: "point database.path at a SQLite file"})
		}
		h, err := readHeader(path)
		switch {
		case errors.Is(err, fs.ErrPermission):
			who := currentUser()
			return doctor.Fail(fmt.Sprintf("%s is not readable by %s", path, who),
				fmt.Sprintf("owner %s, mode %04o", ownerOf(fi), fi.Mode().Perm()),
				doctor.Cmds("make the file the service user's", "chown "+who+" "+shellQuote(path), "chmod 600 "+shellQuote(path)))
		case errors.Is(err, errNotSQLite):
			return doctor.Fail(path+" is not a SQLite database", err.Error()+"; its first bytes are not \"SQLite format 3\"",
				doctor.Cmds("point database.path at the right file, or move this one away and create a new database",
					"mv "+shellQuote(path)+" "+shellQuote(path+".broken"), "compozy migrate up"))
		case errors.Is(err, errTruncated):
			return doctor.Fail(path+" is truncated", err.Error(),
				doctor.Cmds("restore the database from a backup (copy the -wal file with it, or use 'sqlite3 DB .backup')"))
		case err != nil:
			return doctor.Fail("cannot read "+path, pathReason(err), doctor.Fix{})
		case h.size == 0:
			return doctor.Warn(path+" is empty (no schema yet)", "", doctor.Cmds("create the schema", "compozy migrate up"))
		}
		return doctor.Pass(fmt.Sprintf("SQLite database, %s (%d-byte pages)", humanBytes(h.size), h.pageSize))
	})

	file.Repair = s.migrateRepair(db)

	perms := check(doctor.IDSQLitePermissions, func(context.Context) doctor.Result {
		fi, err := os.Stat(path)
		if err != nil {
			return doctor.Fail("cannot stat "+path, pathReason(err), doctor.Fix{})
		}
		var issues []string
		var cmds []string
		mode := fi.Mode().Perm()
		if mode&0o044 != 0 {
			who := "others"
			if mode&0o004 == 0 {
				who = "its group"
			}
			issues = append(issues, fmt.Sprintf("mode %04o lets %s read the workflow data", mode, who))
			cmds = append(cmds, "chmod 600 "+shellQuote(path))
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			issues = append(issues, fmt.Sprintf("owned by %s, but compozy runs as %s here", ownerOf(fi), currentUser()))
			cmds = append(cmds, "chown "+currentUser()+" "+shellQuote(path))
		}
		if len(issues) == 0 {
			return doctor.Pass(fmt.Sprintf("mode %04o, owned by %s", mode, ownerOf(fi)))
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
		Plan: func(doctor.Result) string { return "chmod 600 " + shellQuote(path) + " (and its -wal/-shm files)" },
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
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return doctor.Fail("cannot read the filesystem of "+dir, err.Error(), doctor.Fix{})
		}
		name, kind := fsName(int64(st.Type))
		if st.Flags&unix.ST_RDONLY != 0 {
			return doctor.Fail(fmt.Sprintf("%s is on a read-only %s mount", dir, name), "", doctor.Fix{Text: "move the database to a writable local disk"})
		}
		h, _ := readHeader(path)
		wal := h.wal || strings.EqualFold(db.JournalMode, "wal")
		switch kind {
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
		}
		return doctor.Pass(name + ", local")
	})

	disk := check(doctor.IDSQLiteDisk, func(context.Context) doctor.Result {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return doctor.Fail("cannot read free space of "+dir, err.Error(), doctor.Fix{})
		}
		free := int64(st.Bavail) * st.Bsize
		used := fileSize(path) + fileSize(path+"-wal")
		need := 2*used + 64<<20
		switch {
		case free < need:
			return doctor.Fail(fmt.Sprintf("%s free on the volume; the database and WAL take %s", humanBytes(free), humanBytes(used)),
				"migrations and VACUUM need up to twice the database size", doctor.Fix{Text: "free space on the volume, or move the database to a larger one"})
		case free < 1<<30:
			return doctor.Warn(fmt.Sprintf("only %s free on the volume", humanBytes(free)), "", doctor.Fix{Text: "free space on the volume"})
		}
		return doctor.Pass(humanBytes(free) + " free")
	})

	journal := check(doctor.IDSQLiteJournal, func(context.Context) doctor.Result {
		h, err := readHeader(path)
		if err != nil {
			return doctor.Fail("cannot read the header", err.Error(), doctor.Fix{})
		}
		if h.size == 0 {
			return doctor.Skip("skipped: the database is empty")
		}
		if h.wal {
			if !strings.EqualFold(db.JournalMode, "wal") {
				return doctor.Warn("the file is in WAL mode, but database.journal_mode is "+db.JournalMode, "compozy will switch the file back when it opens it",
					doctor.Fix{Text: "set database.journal_mode: wal"})
			}
			return doctor.Pass("wal")
		}
		r := doctor.Warn("the file uses a rollback journal (journal_mode=delete), not WAL",
			"in rollback mode a writer blocks every reader, so concurrent workflows hit \"database is locked\"",
			doctor.Cmds("switch the file to WAL while nothing else has it open", "sqlite3 "+shellQuote(path)+" 'PRAGMA journal_mode=WAL'"))
		if !strings.EqualFold(db.JournalMode, "wal") {
			r.Fix.Text += "; and set database.journal_mode: wal"
		}
		r.Fixable = true
		return r
	})
	journal.Repair = &doctor.Repair{
		Plan: func(doctor.Result) string { return "PRAGMA journal_mode=WAL on " + path },
		Apply: func(ctx context.Context, _ doctor.Result) error {
			w, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.ToSlash(path)}).EscapedPath()+"?_pragma=busy_timeout(5000)")
			if err != nil {
				return fmt.Errorf("open %s: %w", path, err)
			}
			defer w.Close()
			var mode string
			if err := w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
				return fmt.Errorf("set journal_mode: %w", err)
			}
			if mode != "wal" {
				return fmt.Errorf("set journal_mode: SQLite kept %q (another process has the file open?)", mode)
			}
			return nil
		},
	}

	busy := check(doctor.IDSQLiteBusy, func(context.Context) doctor.Result {
		switch {
		case db.BusyTimeout <= 0:
			return doctor.Warn("busy_timeout is 0: every lock wait fails at once with \"database is locked\"", "", doctor.Fix{Text: "set database.busy_timeout: 5s"})
		case db.BusyTimeout < time.Second:
			return doctor.Warn(fmt.Sprintf("busy_timeout is only %s", db.BusyTimeout), "", doctor.Fix{Text: "set database.busy_timeout: 5s"})
		}
		return doctor.Pass(db.BusyTimeout.String())
	})
	syncCheck := check(doctor.IDSQLiteSynchronous, func(context.Context) doctor.Result {
		switch strings.ToLower(db.Synchronous) {
		case "off", "0":
			return doctor.Warn("synchronous is off: a crash or power loss can corrupt the database", "", doctor.Fix{Text: "set database.synchronous: normal"})
		case "":
			return doctor.Pass("normal (default)")
		}
		return doctor.Pass(strings.ToLower(db.Synchronous))
	})

	integrity := check(doctor.IDSQLiteIntegrity, func(ctx context.Context) doctor.Result {
		h, _ := readHeader(path)
		if h.size == 0 {
			return doctor.Skip("skipped: the database is empty")
		}
		conn, err := p.open()
		if err != nil {
			return doctor.Fail("cannot open the database read-only", err.Error(), doctor.Fix{})
		}
		rows, err := conn.QueryContext(ctx, "PRAGMA quick_check(10)")
		if err != nil {
			return sqliteQueryFail("quick_check", err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				return sqliteQueryFail("quick_check", err)
			}
			lines = append(lines, l)
		}
		if err := rows.Err(); err != nil {
			return sqliteQueryFail("quick_check", err)
		}
		if len(lines) == 1 && lines[0] == "ok" {
			return doctor.Pass("ok")
		}
		return doctor.Fail("quick_check found damage", strings.Join(lines, "\n"),
			doctor.Cmds("restore from a backup, or recover what is readable",
				"sqlite3 "+shellQuote(path)+" .recover | sqlite3 "+shellQuote(path+".recovered")))
	})

	size := check(doctor.IDSQLiteSize, func(context.Context) doctor.Result {
		h, err := readHeader(path)
		if err != nil {
			return doctor.Fail("cannot read the header", err.Error(), doctor.Fix{})
		}
		wal := fileSize(path + "-wal")
		free := h.freePages * h.pageSize
		msg := fmt.Sprintf("%s, %s in free pages", humanBytes(h.size), humanBytes(free))
		if wal > 0 {
			msg += fmt.Sprintf(", WAL %s", humanBytes(wal))
		}
		switch {
		case h.size > 0 && free > 8<<20 && free*4 > h.size:
			return doctor.Warn(msg, fmt.Sprintf("%d of %d pages are free", h.freePages, h.size/max(h.pageSize, 1)),
				doctor.Cmds("reclaim the space while compozy is stopped", "sqlite3 "+shellQuote(path)+" 'VACUUM'"))
		case wal > 256<<20:
			return doctor.Warn(msg+": the WAL is large", "a long-lived reader may keep the WAL from being checkpointed",
				doctor.Fix{Text: "find long-running readers (sqlite.lock lists processes with the file open)"})
		}
		return doctor.Pass(msg)
	})

	lock := check(doctor.IDSQLiteLock, func(ctx context.Context) doctor.Result {
		return lockResult(ctx, path)
	})
	return []doctor.Check{mem, folder, file, perms, fsys, disk, journal, busy, syncCheck, integrity, size, lock}
}

func sqliteQueryFail(what string, err error) doctor.Result {
	if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
		return doctor.Warn(what+": the database is locked by another process", err.Error(), doctor.Fix{Text: "see sqlite.lock"})
	}
	if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
		return doctor.Fail(what+": the database is damaged", err.Error(), doctor.Fix{Text: "restore the database from a backup"})
	}
	return doctor.Fail(what+" failed", err.Error(), doctor.Fix{})
}

// migrationsSQL opens what the migration checks read for SQLite.
func (p *sqliteProbe) migrator() (*migrate.Migrator, *sql.DB, error) {
	conn, err := p.open()
	if err != nil {
		return nil, nil, err
	}
	m, err := migrate.New(conn, config.DriverSQLite, migrate.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return m, conn, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
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

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}

func ownerOf(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	id := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return "uid " + id
}

type fsKind int

const (
	fsLocal fsKind = iota
	fsNetwork
	fsVirtual
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
		return "tmpfs", fsLocal
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

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

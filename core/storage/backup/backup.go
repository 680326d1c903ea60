// Package backup takes backups of Compozy's database: SQLite with VACUUM INTO (a consistent
// snapshot taken while writers keep writing, checked with quick_check, written 0600), PostgreSQL
// with pg_dump, to which the password goes through the environment, never the command line.
//
// Every backup is written under a temporary name in the target's folder, synced and checked, and
// only then takes its name (which must be free: a backup never replaces a file), so a kill at any
// moment leaves no file under that name. The source is read through the read-only door: nothing
// is created beside it, and its folder need not be writable.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/internal/shellquote"
)

// Tables are Compozy's tables, counted in a backup's report.
var tables = [...]string{"workflow_states", "task_states", "users", "api_keys"}

// Result describes a backup that was written.
type Result struct {
	// Path is the absolute path of the backup file.
	Path string
	// Bytes is its size.
	Bytes int64
	// Duration is how long the backup took, check included.
	Duration time.Duration
	// Check is the result of PRAGMA quick_check on the backup ("ok"); "" for PostgreSQL.
	Check string
	// Rows counts the rows of each Compozy table in the backup (SQLite only; a table the
	// database does not have is absent).
	Rows map[string]int64
}

// TotalRows is the number of rows in Compozy's tables.
func (r *Result) TotalRows() int64 {
	var n int64
	for _, v := range r.Rows {
		n += v
	}
	return n
}

// stamp is the UTC time in backup names.
func stamp(now time.Time) string { return now.UTC().Format("20060102T150405Z") }

// DefaultSQLitePath is the default backup file of the SQLite database at dbPath: next to it,
// named after it with the UTC time, e.g. /data/compozy-backup-20261127T110203Z.db.
func DefaultSQLitePath(dbPath string, now time.Time) string {
	stem, ext := stemExt(dbPath)
	return stem + "-backup-" + stamp(now) + ext
}

func stemExt(path string) (string, string) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	if ext == "" {
		ext = ".db"
	}
	return stem, ext
}

// DefaultPostgresPath is the default pg_dump file, in dir: <database>-backup-<UTC time>.dump.
func DefaultPostgresPath(dir, database string, now time.Time) string {
	if database == "" {
		database = "postgres"
	}
	return filepath.Join(dir, database+"-backup-"+stamp(now)+".dump")
}

// SQLite writes a consistent copy of the SQLite database db to dst (which must not exist) with
// VACUUM INTO, reading through the read-only door, so writers (in this process or another) keep
// writing meanwhile and nothing is created beside the database. The copy is checked with
// quick_check before it takes its name.
func SQLite(ctx context.Context, db config.Database, dst string) (*Result, error) {
	start := time.Now()
	if db.Path == "" || db.Path == config.MemoryPath {
		return nil, fmt.Errorf("backup: the SQLite database is %q; only a database file can be backed up", db.Path)
	}
	// Read without locks, a file another process writes to meanwhile is no snapshot: then
	// take it again (the WAL case reads under SQLite's own locks and never needs to).
	for attempt := 1; ; attempt++ {
		h, err := factory.Open(ctx, db, factory.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("backup: source %s: %w", factory.Target(db), err)
		}
		res, err := write(ctx, h, dst, h.Unchanged)
		_ = h.Close()
		if errors.Is(err, sqlitefile.ErrChanged) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Duration = time.Since(start)
		return res, nil
	}
}

// SQLiteFrom writes a consistent copy of the open SQLite database h to dst (which must not
// exist): the backup migrate takes before it changes the schema, on the handle it migrates with.
func SQLiteFrom(ctx context.Context, h *factory.Handle, dst string) (*Result, error) {
	start := time.Now()
	res, err := write(ctx, h, dst, h.Unchanged)
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// write runs VACUUM INTO a temporary file beside dst, checks it, confirms with unchanged that
// the source was one snapshot, and gives it dst's name. Run as root, the copy belongs to the
// source database's owner (core/atomicfile), like the data it holds: a backup root takes next
// to the service user's database is that user's, and no one else can read it.
func write(ctx context.Context, h *factory.Handle, dst string, unchanged func() error) (*Result, error) {
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; choose another --to", dst)
	}
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("backup: target folder %s: %w", dir, err)
	}
	_, _ = atomicfile.Sweep(dir, func(string) bool { return true })
	p, err := atomicfile.Create(dst, 0o600, atomicfile.OwnedLike(h.Path))
	if err != nil {
		return nil, fmt.Errorf("backup: target %w", err)
	}
	defer p.Abort()
	if _, err := h.SQL.ExecContext(ctx, "VACUUM INTO ?", p.Path); err != nil {
		return nil, fmt.Errorf("backup: read %s and write the copy in %s: %w", h.Target, dir, err)
	}
	if err := unchanged(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res, err := check(ctx, h.Config(), p.Path)
	if err != nil {
		return nil, err
	}
	if err := p.CommitNew(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res.Path = p.Final()
	return res, nil
}

// check runs quick_check on the copy and counts its rows, through the read-only door.
func check(ctx context.Context, like config.Database, path string) (*Result, error) {
	like.Path = path
	h, err := factory.Open(ctx, like, factory.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("backup: open the copy: %w", err)
	}
	defer h.Close()
	res := &Result{Rows: map[string]int64{}}
	rows, err := h.SQL.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: quick_check the copy: %w", err)
	}
	res.Check = strings.Join(msgs, "; ")
	if res.Check != "ok" {
		return nil, fmt.Errorf("backup: quick_check of the copy failed: %s", res.Check)
	}
	for _, t := range tables {
		var exists int
		if err := h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&exists); err != nil {
			return nil, fmt.Errorf("backup: count %s in the copy: %w", t, err)
		}
		if exists == 0 {
			continue
		}
		var n int64
		if err := h.SQL.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("backup: count %s in the copy: %w", t, err)
		}
		res.Rows[t] = n
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backup: stat the copy: %w", err)
	}
	res.Bytes = fi.Size()
	return res, nil
}

// BeforeMigration writes the backup migrate takes of a SQLite database before it changes the
// schema: next to the database, named after the version it is at
// (compozy-pre-migrate-v20251012060000-20261205T081500Z.db), 0600, keeping the newest keep such
// backups of this database and removing older ones.
func BeforeMigration(ctx context.Context, h *factory.Handle, version int64, now time.Time, keep int) (*Result, []string, error) {
	stem, ext := stemExt(h.Path)
	prefix := stem + "-pre-migrate-"
	dst := prefix + "v" + strconv.FormatInt(version, 10) + "-" + stamp(now) + ext
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = prefix + "v" + strconv.FormatInt(version, 10) + "-" + stamp(now) + "-" + strconv.Itoa(i) + ext
	}
	res, err := SQLiteFrom(ctx, h, dst)
	if err != nil {
		return nil, nil, err
	}
	removed, err := prune(filepath.Dir(h.Path), filepath.Base(prefix), ext, keep)
	return res, removed, err
}

// prune removes all but the newest keep files of dir named PREFIX*EXT (newest by name: the
// names hold the UTC time after the version, so compare that part).
func prune(dir, prefix, ext string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	type named struct{ name, stamp string }
	var found []named
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ext) || !e.Type().IsRegular() {
			continue
		}
		rest := strings.TrimSuffix(strings.TrimPrefix(n, prefix), ext)
		_, when, _ := strings.Cut(rest, "-")
		found = append(found, named{n, when})
	}
	slices.SortFunc(found, func(a, b named) int { return strings.Compare(b.stamp, a.stamp) })
	var removed []string
	for i := keep; i < len(found); i++ {
		p := filepath.Join(dir, found[i].name)
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("backup: remove the old backup %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// BeforeCopy writes the backup `compozy db copy --force` takes of a SQLite target that holds
// rows, before it replaces them: next to the database's real file, named after it with the UTC
// time (compozy-pre-copy-20261205T081500Z.db), 0600, read through the read-only door (the
// target is not changed), keeping the newest keep such backups of this database and removing
// older ones, which it returns.
//
// A target that carries the mark of a copy that did not finish (unfinished) holds part of a
// copy, not the user's data: its backup is named compozy-pre-copy-unfinished-<time>.db and
// counted apart, so that reruns of an interrupted copy never push out the backups of the data
// the target held before the first copy (the newest keep of each kind stay).
func BeforeCopy(ctx context.Context, db config.Database, now time.Time, keep int, unfinished bool) (*Result, []string, error) {
	if db.Path == "" || db.Path == config.MemoryPath {
		return nil, nil, fmt.Errorf("backup: the SQLite database is %q; only a database file can be backed up", db.Path)
	}
	real, err := sqlitefile.Resolve(db.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("backup: %s: %w", db.Path, err)
	}
	stem, ext := stemExt(real)
	prefix := stem + "-pre-copy-"
	if unfinished {
		prefix += unfinishedTag
	}
	dst := prefix + stamp(now) + ext
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = prefix + stamp(now) + "-" + strconv.Itoa(i) + ext
	}
	res, err := SQLite(ctx, db, dst)
	if err != nil {
		return nil, nil, err
	}
	removed, err := pruneCopies(filepath.Dir(real), filepath.Base(prefix), ext, keep)
	return res, removed, err
}

// unfinishedTag names the backups of a target an interrupted copy left (see BeforeCopy).
const unfinishedTag = "unfinished-"

// pruneCopies removes all but the newest keep files of dir named PREFIX<UTC time>[-N]EXT, the
// backups BeforeCopy writes (the names sort by time). The backups of unfinished targets
// (PREFIX unfinished-...) are another kind: pruning one kind never removes the other.
func pruneCopies(dir, prefix, ext string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	var found []string
	for _, e := range entries {
		n := e.Name()
		rest := strings.TrimPrefix(n, prefix)
		if len(rest) == len(n) || !strings.HasSuffix(n, ext) || !e.Type().IsRegular() {
			continue
		}
		// The time starts with a digit: anything else after the prefix is another kind.
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			continue
		}
		found = append(found, n)
	}
	// Newest first, by the part after the prefix without the extension: a second backup in
	// the same second (TIME-2) is newer than TIME.
	when := func(n string) string { return strings.TrimSuffix(strings.TrimPrefix(n, prefix), ext) }
	slices.SortFunc(found, func(a, b string) int { return strings.Compare(when(b), when(a)) })
	var removed []string
	for i := keep; i < len(found); i++ {
		p := filepath.Join(dir, found[i])
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("backup: remove the old backup %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// RestoreHint says how to put a SQLite backup back in place of the database.
func RestoreHint(backupPath, dbPath string) string {
	return fmt.Sprintf("stop Compozy, then: cp %s %s && rm -f %s %s",
		shellquote.Quote(backupPath), shellquote.Quote(dbPath), shellquote.Quote(dbPath+sqlitefile.WALSuffix), shellquote.Quote(dbPath+sqlitefile.SHMSuffix))
}

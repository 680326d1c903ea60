// Package maintenance reclaims the space a Compozy database no longer uses: SQLite's VACUUM (a
// file that never shrinks is SQLite's most reported problem) and PostgreSQL's VACUUM (ANALYZE)
// of Compozy's tables. It opens databases through the one door (core/storage/factory).
package maintenance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/internal/bytesize"
	"compozy.dev/setup/internal/ticker"
)

// Tables are Compozy's tables, in the order PostgreSQL vacuums them.
var tables = []string{"workflow_states", "task_states", "users", "api_keys"}

// Progress reports a vacuum under way.
type Progress struct {
	// Table is the PostgreSQL table being vacuumed; "" for SQLite.
	Table string
	// Done of Total bytes (SQLite: pages written; PostgreSQL: heap blocks scanned, times the
	// block size). Total 0 means unknown.
	Done, Total int64
}

// TableStats are one PostgreSQL table's sizes and tuples before or after.
type TableStats struct {
	Table      string `json:"table"`
	Bytes      int64  `json:"bytes"`
	LiveRows   int64  `json:"live_rows"`
	DeadRows   int64  `json:"dead_rows"`
	Vacuumed   bool   `json:"vacuumed"`
	DeadAfter  int64  `json:"dead_rows_after"`
	BytesAfter int64  `json:"bytes_after"`
}

// Result is what a vacuum did.
type Result struct {
	Driver string `json:"driver"`
	Target string `json:"target"`
	// SQLite: the file (with its -wal) before and after, and the free pages before.
	BytesBefore int64 `json:"bytes_before,omitempty"`
	BytesAfter  int64 `json:"bytes_after,omitempty"`
	FreeBefore  int64 `json:"free_bytes_before,omitempty"`
	// PostgreSQL: Compozy's tables.
	Tables   []TableStats  `json:"tables,omitempty"`
	Duration time.Duration `json:"-"`
}

// BusyError refuses a SQLite vacuum while other processes have the database open: VACUUM needs
// the database to itself for as long as it rewrites it.
type BusyError struct {
	Path    string
	Holders []sqlitefile.Holder
}

func (e *BusyError) Error() string {
	names := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		names[i] = config.Redact(h.String())
	}
	return fmt.Sprintf("%s is open in %s: stop Compozy (and anything else that has it open) and run the vacuum again", e.Path, strings.Join(names, ", "))
}

// SpaceError refuses a SQLite vacuum without room for the copy VACUUM writes.
type SpaceError struct {
	Dir        string
	Need, Have int64
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("VACUUM writes a new copy of the database first: it needs about %s free in %s, which has %s", bytesize.Format(e.Need), e.Dir, bytesize.Format(e.Have))
}

// Vacuum reclaims unused space in db. SQLite: refuses while another process has the file open
// or without room for the copy, then runs VACUUM through the door and truncates the WAL.
// PostgreSQL: VACUUM (ANALYZE) on each of Compozy's tables, with the dead tuples before and
// after. progress, when set, is called while it runs.
func Vacuum(ctx context.Context, db config.Database, progress func(Progress)) (*Result, error) {
	switch db.Driver {
	case config.DriverSQLite:
		return vacuumSQLite(ctx, db, progress)
	case config.DriverPostgres:
		return vacuumPostgres(ctx, db, progress)
	}
	return nil, fmt.Errorf("vacuum: unknown driver %q", db.Driver)
}

func vacuumSQLite(ctx context.Context, db config.Database, progress func(Progress)) (*Result, error) {
	if db.Path == "" || db.Path == config.MemoryPath {
		return nil, fmt.Errorf("vacuum: the SQLite database is %q; only a database file can be vacuumed", db.Path)
	}
	real, err := sqlitefile.Resolve(db.Path)
	if err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	if _, err := os.Stat(real); err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	holders, err := sqlitefile.Holders(real, real+migrate.LockSuffix)
	if err != nil {
		return nil, fmt.Errorf("vacuum: cannot tell whether another process has the database open: %w", err)
	}
	if len(holders) > 0 {
		return nil, &BusyError{Path: real, Holders: holders}
	}
	h, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	res := &Result{Driver: db.Driver, Target: h.Target, BytesBefore: fileBytes(real)}
	var pageSize, pages, free int64
	for q, dst := range map[string]*int64{"PRAGMA page_size": &pageSize, "PRAGMA page_count": &pages, "PRAGMA freelist_count": &free} {
		if err := h.SQL.QueryRowContext(ctx, q).Scan(dst); err != nil {
			return nil, fmt.Errorf("vacuum: %s: %w", q, err)
		}
	}
	res.FreeBefore = free * pageSize
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(real), &st); err == nil {
		have := int64(st.Bavail) * int64(st.Bsize)
		need := (pages-free)*pageSize + (pages-free)*pageSize/10
		if have < need {
			return nil, &SpaceError{Dir: filepath.Dir(real), Need: need, Have: have}
		}
	}
	start := time.Now()
	stop := watch(ctx, progress, func() Progress {
		// VACUUM writes the new pages to the -wal (WAL mode) or keeps the old ones in the
		// -journal (rollback modes): the growing one shows how far it is.
		n := max(fileSize(real+sqlitefile.WALSuffix), fileSize(real+sqlitefile.JournalSuffix))
		return Progress{Done: n, Total: (pages - free) * pageSize}
	})
	_, err = h.SQL.ExecContext(ctx, "VACUUM")
	stop()
	if err != nil {
		return nil, fmt.Errorf("vacuum %s: %w", real, err)
	}
	// Give the WAL's space back too (the vacuumed pages went through it).
	_, _ = h.SQL.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	if err := h.Close(); err != nil {
		return nil, err
	}
	res.BytesAfter = fileBytes(real)
	res.Duration = time.Since(start)
	return res, nil
}

func vacuumPostgres(ctx context.Context, db config.Database, progress func(Progress)) (*Result, error) {
	h, err := factory.Open(ctx, db, factory.ReadWrite)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	res := &Result{Driver: db.Driver, Target: h.Target}
	start := time.Now()
	for _, t := range tables {
		ts := TableStats{Table: t}
		err := h.SQL.QueryRowContext(ctx, `SELECT pg_total_relation_size(c.oid), COALESCE(s.n_live_tup, 0), COALESCE(s.n_dead_tup, 0)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
			WHERE c.relname = $1 AND n.nspname = current_schema()`, t).Scan(&ts.Bytes, &ts.LiveRows, &ts.DeadRows)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the table does not exist here
		}
		if err != nil {
			return nil, fmt.Errorf("vacuum: read the statistics of %s: %w", t, err)
		}
		stop := watch(ctx, progress, func() Progress {
			p := Progress{Table: t}
			_ = h.SQL.QueryRowContext(ctx, `SELECT heap_blks_scanned * current_setting('block_size')::int8, heap_blks_total * current_setting('block_size')::int8
				FROM pg_stat_progress_vacuum WHERE relid = $1::regclass`, t).Scan(&p.Done, &p.Total)
			return p
		})
		_, err = h.SQL.ExecContext(ctx, "VACUUM (ANALYZE) "+quoteIdent(t))
		stop()
		if err != nil {
			return nil, fmt.Errorf("vacuum %s: %w", t, err)
		}
		ts.Vacuumed = true
		if err := h.SQL.QueryRowContext(ctx, `SELECT pg_total_relation_size($1::regclass), COALESCE(n_dead_tup, 0)
			FROM pg_stat_user_tables WHERE relid = $1::regclass`, t).Scan(&ts.BytesAfter, &ts.DeadAfter); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("vacuum: read the statistics of %s: %w", t, err)
		}
		res.Tables = append(res.Tables, ts)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// watch calls report every 250 ms and hands its result to progress, until stop.
func watch(ctx context.Context, progress func(Progress), report func() Progress) (stop func()) {
	if progress == nil {
		return func() {}
	}
	return ticker.Every(ctx, 250*time.Millisecond, func() { progress(report()) })
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// fileBytes is the database file and its -wal.
func fileBytes(p string) int64 { return fileSize(p) + fileSize(p+sqlitefile.WALSuffix) }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
)

// Options configures Copy.
type Options struct {
	// Force replaces the rows a target already holds (and finishes an interrupted copy).
	// Without it, a target with rows, or with the mark of an unfinished copy, is refused.
	Force bool
	// Progress, when set, is called every few thousand rows and at each table's start and end.
	Progress func(Progress)
	// Lock is the target's lock (LockTarget), taken by a caller that does more under it than
	// the copy (a backup of the target first). Without it, Copy takes and releases it itself.
	Lock *TargetLock
}

// Phases of Progress.
const (
	PhaseCopy   = "copy"
	PhaseVerify = "verify"
)

// Progress reports a copy in progress.
type Progress struct {
	Phase string
	Table string
	// Rows done in this table, of TableRows; Done of Total over all tables.
	Rows, TableRows int64
	Done, Total     int64
}

// TableResult is the copy and verification of one table.
type TableResult struct {
	Table          string `json:"table"`
	SourceRows     int64  `json:"source_rows"`
	TargetRows     int64  `json:"target_rows"`
	SourceChecksum string `json:"source_checksum"`
	TargetChecksum string `json:"target_checksum"`
	Match          bool   `json:"match"`
}

// Result is what Copy did.
type Result struct {
	Source string        `json:"source"`
	Target string        `json:"target"`
	Tables []TableResult `json:"tables"`
	// Rows is the number of rows copied.
	Rows int64 `json:"rows"`
	// Migrated is the number of migrations applied to the target first.
	Migrated int `json:"migrations_applied"`
	// RoundedTimestamps counts the source's timestamps with nanoseconds that PostgreSQL, which
	// keeps microseconds, rounded down (SQLite to PostgreSQL only).
	RoundedTimestamps int64 `json:"rounded_timestamps"`
	// Cleared is set when --force removed rows the target held.
	Cleared bool `json:"cleared"`
	// TightenedMode is the mode an existing SQLite target file had when group or others could
	// read or write it ("0644"); the copy made it 0600, as every database compozy creates, since
	// it holds API key hashes. "" when it was already private (or for PostgreSQL).
	TightenedMode string  `json:"tightened_mode,omitempty"`
	CopySeconds   float64 `json:"copy_seconds"`
	RowsPerSec    float64 `json:"rows_per_sec"`
	VerifySeconds float64 `json:"verify_seconds"`
}

// NotEmptyError refuses a target that holds rows or an unfinished copy.
type NotEmptyError struct {
	Target string
	// Rows counts the rows per table that holds any.
	Rows map[string]int64
	// Unfinished is set when the target carries the mark of a copy that did not finish.
	Unfinished bool
	// Mark describes that copy (its source and start time).
	Mark string
}

func (e *NotEmptyError) Error() string {
	var parts []string
	for t, n := range e.Rows {
		parts = append(parts, fmt.Sprintf("%s %d", t, n))
	}
	sort.Strings(parts)
	if e.Unfinished {
		return fmt.Sprintf("target %s holds an unfinished copy (%s; rows: %s); rerun with --force to replace them",
			e.Target, e.Mark, orNone(strings.Join(parts, ", ")))
	}
	return fmt.Sprintf("target %s already holds rows (%s); copy into an empty database, or pass --force to replace them",
		e.Target, strings.Join(parts, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

// MismatchError is a verification failure: the tables whose count or checksum differ.
type MismatchError struct {
	Tables []string
}

func (e *MismatchError) Error() string {
	return "verification failed: source and target differ in " + strings.Join(e.Tables, ", ")
}

// SameDatabaseError refuses a copy of a database onto itself, by whatever names: a symbolic or
// hard link, another host name or address of the same server, a config file and a URL. It is
// returned before anything is opened for writing.
type SameDatabaseError struct {
	Source, Target string
	// Identity is what both names lead to.
	Identity factory.Identity
}

func (e *SameDatabaseError) Error() string {
	return fmt.Sprintf("source %s and target %s are the same database (%s); a copy onto itself would empty it (refused, with --force too)",
		e.Source, e.Target, e.Identity)
}

// Distinct returns the identities of src and dst, or a *SameDatabaseError when they are one
// database by whatever names (see Copy). It opens nothing for writing; a caller asks it before
// asking the user to confirm a copy.
func Distinct(ctx context.Context, src, dst config.Database) (factory.Identity, factory.Identity, error) {
	sid, err := factory.Identify(ctx, src)
	if err != nil {
		return sid, factory.Identity{}, fmt.Errorf("source %s: %w", factory.Target(src), err)
	}
	did, err := factory.Identify(ctx, dst)
	if err != nil {
		return sid, did, fmt.Errorf("target %s: %w", factory.Target(dst), err)
	}
	if sid.Same(did) {
		return sid, did, &SameDatabaseError{Source: factory.Target(src), Target: factory.Target(dst), Identity: sid}
	}
	return sid, did, nil
}

// Copy copies every Compozy table from src into dst, after applying the migrations to dst, and
// verifies the result. src must be migrated to the latest version this binary knows; it is only
// read, through the read-only door (nothing is created beside it). It returns a
// *SameDatabaseError when both name one database, and a *NotEmptyError when dst holds rows
// (unless o.Force), each before writing anything; and a *MismatchError (with the Result) when
// verification finds a difference.
//
// Copies into one target are serialised (see LockTarget): while another copy holds the target's
// lock, Copy returns a *BusyError at once, before anything is opened for writing. The lock is
// o.Lock when given, else Copy takes it and releases it on return.
//
// A SQLite target that does not exist yet is written under a temporary name in its folder and
// takes its name only once verified, so an interrupted copy never leaves a file under that name.
// An existing target is written in place and carries MarkerTable until verified.
func Copy(ctx context.Context, src, dst config.Database, o Options) (*Result, error) {
	_, did, err := Distinct(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	if o.Lock == nil {
		lock, err := LockTarget(ctx, dst)
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	s, err := openSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := checkSourceVersion(ctx, s); err != nil {
		return nil, err
	}
	var pending *atomicfile.Pending
	if dst.Driver == config.DriverSQLite && did.Ino == 0 {
		if err := atomicfile.MkdirAll(filepath.Dir(did.Path), 0o750); err != nil {
			return nil, fmt.Errorf("target %s: create folder: %w", did.Path, err)
		}
		_, _ = atomicfile.Sweep(filepath.Dir(did.Path), func(name string) bool { return name == filepath.Base(did.Path) })
		// Run as root, the new file belongs to whoever owns its folder (the service user).
		if pending, err = atomicfile.Create(did.Path, 0o600, atomicfile.OwnedLike(filepath.Dir(did.Path))); err != nil {
			return nil, fmt.Errorf("target %s: %w", did.Path, err)
		}
		defer pending.Abort()
		// The migrator's lock file is named after the temporary file: it goes with it.
		defer os.Remove(pending.Path + migrate.LockSuffix)
		dst.Path = pending.Path
	}
	res, err := copyInto(ctx, s, dst, o)
	if err != nil || pending == nil {
		return res, err
	}
	res.Target = "sqlite " + pending.Final()
	if err := pending.CommitNew(); err != nil {
		return res, fmt.Errorf("target %s: %w", pending.Final(), err)
	}
	return res, nil
}

// copyInto opens the target, migrates it, copies and verifies.
func copyInto(ctx context.Context, s *endpoint, dst config.Database, o Options) (*Result, error) {
	d, err := openTarget(ctx, dst)
	if err != nil {
		return nil, err
	}
	defer d.close()
	res := &Result{Source: s.target, Target: d.target}
	if d.dialect == config.DriverPostgres {
		if res.RoundedTimestamps, err = subMicrosecond(ctx, s); err != nil {
			return nil, err
		}
	}

	applied, err := d.h.Migrator.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate target %s: %w", d.target, err)
	}
	res.Migrated = len(applied)

	if err := prepareTarget(ctx, d, o.Force, res); err != nil {
		return nil, err
	}
	if d.dialect == config.DriverSQLite {
		if res.TightenedMode, err = tightenMode(d.h.Path); err != nil {
			return nil, err
		}
	}
	if err := d.exec(ctx, "CREATE TABLE IF NOT EXISTS "+MarkerTable+" (source TEXT NOT NULL, started_at TEXT NOT NULL)"); err != nil {
		return nil, fmt.Errorf("mark target %s: %w", d.target, err)
	}
	if err := d.exec(ctx, "INSERT INTO "+MarkerTable+" (source, started_at) VALUES ("+
		literal(markSource(s))+", "+literal(time.Now().UTC().Format(time.RFC3339))+")"); err != nil {
		return nil, fmt.Errorf("mark target %s: %w", d.target, err)
	}

	var total int64
	counts := make([]int64, len(tables))
	for i, t := range tables {
		if counts[i], err = s.count(ctx, t.name); err != nil {
			return nil, err
		}
		total += counts[i]
	}
	start := time.Now()
	var done int64
	for i, t := range tables {
		n, err := copyTable(ctx, s, d, t, counts[i], &done, total, o.Progress)
		res.Rows += n
		if err != nil {
			return nil, err
		}
	}
	res.CopySeconds = time.Since(start).Seconds()
	if res.CopySeconds > 0 {
		res.RowsPerSec = float64(res.Rows) / res.CopySeconds
	}
	if d.dialect == config.DriverPostgres {
		// Fresh statistics for the planner, as after any bulk load.
		_ = d.exec(ctx, "ANALYZE")
	}

	vstart := time.Now()
	if res.Tables, err = verify(ctx, s, d, o.Progress); err != nil {
		return nil, err
	}
	res.VerifySeconds = time.Since(vstart).Seconds()
	var bad []string
	for _, t := range res.Tables {
		if !t.Match {
			bad = append(bad, t.Table)
		}
	}
	if len(bad) > 0 {
		return res, &MismatchError{Tables: bad}
	}
	if err := s.h.Unchanged(); err != nil {
		return res, fmt.Errorf("source: %w; stop Compozy and copy again", err)
	}
	if err := d.exec(ctx, "DROP TABLE "+MarkerTable); err != nil {
		return res, fmt.Errorf("unmark target %s: %w", d.target, err)
	}
	return res, nil
}

// tightenMode makes a SQLite target file and its side files 0600 when group or others may read
// or write them (a file created empty by hand with umask 022), before any row is written: the
// target is about to hold API key hashes. It returns the file's mode before ("0644"), or ""
// when it was already private.
func tightenMode(path string) (string, error) {
	var was string
	for i, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		info, err := os.Stat(p)
		if err != nil {
			if i > 0 && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return "", fmt.Errorf("target %s: %w", path, err)
		}
		if info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if i == 0 {
			was = fmt.Sprintf("%04o", info.Mode().Perm())
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return "", fmt.Errorf("target %s: make it private (mode 0600): %w", p, err)
		}
	}
	return was, nil
}

// markSource is the source as the mark of an unfinished copy records it, in a form the copy can
// be given again on a command line: "sqlite /real/path", or a PostgreSQL URL with every setting
// but the password (which is not recorded; the doctor says it goes in PGPASSWORD).
func markSource(s *endpoint) string {
	if s.dialect == config.DriverPostgres {
		if cs, err := factory.PostgresConnSettings(s.h.Config()); err == nil {
			return cs.URL()
		}
	}
	return s.target
}

// checkSourceVersion refuses a source whose schema is not exactly the one this binary knows.
func checkSourceVersion(ctx context.Context, s *endpoint) error {
	c, err := s.h.Migrator.Check(ctx)
	if err != nil {
		return fmt.Errorf("check source schema of %s: %w", s.target, err)
	}
	if !c.UpToDate() {
		return fmt.Errorf("source %s is at schema version %d, not %d (the latest this binary knows); run 'compozy migrate up' on it first, or use the compozy that matches it",
			s.target, c.Current, c.Latest)
	}
	return nil
}

// prepareTarget refuses a non-empty or unfinished target, or, with force, clears it.
func prepareTarget(ctx context.Context, d *endpoint, force bool, res *Result) error {
	ne := &NotEmptyError{Target: d.target, Rows: map[string]int64{}}
	marked, mark, err := d.mark(ctx)
	if err != nil {
		return err
	}
	ne.Unfinished, ne.Mark = marked, mark
	for _, t := range tables {
		n, err := d.count(ctx, t.name)
		if err != nil {
			return err
		}
		if n > 0 {
			ne.Rows[t.name] = n
		}
	}
	if len(ne.Rows) == 0 && !marked {
		return nil
	}
	if !force {
		return ne
	}
	if err := clearTarget(ctx, d); err != nil {
		return err
	}
	if marked {
		if err := d.exec(ctx, "DROP TABLE "+MarkerTable); err != nil {
			return fmt.Errorf("clear target %s: %w", d.target, err)
		}
	}
	res.Cleared = true
	return nil
}

// clearTarget removes every row of Compozy's tables.
func clearTarget(ctx context.Context, d *endpoint) error {
	if d.dialect == config.DriverPostgres {
		if err := d.exec(ctx, "TRUNCATE "+strings.Join(TableNames(), ", ")); err != nil {
			return fmt.Errorf("clear target %s: %w", d.target, err)
		}
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("clear target %s: %w", d.target, err)
	}
	defer func() { _ = tx.Rollback() }()
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+tables[i].name); err != nil {
			return fmt.Errorf("clear %s in target %s: %w", tables[i].name, d.target, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("clear target %s: %w", d.target, err)
	}
	return nil
}

// copyTable streams one table from s to d: a reader goroutine feeds a small buffer that the
// writer drains, so at most that buffer of rows is in memory.
func copyTable(ctx context.Context, s, d *endpoint, t table, tableRows int64, done *int64, total int64, progress func(Progress)) (int64, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan row, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(rows)
		errc <- s.scan(rctx, t, func(r row) error {
			select {
			case rows <- r:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		})
	}()
	report := func(n int64) {
		if progress != nil {
			progress(Progress{Phase: PhaseCopy, Table: t.name, Rows: n, TableRows: tableRows, Done: *done, Total: total})
		}
	}
	report(0)
	var n int64
	readerDone := false
	next := func() (row, error) {
		r, ok := <-rows
		if !ok {
			readerDone = true
			return nil, <-errc
		}
		n++
		*done++
		if n%2048 == 0 {
			report(n)
		}
		return r, nil
	}
	written, err := d.write(ctx, t, next)
	if !readerDone {
		cancel()
		for range rows {
		}
		if rerr := <-errc; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
			err = rerr
		}
	}
	report(n)
	if err != nil {
		return written, fmt.Errorf("copy %s: %w", t.name, err)
	}
	return written, nil
}

// verify computes, for every table, the row count and checksum on both sides (in parallel).
func verify(ctx context.Context, s, d *endpoint, progress func(Progress)) ([]TableResult, error) {
	var out []TableResult
	for _, t := range tables {
		if progress != nil {
			progress(Progress{Phase: PhaseVerify, Table: t.name})
		}
		type sum struct {
			c   checksum
			err error
		}
		sc := make(chan sum, 1)
		go func() {
			var x sum
			x.err = s.scan(ctx, t, func(r row) error { return x.c.add(t, r) })
			sc <- x
		}()
		var dc checksum
		derr := d.scan(ctx, t, func(r row) error { return dc.add(t, r) })
		sx := <-sc
		if sx.err != nil {
			return nil, fmt.Errorf("verify %s: %w", t.name, sx.err)
		}
		if derr != nil {
			return nil, fmt.Errorf("verify %s: %w", t.name, derr)
		}
		out = append(out, TableResult{Table: t.name, SourceRows: sx.c.rows, TargetRows: dc.rows,
			SourceChecksum: sx.c.String(), TargetChecksum: dc.String(),
			Match: sx.c.rows == dc.rows && sx.c.String() == dc.String()})
	}
	return out, nil
}

// Checksums computes the row count and checksum of every table of one database, as Copy's
// verification does; tests and scripts compare two databases with it.
func Checksums(ctx context.Context, db config.Database) ([]TableResult, error) {
	e, err := openSource(ctx, db)
	if err != nil {
		return nil, err
	}
	defer e.close()
	var out []TableResult
	for _, t := range tables {
		var c checksum
		if err := e.scan(ctx, t, func(r row) error { return c.add(t, r) }); err != nil {
			return nil, fmt.Errorf("checksum %s: %w", t.name, err)
		}
		out = append(out, TableResult{Table: t.name, SourceRows: c.rows, SourceChecksum: c.String()})
	}
	return out, nil
}

// Package watch samples a running database for `compozy doctor --watch`, changing nothing: it
// reads through the door's read-only handle, stats files and reads /proc/locks. A Sample is
// data; LineWriter prints one line per sample for a pipe (like vmstat), and tui/watchpane draws
// the same samples on a terminal.
//
// SQLite: the file, -wal and -shm sizes (stat), the WAL's frames and how many of them a
// checkpoint has copied (the -shm's wal-index header), the checkpoints that started the WAL
// over (the -wal header's checkpoint sequence), pages and free pages (PRAGMA page_count,
// freelist_count), the process holding the write lock (/proc/locks), and the watch's own
// reads that met a lock (busy) with how long the last one took.
//
// PostgreSQL: this database's connections by state against the server's budget
// (max_connections less the reserved slots), sessions waiting for a lock and the sessions
// blocking them, the longest open transaction, the database's size, dead tuples of task_states
// and workflow_states, and the standbys' replay lag (or, on a standby, its own).
package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
)

// Sample is the state of the database at one moment.
type Sample struct {
	Time time.Time
	// SQLite or Postgres is set, by the database's dialect.
	SQLite   *SQLite
	Postgres *Postgres
	// Err is what could not be read this time (redacted); the fields read are still set.
	Err string
}

// SQLite is a SQLite database's sample.
type SQLite struct {
	// DBBytes, WALBytes and SHMBytes are the file sizes (0 for a missing file).
	DBBytes, WALBytes, SHMBytes int64
	// PageSize, Pages and FreePages are the database's (PRAGMA page_size, page_count,
	// freelist_count: the WAL included).
	PageSize, Pages, FreePages int64
	// WALFrames are the frames in the WAL; Backfilled of them a checkpoint has copied into the
	// database file; both -1 when the wal-index cannot be read.
	WALFrames, Backfilled int64
	// Restarts counts the checkpoints that started the WAL over since the watch began.
	Restarts int64
	// Writer is the process holding a write lock ("PID 1234 (compozy serve)"); "" for none.
	// WriterPID is its PID (0 for none); Holders counts the processes with any lock.
	Writer    string
	WriterPID int
	Holders   int
	// Busy counts the watch's reads that met a lock since it began; ReadTime is how long the
	// last read took (it waits out a lock up to the busy timeout).
	Busy     int64
	ReadTime time.Duration
}

// Postgres is a PostgreSQL database's sample.
type Postgres struct {
	// Active, Idle, IdleInTx and Other count this database's sessions by state; Total is
	// their sum. Budget is what the server allows (max_connections less the reserved
	// slots), ServerTotal the sessions of the whole server.
	Active, Idle, IdleInTx, Other, Total int
	ServerTotal, Budget                  int
	// LockWaits counts sessions waiting for a lock; Blockers are the PIDs blocking them.
	LockWaits int
	Blockers  []int
	// LongestTx is the age of the oldest open transaction, LongestPID its session.
	LongestTx  time.Duration
	LongestPID int
	// DBBytes is pg_database_size.
	DBBytes int64
	// DeadTasks and DeadWorkflows are n_dead_tup of task_states and workflow_states (-1
	// when the table is not there).
	DeadTasks, DeadWorkflows int64
	// Standby is set on a server in recovery; Replicas counts the standbys streaming from
	// this one; Lag is the largest replay lag (of the standbys, or of this standby).
	Standby  bool
	Replicas int
	Lag      time.Duration
}

// Sampler takes samples of one database.
type Sampler struct {
	h *factory.Handle
	// firstSeq is the -wal header's checkpoint sequence at the first sample (-1: not read yet).
	firstSeq int64
	busy     int64
	holders  func(path, lockPath string) ([]sqlitefile.Holder, error)
	// file is the SQLite file the handle opened, to tell when its name stops leading to it.
	file sqlitefile.Info
}

// New returns a sampler of the database h, which must be open read-only: a sample reads, it
// never writes.
func New(h *factory.Handle) (*Sampler, error) {
	if h.Mode != factory.ReadOnly {
		return nil, fmt.Errorf("watch: the handle is %s; the watch reads through a read-only one", h.Mode)
	}
	s := &Sampler{h: h, firstSeq: -1, holders: sqlitefile.Holders}
	if h.Dialect == config.DriverSQLite {
		s.file, _ = sqlitefile.Stat(h.Path)
	}
	return s, nil
}

// Dialect is the database's dialect (config.DriverSQLite or config.DriverPostgres).
func (s *Sampler) Dialect() string { return s.h.Dialect }

// Sample reads the database's state now.
func (s *Sampler) Sample(ctx context.Context) Sample {
	out := Sample{Time: time.Now()}
	var err error
	if s.h.Dialect == config.DriverSQLite {
		out.SQLite, err = s.sqlite(ctx)
	} else {
		out.Postgres, err = s.postgres(ctx)
	}
	if err != nil {
		out.Err = config.Redact(err.Error())
	}
	return out
}

func (s *Sampler) sqlite(ctx context.Context) (*SQLite, error) {
	path := s.h.Path
	q := &SQLite{WALFrames: -1, Backfilled: -1}
	sides := sqlitefile.SideFiles(path)
	q.DBBytes, q.WALBytes, q.SHMBytes = size(path), sides.WALSize, sides.SHMSize
	if w, err := sqlitefile.ReadWALIndex(path); err == nil {
		q.WALFrames, q.Backfilled = w.Frames, w.Backfilled
	}
	if seq, ok := checkpointSeq(path + sqlitefile.WALSuffix); ok {
		if s.firstSeq < 0 {
			s.firstSeq = seq
		}
		q.Restarts = seq - s.firstSeq
	}
	var errs []error
	if err := s.stillThere(path); err != nil {
		errs = append(errs, err)
	}
	if hs, err := s.holders(path, path+migrate.LockSuffix); err == nil {
		q.Holders = len(hs)
		for _, h := range hs {
			if h.Write {
				q.Writer, q.WriterPID = config.Redact(h.String()), h.PID
				break
			}
		}
	} else {
		errs = append(errs, err)
	}
	start := time.Now()
	err := s.h.SQL.QueryRowContext(ctx, "SELECT page_count, freelist_count, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()").
		Scan(&q.Pages, &q.FreePages, &q.PageSize)
	q.ReadTime = time.Since(start)
	if err != nil {
		if factory.IsBusy(err) {
			s.busy++
		}
		errs = append(errs, fmt.Errorf("read page counts: %w", err))
	}
	q.Busy = s.busy
	return q, errors.Join(errs...)
}

// stillThere says when path no longer leads to the file the watch opened: removed or renamed,
// or replaced by another file. The open connection goes on reading the file it opened, so the
// figures would otherwise go on as if nothing had happened.
func (s *Sampler) stillThere(path string) error {
	now, err := sqlitefile.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the database file %s is gone (removed or renamed while the watch ran): these figures are of the file the watch opened; start the watch again", path)
	case err != nil:
		return fmt.Errorf("stat the database file: %w", err)
	case s.file.Ino != 0 && !now.Same(s.file):
		return fmt.Errorf("%s is another file now (replaced while the watch ran): these figures are of the file the watch opened; start the watch again", path)
	}
	return nil
}

// checkpointSeq reads the checkpoint sequence of the -wal file's header (bytes 12-15, big
// endian), which each checkpoint that starts the WAL over raises.
func checkpointSeq(wal string) (int64, bool) {
	f, err := os.Open(wal)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var hdr [16]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, false
	}
	if magic := binary.BigEndian.Uint32(hdr[0:4]); magic&^1 != 0x377f0682 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint32(hdr[12:16])), true
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// pgSampleSQL reads a PostgreSQL sample in one statement (one round trip, one snapshot of the
// statistics).
const pgSampleSQL = `SELECT
  count(*) FILTER (WHERE a.datname = current_database() AND a.state = 'active'),
  count(*) FILTER (WHERE a.datname = current_database() AND a.state = 'idle'),
  count(*) FILTER (WHERE a.datname = current_database() AND a.state LIKE 'idle in transaction%'),
  count(*) FILTER (WHERE a.datname = current_database() AND a.state IS DISTINCT FROM 'active' AND a.state IS DISTINCT FROM 'idle' AND coalesce(a.state, '') NOT LIKE 'idle in transaction%'),
  count(*) FILTER (WHERE a.backend_type = 'client backend'),
  current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
    - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0),
  count(*) FILTER (WHERE a.wait_event_type = 'Lock'),
  coalesce((SELECT string_agg(DISTINCT b::text, ',') FROM pg_stat_activity w, unnest(pg_blocking_pids(w.pid)) b WHERE w.wait_event_type = 'Lock'), ''),
  coalesce(extract(epoch FROM max(now() - a.xact_start) FILTER (WHERE a.datname = current_database() AND a.pid <> pg_backend_pid())), 0)::float8,
  coalesce((SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 1), 0),
  pg_database_size(current_database()),
  coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'task_states' ORDER BY schemaname = current_schema() DESC LIMIT 1), -1),
  coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'workflow_states' ORDER BY schemaname = current_schema() DESC LIMIT 1), -1),
  pg_is_in_recovery(),
  (SELECT count(*) FROM pg_stat_replication),
  coalesce(CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())
    ELSE (SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication) END, 0)::float8
FROM pg_stat_activity a`

func (s *Sampler) postgres(ctx context.Context) (*Postgres, error) {
	p := &Postgres{}
	var blockers string
	var longest, lag float64
	err := s.h.SQL.QueryRowContext(ctx, pgSampleSQL).Scan(&p.Active, &p.Idle, &p.IdleInTx, &p.Other, &p.ServerTotal, &p.Budget,
		&p.LockWaits, &blockers, &longest, &p.LongestPID, &p.DBBytes, &p.DeadTasks, &p.DeadWorkflows, &p.Standby, &p.Replicas, &lag)
	if err != nil {
		return p, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	p.Total = p.Active + p.Idle + p.IdleInTx + p.Other
	p.LongestTx = time.Duration(longest * float64(time.Second))
	p.Lag = time.Duration(lag * float64(time.Second))
	p.Blockers = parsePIDs(blockers)
	return p, nil
}

func parsePIDs(s string) []int {
	var out []int
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if n, err := strconv.Atoi(s[start:i]); err == nil {
				out = append(out, n)
			}
			start = i + 1
		}
	}
	return out
}

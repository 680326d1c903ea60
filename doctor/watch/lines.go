package watch

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// SQLiteColumns and PostgresColumns are the columns of LineWriter's lines, in order.
var (
	SQLiteColumns = []string{"time", "db_kb", "wal_kb", "wal_frames", "ckpt_frames", "restarts", "pages", "free_pages",
		"busy", "read_ms", "holders", "writer_pid"}
	PostgresColumns = []string{"time", "conns", "active", "idle", "idle_tx", "other", "server", "budget", "lock_waits",
		"blockers", "longest_tx_s", "db_kb", "dead_tasks", "dead_workflows", "replicas", "lag_s"}
)

// LineWriter writes one line per sample for a pipe or a log, like vmstat: a header line of
// column names first, then space-separated fields, "-" for a value that is not known. What a
// sample could not read goes to Errors (standard error), so every line of Out parses.
type LineWriter struct {
	Out, Errors io.Writer
	header      bool
}

// Write writes s as one line (after the header, the first time).
func (w *LineWriter) Write(s Sample) error {
	var names, vals []string
	switch {
	case s.SQLite != nil:
		names, vals = SQLiteColumns, sqliteFields(s.Time, s.SQLite)
	case s.Postgres != nil:
		names, vals = PostgresColumns, postgresFields(s.Time, s.Postgres)
	}
	if s.Err != "" && w.Errors != nil {
		fmt.Fprintf(w.Errors, "%s %s\n", s.Time.Format(time.TimeOnly), s.Err)
	}
	if names == nil {
		return nil
	}
	var b strings.Builder
	if !w.header {
		w.header = true
		writeRow(&b, names, names)
	}
	writeRow(&b, names, vals)
	if _, err := io.WriteString(w.Out, b.String()); err != nil {
		return fmt.Errorf("write watch line: %w", err)
	}
	return nil
}

// writeRow writes vals right-aligned under names (the first, the time, left-aligned).
func writeRow(b *strings.Builder, names, vals []string) {
	for i, v := range vals {
		wd := max(len(names[i]), 5)
		switch i {
		case 0:
			fmt.Fprintf(b, "%-8s", v)
		default:
			fmt.Fprintf(b, " %*s", wd, v)
		}
	}
	b.WriteString("\n")
}

func sqliteFields(t time.Time, q *SQLite) []string {
	writer := "-"
	if q.WriterPID != 0 {
		writer = strconv.Itoa(q.WriterPID)
	}
	return []string{t.Format(time.TimeOnly), kb(q.DBBytes), kb(q.WALBytes), known(q.WALFrames), known(q.Backfilled),
		itoa(q.Restarts), itoa(q.Pages), itoa(q.FreePages), itoa(q.Busy), itoa(q.ReadTime.Milliseconds()),
		strconv.Itoa(q.Holders), writer}
}

func postgresFields(t time.Time, p *Postgres) []string {
	blockers := "-"
	if len(p.Blockers) > 0 {
		ids := make([]string, len(p.Blockers))
		for i, b := range p.Blockers {
			ids[i] = strconv.Itoa(b)
		}
		blockers = strings.Join(ids, ",")
	}
	return []string{t.Format(time.TimeOnly), strconv.Itoa(p.Total), strconv.Itoa(p.Active), strconv.Itoa(p.Idle),
		strconv.Itoa(p.IdleInTx), strconv.Itoa(p.Other), strconv.Itoa(p.ServerTotal), strconv.Itoa(p.Budget),
		strconv.Itoa(p.LockWaits), blockers, seconds(p.LongestTx), kb(p.DBBytes), known(p.DeadTasks), known(p.DeadWorkflows),
		strconv.Itoa(p.Replicas), seconds(p.Lag)}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// known is n, or "-" for -1 (not known).
func known(n int64) string {
	if n < 0 {
		return "-"
	}
	return itoa(n)
}

func kb(n int64) string { return itoa((n + 1023) / 1024) }

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }

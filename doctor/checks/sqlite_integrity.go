package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
	"compozy.dev/setup/internal/shellquote"
	"compozy.dev/setup/internal/ticker"
)

// sqliteIntegrityCheck is sqlite.integrity: quick_check finds no damage. It reads every page,
// so the default run leaves a database above the limit to --deep, which is unbounded by the
// per-check timeout and reports its progress.
func (s *Set) sqliteIntegrityCheck() doctor.Check {
	files, path, conn := s.in.Files, s.db.Path, s.sqliteConn
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
	return integrity
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
	return ticker.Every(ctx, 250*time.Millisecond, report)
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

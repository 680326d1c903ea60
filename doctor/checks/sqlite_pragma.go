package checks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/sqlitefile"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
)

// The settings of this file are read back from the read-only connection, which the one door
// opens with the database section as it opens Compozy's; without a connection the busy timeout
// and synchronous level are the configured ones, and each result's detail says where the value
// came from.

// sqliteJournalCheck is sqlite.journal_mode: the file is in WAL mode, as configured.
func (s *Set) sqliteJournalCheck() doctor.Check {
	files, db, conn := s.in.Files, s.db, s.sqliteConn
	path := db.Path
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
	return journal
}

// sqliteBusyCheck is sqlite.busy_timeout: a lock wait lasts long enough for another writer to
// finish.
func (s *Set) sqliteBusyCheck() doctor.Check {
	db, conn := s.db, s.sqliteConn
	return check(doctor.IDSQLiteBusy, func(ctx context.Context) doctor.Result {
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
}

// sqliteSynchronousCheck is sqlite.synchronous: not off, which a crash or power loss can
// corrupt the database with.
func (s *Set) sqliteSynchronousCheck() doctor.Check {
	db, conn := s.db, s.sqliteConn
	return check(doctor.IDSQLiteSynchronous, func(ctx context.Context) doctor.Result {
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
			level, _ = syncLevel(int(level[0] - '0'))
		}
		return level, "from database.synchronous: no connection to read it back from (see sqlite.file)", nil
	}
	v, err := c.Pragma(ctx, "synchronous")
	if err != nil {
		return "", "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	level, ok := syncLevel(n)
	if err != nil || !ok {
		return "", "", fmt.Errorf("PRAGMA synchronous: %q is not 0-3", v)
	}
	return level, "read back from the read-only connection (PRAGMA synchronous), which the door opens with database.synchronous", nil
}

// syncLevel is PRAGMA synchronous's value n by name; ok is false for a number it has no name
// for.
func syncLevel(n int) (level string, ok bool) {
	switch n {
	case 0:
		return "off", true
	case 1:
		return "normal", true
	case 2:
		return "full", true
	case 3:
		return "extra", true
	}
	return "", false
}

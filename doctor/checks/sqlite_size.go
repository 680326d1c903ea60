package checks

import (
	"context"
	"fmt"
	"strings"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
)

// sqliteSizeCheck is sqlite.size: the database's size, its free pages and its WAL, with a
// warning when free pages or the WAL grow large (and who keeps the WAL from a checkpoint).
func (s *Set) sqliteSizeCheck() doctor.Check {
	files, path, conn := s.in.Files, s.db.Path, s.sqliteConn
	return check(doctor.IDSQLiteSize, func(ctx context.Context) doctor.Result {
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
}

// freePagesLimit and walPinnedLimit are the sizes from which free pages (also above a quarter
// of the file) and a WAL kept from being checkpointed are worth a warning; walLargeLimit is a
// WAL large enough to warn about although no reader holds it.
const (
	freePagesLimit = 64 << 20
	walPinnedLimit = 64 << 20
	walLargeLimit  = 256 << 20
)

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

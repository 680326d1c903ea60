package checks

import (
	"context"
	"fmt"
	"strings"

	"compozy.dev/setup/core/migrate"
	"compozy.dev/setup/doctor"
)

// sqliteLockCheck is sqlite.lock: no other process holds the write lock or the migration lock
// (from /proc/locks); the processes that have the file open are named.
func (s *Set) sqliteLockCheck() doctor.Check {
	path := s.db.Path
	return check(doctor.IDSQLiteLock, func(ctx context.Context) doctor.Result {
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

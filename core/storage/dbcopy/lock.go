package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// LockSuffix names the lock file of a SQLite target: its real path (links followed) plus
// LockSuffix, for example compozy.db.copy.lock. It is another file than the migration lock
// (migrate.LockSuffix): the copy migrates its target, and so takes that lock too, inside.
const LockSuffix = ".copy.lock"

// postgresCopyLockKey is the session advisory lock a copy holds on its PostgreSQL target for the
// whole copy ("compozyC" in ASCII). Advisory locks belong to one database, so the key needs no
// database in it; it differs from the migration lock's and goose's.
const postgresCopyLockKey int64 = 0x636f6d706f7a7943

// copyAppName is the application_name of the session that holds a PostgreSQL target's lock, so
// that a second copy can name the process it waits for.
const copyAppName = "compozy db copy (pid "

// BusyError refuses a copy into a target another copy is writing (or about to write): copies
// into one database are serialised, and the second is refused at once, before anything is
// changed. It names the other copy where it can be known.
type BusyError struct {
	// Target is the target, secrets redacted.
	Target string
	// PID is the process of the other copy; 0 when unknown.
	PID int
	// Since is when the other copy took the lock ("" when unknown).
	Since string
	// Lock is what is held: the lock file, or the PostgreSQL advisory lock and its session.
	Lock string
}

func (e *BusyError) Error() string {
	who := "another compozy db copy"
	var about []string
	if e.PID > 0 {
		about = append(about, "PID "+strconv.Itoa(e.PID))
	}
	if e.Since != "" {
		about = append(about, "since "+e.Since)
	}
	if len(about) > 0 {
		who += " (" + strings.Join(about, ", ") + ")"
	}
	return fmt.Sprintf("%s is copying into the target %s (it holds %s); nothing was changed: wait for it to finish, then run again",
		who, e.Target, e.Lock)
}

// TargetLock is a held lock on a copy's target: a second copy into the same database, by
// whatever name, is refused with a *BusyError while it is held. Release it once the copy (and
// whatever the caller does around it, such as a backup of the target) is done.
type TargetLock struct {
	// Target is the target, secrets redacted.
	Target string
	// Files are the lock files of a SQLite target (none for PostgreSQL).
	Files   []string
	release func()
}

// Release lets the next copy in. It may be called more than once.
func (l *TargetLock) Release() {
	if l != nil && l.release != nil {
		l.release()
		l.release = nil
	}
}

// LockTarget takes the lock that serialises copies into dst, or returns a *BusyError naming the
// copy that holds it, at once (it does not wait). The identity is the one the door gives
// (factory.Identify): a SQLite target is its real file, so a symbolic link, a hard link or a
// path with ../ lead to the same lock; a PostgreSQL target is its database on its server.
//
// SQLite: flock on the lock file beside the real file (real path + LockSuffix, 0600, owned
// like the database), the same kind of lock as the migration lock (see core/migrate): the
// kernel drops it when the process dies, so a crash leaves no stale lock, and Release removes the
// file, so a finished copy leaves none. A file with more
// An existing file is also locked by device and inode, on a file in its folder (hard links). The
// lock file holds the PID of the copy that holds it. A missing target's folder is created.
//
// PostgreSQL: a session advisory lock on a connection of its own, held until Release. Through
// a transaction pooler a session lock does not hold; there the copy is refused as the
// migration is (the pooler error, with the direct host when known), before anything changes.
func LockTarget(ctx context.Context, dst config.Database) (*TargetLock, error) {
	switch dst.Driver {
	case config.DriverSQLite:
		if dst.Path == "" || dst.Path == config.MemoryPath {
			return nil, fmt.Errorf("lock target: SQLite path %q is not a database file", dst.Path)
		}
		id, err := factory.Identify(ctx, dst)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", factory.Target(dst), err)
		}
		return lockSQLite(id)
	case config.DriverPostgres:
		return lockPostgres(ctx, dst)
	}
	return nil, fmt.Errorf("lock target: unknown driver %q", dst.Driver)
}

// lockContent is what a lock file holds while locked: the holder's PID and since when.
func lockContent() []byte {
	return fmt.Appendf(nil, "pid %d\nsince %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
}

// parseLockContent reads lockContent back; zero values where it is missing (the holder may be
// writing it right now).
func parseLockContent(b []byte) (pid int, since string) {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			pid, _ = strconv.Atoi(v)
		case "since":
			since = v
		}
	}
	return pid, since
}

func lockPostgres(ctx context.Context, dst config.Database) (*TargetLock, error) {
	h, err := factory.Open(ctx, dst, factory.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("lock target %s: %w", factory.Target(dst), err)
	}
	if refusal := h.Migrator.PoolerRefusal(); refusal != nil {
		// The copy migrates its target first, which is refused here; so is the copy, now.
		h.Close()
		return nil, fmt.Errorf("target %s: %w", h.Target, refusal)
	}
	conn, err := h.Pool.Acquire(ctx)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("lock target %s: connect: %w", h.Target, err)
	}
	fail := func(err error) (*TargetLock, error) {
		conn.Release()
		h.Close()
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('application_name', $1, false)", copyAppName+strconv.Itoa(os.Getpid())+")"); err != nil {
		return fail(fmt.Errorf("lock target %s: %w", h.Target, err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", postgresCopyLockKey).Scan(&ok); err != nil {
		return fail(fmt.Errorf("lock target %s: %w", h.Target, err))
	}
	if !ok {
		busy := &BusyError{Target: h.Target, Lock: fmt.Sprintf("the advisory lock %d of this database", postgresCopyLockKey)}
		var (
			backend int
			app     string
			since   time.Time
		)
		// The session that holds it: its application_name says the compozy process.
		err := conn.QueryRow(ctx, `SELECT a.pid, coalesce(a.application_name, ''), a.backend_start
			FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid LIMIT 1`,
			postgresCopyLockKey>>32, postgresCopyLockKey&0xffffffff).Scan(&backend, &app, &since)
		if err == nil {
			if rest, found := strings.CutPrefix(app, copyAppName); found {
				busy.PID, _ = strconv.Atoi(strings.TrimSuffix(rest, ")"))
			}
			busy.Since = since.UTC().Format(time.RFC3339)
			busy.Lock += fmt.Sprintf(", server process %d", backend)
		}
		return fail(busy)
	}
	return &TargetLock{Target: h.Target, release: func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", postgresCopyLockKey)
		conn.Release()
		h.Close()
	}}, nil
}

// IsBusy reports whether err is a *BusyError.
func IsBusy(err error) bool {
	var b *BusyError
	return errors.As(err, &b)
}

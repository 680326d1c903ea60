//go:build unix

package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"compozy.dev/setup/core/atomicfile"
)

// lock serialises writing runs on a SQLite database across goroutines and processes. goose has
// no SQLite locker, and SQLite's own locks cannot span a whole run: goose applies each migration
// in its own transaction, so two migrators could interleave (both see version N pending, both
// apply it).
//
// The lock is flock(LOCK_EX) on a lock file next to the database (compozy.db.migrate.lock),
// not on the database file itself. SQLite's unix VFS holds POSIX fcntl locks on the database
// file, and POSIX locks belong to the process: closing ANY descriptor of that file drops all of
// them (https://sqlite.org/howtocorrupt.html, section 2.2). Opening and closing the database
// file ourselves to flock it would silently release the locks SQLite holds for this process's
// open connections, for example the shared lock that tells another process it is not the last
// connection and must not delete the WAL. A separate file has no such interaction, and it also
// works where flock is emulated with fcntl (NFS). flock locks belong to the open file
// description, so two Migrators in one process exclude each other too, and the kernel releases
// the lock when the process dies, so a crash never leaves a stale lock. The file is left in
// place: deleting it would race with a process that has it open and is waiting.
//
// When compozy runs as root the lock file belongs to the database's owner (core/atomicfile's
// rule), also when an earlier root run left it root's: otherwise the service user, who owns the
// database, could no longer open it and every later migration of theirs would fail.
//
// Waiting polls LOCK_NB so the context's deadline and cancellation are honoured.
func (m *Migrator) lock(ctx context.Context) (unlock func(), err error) {
	if m.readOnly {
		return nil, ErrReadOnly
	}
	if m.lockPath == "" {
		return func() {}, nil
	}
	f, err := os.OpenFile(m.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("migrate: open lock file: %w", err)
	}
	if err := atomicfile.ChownLike(m.lockPath, strings.TrimSuffix(m.lockPath, LockSuffix)); err != nil {
		f.Close()
		return nil, fmt.Errorf("migrate: lock file: %w", err)
	}
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("migrate: lock %s: %w", m.lockPath, err)
		}
		t := time.NewTimer(m.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("migrate: wait for lock %s (another migration is running): %w", m.lockPath, ctx.Err())
		case <-t.C:
		}
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

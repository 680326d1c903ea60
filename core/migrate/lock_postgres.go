package migrate

import (
	"context"
	"fmt"
	"time"
)

// postgresLockKey is the advisory lock compozy's writing runs hold on PostgreSQL ("compozy" in
// ASCII); goose's own lock has another key.
const postgresLockKey int64 = 0x636f6d706f7a79

// lockPostgres holds a session advisory lock on a connection of its own for the whole run, so
// that the plan, the guard's check and the run see the same database: a second compozy that
// plans meanwhile waits, and plans again once the first is done. Waiting polls, so the
// context's deadline is honoured.
func (m *Migrator) lockPostgres(ctx context.Context) (func(), error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connection for the migration lock: %w", err)
	}
	poll := m.poll
	if poll <= 0 || poll > time.Second {
		poll = 100 * time.Millisecond
	}
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", postgresLockKey).Scan(&ok); err != nil {
			conn.Close()
			return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			conn.Close()
			return nil, fmt.Errorf("migrate: wait for the migration lock (another compozy migrate is running): %w", ctx.Err())
		case <-t.C:
		}
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", postgresLockKey)
		conn.Close()
	}, nil
}

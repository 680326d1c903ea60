//go:build !unix

package migrate

import "context"

// lock is a no-op where flock is unavailable: concurrent SQLite migrations are not serialised
// on these platforms. See lock_unix.go.
func (m *Migrator) lock(ctx context.Context) (unlock func(), err error) {
	if m.readOnly {
		return nil, ErrReadOnly
	}
	return func() {}, nil
}

//go:build !unix

package dbcopy

import "compozy.dev/setup/core/storage/factory"

// lockSQLite is a no-op where flock is unavailable: copies into one SQLite target are not
// serialised on these platforms (as the migration lock; see lock_unix.go).
func lockSQLite(id factory.Identity) (*TargetLock, error) {
	return &TargetLock{Target: "sqlite " + id.Path}, nil
}

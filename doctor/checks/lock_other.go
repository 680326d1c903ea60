//go:build !linux

package checks

import (
	"context"
	"errors"
)

// procLocks is Locks where there is no /proc/locks: the holders cannot be known.
type procLocks struct{}

func (procLocks) Holders(context.Context, string, string) (LockHolders, error) {
	return LockHolders{}, errors.New("finding lock holders needs Linux's /proc/locks")
}

//go:build unix

package filesystem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"compozy.dev/setup/core/atomicfile"
)

// flock takes an exclusive flock on path (created 0600 when missing, and run as root given the
// owner of its folder, so the service user can still open it), polling LOCK_NB so the
// context's deadline and cancellation are honoured. flock locks belong to the open file
// description, so two Stores in one process exclude each other like two processes do, and the
// kernel drops the lock when the process dies: a crash never leaves a stale lock.
func flock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.ChownLike(path, filepath.Dir(path)); err != nil {
		_ = f.Close()
		return nil, err
	}
	fd := int(f.Fd())
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// writable reports whether this process may create files in dir.
func writable(dir string) error {
	return syscall.Access(dir, 0x2) // W_OK
}

//go:build !unix

package filesystem

import (
	"context"
	"os"
)

// flock is a no-op where flock(2) does not exist: writers in one process are still
// serialised by the Store's mutex, but two processes must not write the same store at once.
func flock(ctx context.Context, path string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}

// writable reports whether this process may create files in dir (by trying).
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".compozy-write-test-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

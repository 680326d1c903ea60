//go:build unix

package dbcopy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/storage/factory"
)

// lockSQLite takes the lock file of the real file id.Path and, when the file exists, the lock
// of its device and inode in its folder (a hard link in that folder is another real path; the
// door refuses to write a file with several names, but a refused copy must change nothing, and
// the command backs up its target before the copy opens it). Each is an exclusive
// flock taken without waiting: held, the copy's target is refused with a *BusyError.
func lockSQLite(id factory.Identity) (*TargetLock, error) {
	dir := filepath.Dir(id.Path)
	if err := atomicfile.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("target %s: create folder: %w", id.Path, err)
	}
	like := dir
	if id.Ino != 0 {
		like = id.Path
	}
	files := []string{id.Path + LockSuffix}
	if id.Ino != 0 {
		// A hard link is another real path for the same file: its device and inode say it.
		files = append(files, filepath.Join(dir, fmt.Sprintf(".compozy-copy-%d-%d%s", id.Dev, id.Ino, LockSuffix)))
	}
	l := &TargetLock{Target: "sqlite " + id.Path}
	var held []*os.File
	l.release = func() {
		for i := len(held) - 1; i >= 0; i-- {
			unlinkAndUnlock(held[i])
		}
	}
	for _, name := range files {
		f, err := flockFile(name, like, l.Target)
		if err != nil {
			l.Release()
			return nil, err
		}
		held = append(held, f)
		l.Files = append(l.Files, name)
	}
	return l, nil
}

// flockFile opens (creating, 0600, owned like like) and locks one lock file, and writes this
// process's PID into it; a lock held elsewhere is a *BusyError with the PID read from it.
//
// The holder removes the file when it lets go (unlinkAndUnlock), so none is left beside the
// target. That is safe because a lock counts only while the name still leads to the locked
// file: a run that opened the file just before it was removed, and locked it just after,
// finds the name gone or leading to another file, and tries again.
func flockFile(name, like, target string) (*os.File, error) {
	for range 10 {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("target %s: open lock file: %w", target, err)
		}
		if err := atomicfile.ChownLike(name, like); err != nil {
			f.Close()
			return nil, fmt.Errorf("target %s: lock file: %w", target, err)
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 256))
			f.Close()
			pid, since := parseLockContent(b)
			return nil, &BusyError{Target: target, PID: pid, Since: since, Lock: "the lock file " + name}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("target %s: lock %s: %w", target, name, err)
		}
		var held, now syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &held) != nil || syscall.Stat(name, &now) != nil || held.Dev != now.Dev || held.Ino != now.Ino {
			// Removed by the run that held it, after this one opened it: try again.
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(lockContent(), 0)
		}
		return f, nil
	}
	return nil, fmt.Errorf("target %s: lock %s: it keeps being removed and created again", target, name)
}

// unlinkAndUnlock removes a held lock file, then lets go of it (see flockFile).
func unlinkAndUnlock(f *os.File) {
	_ = os.Remove(f.Name())
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// Package atomicfile writes files so that a crash, a kill -9 or a full disk at any moment leaves
// either the old state or the new one, never half a file under the final name: the content goes
// to a temporary file in the same folder (so the rename cannot cross file systems), is synced,
// checked, and only then renamed (or hard-linked, when an existing file must not be replaced),
// and the folder is synced so the new name survives a power loss.
//
// Temporary files are hidden and carry the writing process's ID (".NAME.PID.tmp"), so Sweep can
// remove the ones a killed process left behind without touching those of a live one.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tmpSuffix ends every temporary file name.
const tmpSuffix = ".tmp"

// Pending is a file being written under a temporary name in the folder of its final path.
// Exactly one of Commit, CommitNew or Abort ends it; Abort after a commit does nothing, so
// `defer p.Abort()` is safe.
type Pending struct {
	// Path is the temporary file, for writers that need a name (VACUUM INTO, pg_dump --file).
	Path  string
	final string
	done  bool
}

// Create starts a file that will become path. The temporary file is created empty with mode
// (before the first byte is written, so a private file is never readable by others, not even
// half written). The caller writes Path (by name, or by opening it), then commits.
func Create(path string, mode fs.FileMode) (*Pending, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	dir, base := filepath.Split(abs)
	for i := 0; ; i++ {
		name := filepath.Join(dir, "."+base+"."+strconv.Itoa(os.Getpid()))
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		name += tmpSuffix
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create a temporary file in %s: %w", dir, err)
		}
		// The umask may have taken bits away; the mode asked for is the mode wanted.
		err = f.Chmod(mode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		return &Pending{Path: name, final: abs}, nil
	}
}

// Final is the path the file will have once committed.
func (p *Pending) Final() string { return p.final }

// Commit syncs the temporary file and renames it to the final path, replacing a file there.
func (p *Pending) Commit() error { return p.commit(true) }

// CommitNew is Commit for a final path that must not exist yet: it fails with an error
// wrapping fs.ErrExist, and writes nothing, when a file has that name by then.
func (p *Pending) CommitNew() error { return p.commit(false) }

func (p *Pending) commit(replace bool) error {
	if p.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	if err := syncFile(p.Path); err != nil {
		p.Abort()
		return err
	}
	var err error
	if replace {
		err = os.Rename(p.Path, p.final)
	} else if err = os.Link(p.Path, p.final); err == nil {
		err = os.Remove(p.Path)
	}
	if err != nil {
		p.Abort()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: %w", p.final, fs.ErrExist)
		}
		return fmt.Errorf("move %s into place: %w", filepath.Base(p.final), err)
	}
	p.done = true
	return SyncDir(filepath.Dir(p.final))
}

// Abort removes the temporary file (and a -journal or -wal SQLite may have left beside it).
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	removeTemp(p.Path)
}

func removeTemp(path string) {
	for _, s := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + s)
	}
}

// Write writes the file at path atomically with mode: write produces the content, check (when
// not nil) inspects the finished temporary file before it takes the final name.
func Write(path string, mode fs.FileMode, write func(w io.Writer) error, check func(tmp string) error) error {
	p, err := Create(path, mode)
	if err != nil {
		return err
	}
	defer p.Abort()
	f, err := os.OpenFile(p.Path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p.Path, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if check != nil {
		if err := check(p.Path); err != nil {
			return err
		}
	}
	return p.Commit()
}

// WriteFile writes data to path atomically with mode, replacing what is there.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, nil)
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// SyncDir syncs a folder, so that names created or renamed in it survive a power loss.
// File systems that cannot sync a folder are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// Sweep removes the temporary files that processes which no longer run left in dir while
// writing a file whose name match accepts (".NAME.PID.tmp", and SQLite's files beside them). It
// returns the names it removed. Temporary files of live processes are kept.
func Sweep(dir string, match func(name string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read folder %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		name, pid, ok := tempOf(e.Name())
		if !ok || !match(name) || alive(pid) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// TempName reports whether name is a temporary file of this package, and the name of the file
// it was to become.
func TempName(name string) (string, bool) {
	final, _, ok := tempOf(name)
	return final, ok
}

// tempOf parses ".NAME.PID.tmp" or ".NAME.PID-N.tmp" into NAME and PID. Files that other
// programs keep beside a temporary file (SQLite's "-journal", a migration lock
// ".NAME.PID.tmp.migrate.lock") belong to it and parse the same.
func tempOf(file string) (string, int, bool) {
	rest, ok := strings.CutPrefix(file, ".")
	if !ok {
		return "", 0, false
	}
	for from := 0; ; {
		i := strings.Index(rest[from:], tmpSuffix)
		if i < 0 {
			return "", 0, false
		}
		end := from + i
		from = end + len(tmpSuffix)
		head := rest[:end]
		dot := strings.LastIndexByte(head, '.')
		if dot <= 0 {
			continue
		}
		num, _, _ := strings.Cut(head[dot+1:], "-")
		pid, err := strconv.Atoi(num)
		if err != nil || pid <= 0 {
			continue
		}
		return head[:dot], pid, true
	}
}

// alive reports whether a process with this ID runs (or may run: a process of another user).
func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

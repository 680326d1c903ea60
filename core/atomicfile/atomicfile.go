// Package atomicfile writes files so that a crash, a kill -9 or a full disk at any moment leaves
// either the old state or the new one, never half a file under the final name: the content goes
// to a temporary file in the same folder (so the rename cannot cross file systems), is synced,
// checked, and only then renamed (or hard-linked, when an existing file must not be replaced),
// and the folder is synced so the new name survives a power loss.
//
// Temporary files are hidden and carry the writing process's ID (".NAME.PID.tmp"), so Sweep can
// remove the ones a killed process left behind without touching those of a live one.
//
// Ownership when compozy runs as root: the installation belongs to the user Compozy runs as, so
// a root run must not leave files that user cannot open. A file that replaces another keeps the
// old file's owner and group (and its mode, as far as the mode asked for allows); a new file
// takes the owner and group the caller names with OwnedLike (the database it belongs to, or the
// folder it is created in), and MkdirAll gives each folder it creates the owner and group of
// the folder it is created in. Runs as any other user change no owner.
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
	mode  fs.FileMode
	done  bool
}

// Option changes how Create makes a file.
type Option func(*options)

type options struct {
	like string
}

// OwnedLike gives the new file, when compozy runs as root, the owner and group of like (a file
// or folder; symbolic links followed): the database a lock or backup belongs to, the folder a
// new file is created in. Replacing an existing file keeps that file's owner instead. A like
// that does not exist changes nothing.
func OwnedLike(like string) Option {
	return func(o *options) { o.like = like }
}

// euid is the effective user ID (a test pretends to be another user).
var euid = os.Geteuid

// ownerOf returns like's owner and group, and whether this process is root and must hand the
// files it creates to them.
func ownerOf(like string) (uid, gid int, ok bool, err error) {
	if euid() != 0 || like == "" {
		return 0, 0, false, nil
	}
	fi, err := os.Stat(like)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("owner of %s: %w", like, err)
	}
	st, isUnix := fi.Sys().(*syscall.Stat_t)
	if !isUnix {
		return 0, 0, false, nil
	}
	return int(st.Uid), int(st.Gid), true, nil
}

// ChownLike gives path (not following a symbolic link) the owner and group of like, when
// compozy runs as root and they differ; otherwise it does nothing. It is for files other code
// creates (a lock file, a database file, a folder).
func ChownLike(path, like string) error {
	uid, gid, ok, err := ownerOf(like)
	if err != nil || !ok {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("give %s the owner of %s: %w", path, like, err)
	}
	if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix && int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	if err := ownedBy(os.Lchown(path, uid, gid)); err != nil {
		return fmt.Errorf("give %s the owner of %s: %w", path, like, err)
	}
	return nil
}

// ownedBy filters a chown error: a file system that keeps no owners (vfat, exfat) or does not
// let root give files away (NFS with root_squash, an ID outside a user namespace) answers EPERM,
// ENOTSUP or EINVAL, and then the file stays as it would have been before this rule existed.
func ownedBy(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// MkdirAll creates dir and the missing folders above it with perm, like os.MkdirAll; when
// compozy runs as root, each folder it creates gets the owner and group of the folder it was
// created in, so a folder made by a root run in the service user's tree belongs to that user.
func MkdirAll(dir string, perm fs.FileMode) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	var missing []string // deepest first
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(abs, perm); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := ChownLike(missing[i], filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

// Create starts a file that will become path. The temporary file is created empty with mode
// (before the first byte is written, so a private file is never readable by others, not even
// half written), and, as root, with the owner OwnedLike names. The caller writes Path (by name,
// or by opening it), then commits.
func Create(path string, mode fs.FileMode, opts ...Option) (*Pending, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	uid, gid, chown, err := ownerOf(o.like)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
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
		if err == nil && chown {
			err = ownedBy(f.Chown(uid, gid))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		return &Pending{Path: name, final: abs, mode: mode}, nil
	}
}

// Final is the path the file will have once committed.
func (p *Pending) Final() string { return p.final }

// Commit syncs the temporary file and renames it to the final path, replacing a file there.
// When compozy runs as root, the new file keeps the replaced file's owner and group, and its
// mode less any bit the mode given to Create leaves out.
func (p *Pending) Commit() error { return p.commit(true) }

// CommitNew is Commit for a final path that must not exist yet: it fails with an error
// wrapping fs.ErrExist, and writes nothing, when a file has that name by then.
func (p *Pending) CommitNew() error { return p.commit(false) }

// link makes the final name of CommitNew (a test fakes a file system without hard links).
var link = os.Link

// noHardLinks reports whether a Link error means the file system has no hard links (vfat,
// exfat, some SMB and FUSE mounts answer EPERM, ENOTSUP, ENOSYS or EXDEV) rather than a
// failure that a rename would meet too.
func noHardLinks(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EXDEV)
}

// keepOwner gives the temporary file, as root, the owner, group and mode of the file it will
// replace (the mode less the bits p.mode leaves out: a file that now holds a secret is not left
// readable by others).
func (p *Pending) keepOwner() error {
	if euid() != 0 {
		return nil
	}
	fi, err := os.Lstat(p.final)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", p.final, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return nil
	}
	if err := ownedBy(os.Lchown(p.Path, int(st.Uid), int(st.Gid))); err != nil {
		return fmt.Errorf("give %s the owner of %s: %w", p.Path, p.final, err)
	}
	if err := os.Chmod(p.Path, fi.Mode().Perm()&p.mode.Perm()); err != nil {
		return fmt.Errorf("give %s the mode of %s: %w", p.Path, p.final, err)
	}
	return nil
}

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
		if err = p.keepOwner(); err == nil {
			err = os.Rename(p.Path, p.final)
		}
	} else if err = link(p.Path, p.final); err == nil {
		err = os.Remove(p.Path)
	} else if noHardLinks(err) {
		// No hard links on this file system, and the whole file is written by now: take the
		// name with a rename after checking it is free. Between the check and the rename
		// another process could create the name and lose that file; this narrow race is
		// accepted on such file systems, where nothing better is portable.
		if _, serr := os.Lstat(p.final); serr == nil {
			err = fs.ErrExist
		} else if errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(p.Path, p.final)
		} else {
			err = serr
		}
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
func Write(path string, mode fs.FileMode, write func(w io.Writer) error, check func(tmp string) error, opts ...Option) error {
	p, err := Create(path, mode, opts...)
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
func WriteFile(path string, data []byte, mode fs.FileMode, opts ...Option) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, nil, opts...)
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

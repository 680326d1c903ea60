// Package sqlitefile knows a SQLite database as a file, without opening it: its real path (a
// database is its file, whatever name leads to it), its identity (device and inode), its header,
// and the files SQLite keeps beside it (-wal, -shm, -journal). It imports no SQLite driver, so
// the doctor and the commands can inspect a database without a way to change it.
package sqlitefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Suffixes of the files SQLite keeps beside a database.
const (
	WALSuffix     = "-wal"
	SHMSuffix     = "-shm"
	JournalSuffix = "-journal"
)

// maxLinks bounds how many symbolic links Resolve follows, as the kernel does (ELOOP).
const maxLinks = 40

// Errors of Resolve and ReadHeader; test with errors.Is.
var (
	// ErrIsDirectory means a folder has the database's name.
	ErrIsDirectory = errors.New("is a directory, not a database file")
	// ErrNotRegular means something other than a file (a device, a socket) has the name.
	ErrNotRegular = errors.New("is not a regular file")
	// ErrNotSQLite means the file does not start with SQLite's header.
	ErrNotSQLite = errors.New("not a SQLite database")
	// ErrTruncated means the file is shorter than its header says.
	ErrTruncated = errors.New("truncated SQLite database")
	// ErrLinkLoop means symbolic links lead in a circle or too deep.
	ErrLinkLoop = errors.New("too many levels of symbolic links")
	// ErrWALOnly means the database file is empty but a -wal beside it holds data: the file was
	// truncated or replaced, and the first open for writing would delete the -wal with it.
	ErrWALOnly = errors.New("the database file is empty but its -wal holds data (the file was truncated or replaced); opening it would delete the -wal: copy both files away before anything opens them")
	// ErrChanged means another process wrote to the file while it was read without locks.
	ErrChanged = errors.New("the database changed while it was read (another process wrote to it)")
	// ErrLinked means the file has more than one hard link: the same database under several
	// names, which SQLite cannot keep consistent (each name gets its own -wal and -journal).
	ErrLinked = errors.New("the database file has more than one name (hard links)")
	// ErrSideOwner means a file SQLite keeps beside the database (-wal, -shm, -journal) has
	// another owner or group than the database. SQLite run as root gives every such file it
	// opens to the database's owner and group (fchown), even to read it: a read as root would
	// change it.
	ErrSideOwner = errors.New("a file beside the database has another owner than the database")
)

// Resolve returns the real path of the database named path: absolute, every symbolic link
// followed, including a last link that points at a file which does not exist yet (the file
// SQLite would create is the link's target, so that is the database). The folders on the way
// must exist unless the file does not: then the missing folders are left for the caller to
// create, and the path is resolved as far as it exists. A folder with the name is
// ErrIsDirectory.
func Resolve(path string) (string, error) {
	p := path
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", path, err)
		}
		p = wd + string(filepath.Separator) + p
	}
	real, err := walk(p)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	if fi, err := os.Stat(real); err == nil && fi.IsDir() {
		return "", fmt.Errorf("%s %w", real, ErrIsDirectory)
	}
	return real, nil
}

// walk resolves the absolute path p one name at a time, as the kernel does: a symbolic link is
// replaced by its target (relative to the folder the link is in), and ".." goes to the parent
// of the real folder reached so far, not of the name as written (so with x a link, x/../db is
// beside x's target, as for the shell). From the first name that does not exist on, the rest is
// taken as written.
func walk(p string) (string, error) {
	resolved := string(filepath.Separator)
	rest := strings.Split(p, string(filepath.Separator))
	links := 0
	for i := 0; i < len(rest); i++ {
		name := rest[i]
		switch name {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, name)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return filepath.Join(append([]string{next}, rest[i+1:]...)...), nil
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			if links++; links > maxLinks {
				return "", ErrLinkLoop
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				resolved = string(filepath.Separator)
			}
			rest = append(strings.Split(target, string(filepath.Separator)), rest[i+1:]...)
			i = -1
			continue
		}
		resolved = next
	}
	return resolved, nil
}

// Info is what the file system says about a database file.
type Info struct {
	// Path is the real path.
	Path string
	// Dev and Ino identify the file: two names with the same Dev and Ino are one database.
	Dev, Ino uint64
	// Links is the number of hard links; more than one means the database has several names.
	Links uint64
	Size  int64
	Mode  fs.FileMode
	// UID and GID own the file.
	UID, GID uint32
	// ModTime and ChangeTime in nanoseconds, to tell whether the file changed.
	ModTime, ChangeTime int64
}

// Stat returns the Info of the file at the real path p (see Resolve). A folder is
// ErrIsDirectory, another non-file ErrNotRegular.
func Stat(p string) (Info, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return Info{}, err
	}
	if fi.IsDir() {
		return Info{}, fmt.Errorf("%s %w", p, ErrIsDirectory)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s %w (%s)", p, ErrNotRegular, fi.Mode().Type())
	}
	info := Info{Path: p, Size: fi.Size(), Mode: fi.Mode().Perm(), Links: 1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.Dev, info.Ino, info.Links, info.UID, info.GID = uint64(st.Dev), st.Ino, uint64(st.Nlink), st.Uid, st.Gid
		info.ModTime = st.Mtim.Sec*1e9 + st.Mtim.Nsec
		info.ChangeTime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return info, nil
}

// Same reports whether a and b are one file.
func (a Info) Same(b Info) bool { return a.Dev == b.Dev && a.Ino == b.Ino && a.Ino != 0 }

// Unchanged reports whether the file is the same file with the same size and times as when a
// was taken.
func (a Info) Unchanged(b Info) bool {
	return a.Same(b) && a.Size == b.Size && a.ModTime == b.ModTime && a.ChangeTime == b.ChangeTime
}

// Header is what the first 100 bytes of a SQLite file say.
type Header struct {
	PageSize  int64
	PageCount int64 // 0 when the header's count is not valid
	FreePages int64
	// WAL is set when the file format versions say WAL (journal_mode=wal).
	WAL  bool
	Size int64
}

// ReadHeader reads and checks the SQLite header of the file at path. An empty file is valid
// (Size 0): SQLite writes the header with the first table.
func ReadHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Header{}, err
	}
	if fi.IsDir() {
		return Header{}, fmt.Errorf("%s %w", path, ErrIsDirectory)
	}
	h := Header{Size: fi.Size()}
	if h.Size == 0 {
		return h, nil
	}
	buf := make([]byte, 100)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return h, err
	}
	if n < 16 || string(buf[:16]) != "SQLite format 3\x00" {
		return h, ErrNotSQLite
	}
	if n < 100 {
		return h, fmt.Errorf("%w: the file ends inside the 100-byte header (%d bytes)", ErrTruncated, h.Size)
	}
	h.PageSize = int64(binary.BigEndian.Uint16(buf[16:18]))
	if h.PageSize == 1 {
		h.PageSize = 65536
	}
	h.WAL = buf[18] == 2 && buf[19] == 2
	if binary.BigEndian.Uint32(buf[24:28]) == binary.BigEndian.Uint32(buf[92:96]) {
		h.PageCount = int64(binary.BigEndian.Uint32(buf[28:32]))
	}
	h.FreePages = int64(binary.BigEndian.Uint32(buf[36:40]))
	switch {
	case h.PageSize < 512 || h.PageSize&(h.PageSize-1) != 0:
		return h, fmt.Errorf("%w: page size %d in the header is invalid", ErrNotSQLite, h.PageSize)
	case h.Size%h.PageSize != 0:
		return h, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages", ErrTruncated, h.Size, h.PageSize)
	case h.PageCount > 0 && h.Size < h.PageCount*h.PageSize:
		return h, fmt.Errorf("%w: the header says %d pages but the file has %d bytes", ErrTruncated, h.PageCount, h.Size)
	}
	return h, nil
}

// Sides are the files SQLite keeps beside a database, as they are now.
type Sides struct {
	// WAL, SHM and Journal are set when the file exists; the sizes are 0 otherwise.
	WAL, SHM, Journal             bool
	WALSize, SHMSize, JournalSize int64
}

// SideFiles reports which of -wal, -shm and -journal exist beside the database at path.
func SideFiles(path string) Sides {
	var s Sides
	s.WAL, s.WALSize = exists(path + WALSuffix)
	s.SHM, s.SHMSize = exists(path + SHMSuffix)
	s.Journal, s.JournalSize = exists(path + JournalSuffix)
	return s
}

func exists(path string) (bool, int64) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, 0
	}
	return true, fi.Size()
}

// CheckSideOwners returns an error wrapping ErrSideOwner, naming each file and both owners,
// when one of the files path+suffix that exists has another owner or group than db (the
// database's Info). Files that do not exist are left out.
func CheckSideOwners(path string, db Info, suffixes ...string) error {
	var odd []string
	for _, sfx := range suffixes {
		fi, err := os.Lstat(path + sfx)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || (st.Uid == db.UID && st.Gid == db.GID) {
			continue
		}
		odd = append(odd, fmt.Sprintf("%s (uid %d, gid %d)", filepath.Base(path+sfx), st.Uid, st.Gid))
	}
	if len(odd) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s, but %s is uid %d, gid %d", ErrSideOwner, strings.Join(odd, ", "), filepath.Base(path), db.UID, db.GID)
}

// journalMagic starts the header of a rollback journal that holds a transaction to roll back.
var journalMagic = [8]byte{0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7}

// JournalHasTransaction reports whether the -journal beside path holds the pages of a
// transaction (its header starts with the journal magic): either a writer is in the middle of
// a transaction now, or one crashed there and left a hot journal that the next writer rolls
// back. Which of the two is told by the locks (a live writer holds the RESERVED lock) or by
// SQLite itself when the file is opened.
func JournalHasTransaction(path string) bool {
	f, err := os.Open(path + JournalSuffix)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [8]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return b == journalMagic
}

// CheckNotWALOnly returns an error wrapping ErrWALOnly when the database file at path is empty
// and the -wal beside it is not: a state no SQLite writer leaves, in which the next open for
// writing deletes what the -wal holds.
func CheckNotWALOnly(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != 0 {
		return nil
	}
	if sides := SideFiles(path); sides.WALSize > 0 {
		return fmt.Errorf("%s: %w (-wal %d bytes)", path, ErrWALOnly, sides.WALSize)
	}
	return nil
}

package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/bytesize"
)

// sqliteFilesystemCheck is sqlite.filesystem: the folder is on a writable local filesystem,
// where WAL's shared memory and POSIX locks work and the data outlives a reboot.
func (s *Set) sqliteFilesystemCheck() doctor.Check {
	files, db := s.in.Files, s.db
	path, dir := db.Path, filepath.Dir(db.Path)
	fsys := check(doctor.IDSQLiteFilesystem, func(context.Context) doctor.Result {
		vol, err := files.Volume(existingDir(files, dir)) // a folder not created yet: where it will be
		if err != nil {
			return doctor.Fail("cannot read the filesystem of "+dir, err.Error(), doctor.Fix{})
		}
		name := vol.Name
		if vol.ReadOnly {
			return doctor.Fail(fmt.Sprintf("%s is on a read-only %s mount", dir, name), "", doctor.Fix{Text: "move the database to a writable local disk"})
		}
		h, _ := files.Header(path)
		wal := h.WAL || strings.EqualFold(db.JournalMode, "wal")
		switch vol.Kind {
		case fsNetwork:
			if wal {
				return doctor.Fail(fmt.Sprintf("%s is on %s: WAL is unsafe on a network filesystem", dir, name),
					"WAL needs shared memory and POSIX locks that work across every process; network filesystems do not guarantee them",
					doctor.Fix{Text: "move the database to a local disk, or use PostgreSQL"})
			}
			return doctor.Warn(fmt.Sprintf("%s is on %s: locking is unreliable on network filesystems", dir, name), "",
				doctor.Fix{Text: "move the database to a local disk, or use PostgreSQL"})
		case fsVirtual:
			return doctor.Warn(fmt.Sprintf("%s is on %s: WAL and locks may not work reliably", dir, name), "",
				doctor.Fix{Text: "keep the database on a local disk (a volume, not the container's overlay layer)"})
		case fsMemory:
			// WAL and locks work in memory; the data does not outlive the machine's uptime.
			return doctor.Warn(fmt.Sprintf("%s is on %s: a reboot erases the database (and backups next to it)", dir, name),
				name+" keeps files in memory only: SQLite works there, but nothing survives a reboot or an unmount, and the default backups and pre-migrate copies land in the same folder",
				doctor.Fix{Text: "move the database to a disk-backed folder (for example /var/lib/compozy) and point database.path at it"})
		}
		return doctor.Pass(name + ", local")
	})
	return fsys
}

// sqliteDiskCheck is sqlite.disk: the volume has room for migrations and VACUUM, which need up
// to twice the database.
func (s *Set) sqliteDiskCheck() doctor.Check {
	files, path := s.in.Files, s.db.Path
	dir := filepath.Dir(path)
	return check(doctor.IDSQLiteDisk, func(context.Context) doctor.Result {
		vol, err := files.Volume(existingDir(files, dir))
		if err != nil {
			return doctor.Fail("cannot read free space of "+dir, err.Error(), doctor.Fix{})
		}
		free := vol.Free
		used := fileSize(files, path) + walSize(files, path)
		need := 2*used + 64<<20
		switch {
		case free < need:
			return doctor.Fail(fmt.Sprintf("%s free on the volume; the database and WAL take %s", bytesize.Format(free), bytesize.Format(used)),
				"migrations and VACUUM need up to twice the database size", doctor.Fix{Text: "free space on the volume, or move the database to a larger one"})
		case free < 1<<30:
			return doctor.Warn(fmt.Sprintf("only %s free on the volume", bytesize.Format(free)), "", doctor.Fix{Text: "free space on the volume"})
		}
		return doctor.Pass(bytesize.Format(free) + " free")
	})
}

type fsKind int

const (
	fsLocal fsKind = iota
	fsNetwork
	fsVirtual
	fsMemory // local for WAL and locks, but erased by a reboot
)

// fsName names a statfs magic number and says whether SQLite is safe there.
func fsName(magic int64) (string, fsKind) {
	switch uint32(magic) {
	case 0xEF53:
		return "ext4", fsLocal
	case 0x58465342:
		return "xfs", fsLocal
	case 0x9123683E:
		return "btrfs", fsLocal
	case 0x01021994:
		return "tmpfs", fsMemory
	case 0x858458F6:
		return "ramfs", fsMemory
	case 0x2FC12FC1:
		return "zfs", fsLocal
	case 0xF2F52010:
		return "f2fs", fsLocal
	case 0x6969:
		return "NFS", fsNetwork
	case 0x517B:
		return "SMB", fsNetwork
	case 0xFF534D42:
		return "CIFS", fsNetwork
	case 0xFE534D42:
		return "SMB2", fsNetwork
	case 0x01021997:
		return "9p", fsNetwork
	case 0x65735546:
		return "FUSE", fsVirtual
	case 0x794C7630:
		return "overlay", fsVirtual
	}
	return fmt.Sprintf("filesystem 0x%x", uint32(magic)), fsLocal
}

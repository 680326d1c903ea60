package wizard

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Kernel file systems that take no files (statfs f_type).
const (
	procMagic   = 0x9fa0
	sysfsMagic  = 0x62656572
	cgroupMagic = 0x27e0eb
	cgroup2     = 0x63677270
)

// canCreateIn reports why a file could not be created in the folder dir, without creating
// one: this user may not write it, its file system is read-only, or it is a kernel file system
// (as root, the permission check alone passes for /proc).
func canCreateIn(dir string) error {
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Flags&unix.ST_RDONLY != 0:
		return errors.New("read-only file system")
	case st.Type == procMagic, st.Type == sysfsMagic, st.Type == cgroupMagic, st.Type == cgroup2:
		return errors.New("a kernel file system, which takes no files")
	}
	return nil
}

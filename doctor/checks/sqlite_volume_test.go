package checks

import "testing"

// TestFSNameKinds: the network filesystems, where sqlite.filesystem fails WAL, and the virtual
// ones, where it warns, are told by their statfs magic; an unknown one is taken as local.
func TestFSNameKinds(t *testing.T) {
	for _, tc := range []struct {
		magic int64
		name  string
		kind  fsKind
	}{
		{0x6969, "NFS", fsNetwork},
		{0x517B, "SMB", fsNetwork},
		{0xFF534D42, "CIFS", fsNetwork},
		{0xFE534D42, "SMB2", fsNetwork},
		{0x01021997, "9p", fsNetwork},
		{0x65735546, "FUSE", fsVirtual},
		{0x794C7630, "overlay", fsVirtual},
		{0x58465342, "xfs", fsLocal},
		{0x9123683E, "btrfs", fsLocal},
		{0x2FC12FC1, "zfs", fsLocal},
		{0xF2F52010, "f2fs", fsLocal},
		{0x12345678, "filesystem 0x12345678", fsLocal},
	} {
		if name, kind := fsName(tc.magic); name != tc.name || kind != tc.kind {
			t.Errorf("0x%x: %s %v, want %s %v", tc.magic, name, kind, tc.name, tc.kind)
		}
	}
}

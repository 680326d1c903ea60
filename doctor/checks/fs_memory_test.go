package checks

import "testing"

// tmpfs and ramfs are local for WAL and locks, but a reboot erases them: a kind of their own,
// which sqlite.filesystem warns about.
func TestFSNameMemory(t *testing.T) {
	for magic, want := range map[int64]string{0x01021994: "tmpfs", 0x858458F6: "ramfs"} {
		name, k := fsName(magic)
		if name != want || k != fsMemory {
			t.Errorf("0x%x: %s %v, want %s fsMemory", magic, name, k, want)
		}
		if k == fsNetwork || k == fsVirtual {
			t.Errorf("0x%x counted as unsafe for WAL", magic)
		}
	}
	if name, k := fsName(0xEF53); name != "ext4" || k != fsLocal {
		t.Errorf("ext4: %s %v", name, k)
	}
}

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
}

func ownerMode(t *testing.T, path string) (int, int, fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid), fi.Mode().Perm()
}

func TestCommitKeepsReplacedFilesOwnerAsRoot(t *testing.T) {
	needRoot(t)
	p := filepath.Join(t.TempDir(), "compozy.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if u, g, m := ownerMode(t, p); u != nobody || g != nobody || m != 0o640 {
		t.Fatalf("after a replace: %d:%d %04o, want %d:%d 0640", u, g, m, nobody, nobody)
	}
	// A mode that asks for less (a file that now holds a secret) is not loosened.
	if err := WriteFile(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, g, m := ownerMode(t, p); u != nobody || g != nobody || m != 0o600 {
		t.Fatalf("after a private replace: %d:%d %04o, want %d:%d 0600", u, g, m, nobody, nobody)
	}
}

func TestCreateOwnedLikeAsRoot(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "backup.db")
	pend, err := Create(p, 0o600, OwnedLike(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer pend.Abort()
	if u, g, _ := ownerMode(t, pend.Path); u != nobody || g != nobody {
		t.Fatalf("temporary file %d:%d, want nobody's", u, g)
	}
	if err := pend.CommitNew(); err != nil {
		t.Fatal(err)
	}
	if u, g, m := ownerMode(t, p); u != nobody || g != nobody || m != 0o600 {
		t.Fatalf("%d:%d %04o, want %d:%d 0600", u, g, m, nobody, nobody)
	}
}

func TestMkdirAllAndChownLikeAsRoot(t *testing.T) {
	needRoot(t)
	top := t.TempDir()
	if err := os.Chown(top, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(top, "data", "vectors")
	if err := MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(top, "data"), deep} {
		if u, g, m := ownerMode(t, d); u != nobody || g != nobody || m != 0o700 {
			t.Fatalf("%s: %d:%d %04o, want nobody's 0700", d, u, g, m)
		}
	}
	f := filepath.Join(deep, "x.lock")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ChownLike(f, deep); err != nil {
		t.Fatal(err)
	}
	if u, g, _ := ownerMode(t, f); u != nobody || g != nobody {
		t.Fatalf("ChownLike: %d:%d", u, g)
	}
}

// Runs as any other user change no owner: pretend not to be root.
func TestNotRootChangesNoOwner(t *testing.T) {
	needRoot(t)
	euid = func() int { return 1000 }
	t.Cleanup(func() { euid = os.Geteuid })
	dir := t.TempDir()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("a"), 0o600, OwnedLike(dir)); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := ownerMode(t, p); u != 0 {
		t.Fatalf("new file given to %d", u)
	}
	if err := os.Chown(p, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if u, _, m := ownerMode(t, p); u != 0 || m != 0o644 {
		t.Fatalf("replaced file %d %04o, want the writer's and the mode asked for", u, m)
	}
	if err := MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := ownerMode(t, filepath.Join(dir, "sub")); u != 0 {
		t.Fatalf("new folder given to %d", u)
	}
}

// A file system without hard links (vfat, exfat, some SMB and FUSE mounts) fails link(2) with
// EPERM or ENOTSUP; CommitNew then takes the name with a rename when it is free.
func TestCommitNewWithoutHardLinks(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOTSUP, syscall.EXDEV, syscall.ENOSYS} {
		t.Run(errno.Error(), func(t *testing.T) {
			link = func(o, n string) error { return &os.LinkError{Op: "link", Old: o, New: n, Err: errno} }
			t.Cleanup(func() { link = os.Link })
			dir := t.TempDir()
			p := filepath.Join(dir, "backup.db")
			if err := commitNew(t, p, "mine"); err != nil {
				t.Fatalf("CommitNew: %v", err)
			}
			if b, _ := os.ReadFile(p); string(b) != "mine" {
				t.Fatalf("content %q", b)
			}
			if err := commitNew(t, p, "second"); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("CommitNew over an existing file: %v", err)
			}
			if b, _ := os.ReadFile(p); string(b) != "mine" {
				t.Fatalf("replaced: %q", b)
			}
			if got := names(t, dir); len(got) != 1 {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
	// Any other link failure is an error, and nothing takes the name.
	link = func(o, n string) error { return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EIO} }
	t.Cleanup(func() { link = os.Link })
	dir := t.TempDir()
	p := filepath.Join(dir, "backup.db")
	if err := commitNew(t, p, "x"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("CommitNew with EIO: %v", err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

func commitNew(t *testing.T, path, content string) error {
	t.Helper()
	pend, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer pend.Abort()
	if err := os.WriteFile(pend.Path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return pend.CommitNew()
}

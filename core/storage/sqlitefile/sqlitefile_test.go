package sqlitefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.db")
	for _, tc := range []struct {
		name, content string
		err           error
	}{
		{"garbage", strings.Repeat("x", 200), ErrNotSQLite},
		{"short header", "SQLite format 3\x00abc", ErrTruncated},
		{"not whole pages", "SQLite format 3\x00\x10\x00\x01\x01" + strings.Repeat("\x00", 80) + strings.Repeat("y", 5000), ErrTruncated},
	} {
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadHeader(p); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if _, err := ReadHeader(dir); !errors.Is(err, ErrIsDirectory) {
		t.Errorf("a folder: %v, want ErrIsDirectory", err)
	}
}

// TestResolveFollowsEveryLink: a database is its real file, whatever the name: a link, a link to
// a link, a link to a file that does not exist yet, a link in the folder part, and a relative
// link; a folder is refused; a loop of links ends.
func TestResolveFollowsEveryLink(t *testing.T) {
	dir := t.TempDir()
	realDir := filepath.Join(dir, "real")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(realDir, "compozy.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := func(target, name string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	l1 := link(db, "l1.db")
	l2 := link(l1, "l2.db")
	rel := link("real/compozy.db", "rel.db")
	dangling := link(filepath.Join(realDir, "new.db"), "dangling.db")
	dirLink := link(realDir, "dirlink")
	for name, tc := range map[string]struct{ in, want string }{
		"the file":         {db, db},
		"a link":           {l1, db},
		"a link to a link": {l2, db},
		"a relative link":  {rel, db},
		"a dangling link":  {dangling, filepath.Join(realDir, "new.db")},
		"a folder link":    {filepath.Join(dirLink, "compozy.db"), db},
		"a missing folder": {filepath.Join(dirLink, "sub", "x.db"), filepath.Join(realDir, "sub", "x.db")},
		"dot-dot segments": {filepath.Join(realDir, "..", "real", "compozy.db"), db},
	} {
		got, err := Resolve(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: Resolve(%s) = %s, %v; want %s", name, tc.in, got, err, tc.want)
		}
	}
	if _, err := Resolve(realDir); !errors.Is(err, ErrIsDirectory) {
		t.Errorf("a folder: %v", err)
	}
	a := filepath.Join(dir, "loop-a")
	link(filepath.Join(dir, "loop-b"), "loop-a")
	link(a, "loop-b")
	if _, err := Resolve(a); !errors.Is(err, ErrLinkLoop) {
		t.Errorf("a loop: %v", err)
	}
	x, _ := Stat(db)
	y, _ := Stat(l2)
	if !x.Same(y) {
		t.Errorf("a file and a link to it are not the same: %+v %+v", x, y)
	}
}

func TestJournalHasTransaction(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.db")
	if JournalHasTransaction(p) {
		t.Fatal("no journal, but a transaction")
	}
	if err := os.WriteFile(p+JournalSuffix, append(journalMagic[:], 0, 0, 0, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if !JournalHasTransaction(p) {
		t.Fatal("a journal with the magic, but no transaction")
	}
	if err := os.WriteFile(p+JournalSuffix, make([]byte, 28), 0o600); err != nil {
		t.Fatal(err)
	}
	if JournalHasTransaction(p) {
		t.Fatal("a zeroed journal header is no transaction")
	}
}

// TestResolveDotDotAfterALink: with x a link to another folder, x/../db.db is the db.db beside
// x's target, as the kernel (and the shell) resolve it, not the one beside x.
func TestResolveDotDotAfterALink(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, filepath.Join(b, "deep")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(b, "deep"), filepath.Join(a, "x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(a, "db.db"), filepath.Join(b, "db.db")} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Resolve(a + "/x/../db.db")
	if err != nil || got != filepath.Join(b, "db.db") {
		t.Errorf("Resolve(a/x/../db.db) = %s, %v; want %s", got, err, filepath.Join(b, "db.db"))
	}
	got, err = Resolve(a + "/x/../new.db")
	if err != nil || got != filepath.Join(b, "new.db") {
		t.Errorf("a file not created yet: %s, %v", got, err)
	}
}

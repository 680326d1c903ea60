package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "compozy.yaml")
	if err := WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "new\n" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %o", b, fi.Mode().Perm())
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}

func TestFailedWriteOrCheckLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o600, func(w io.Writer) error { _, _ = w.Write([]byte("half")); return boom }, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	err = Write(p, 0o600, func(w io.Writer) error { _, err := w.Write([]byte("bad")); return err },
		func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("check err = %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Fatalf("content %q", b)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}

func TestCommitNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "backup.db")
	pend, err := Create(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pend.Path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pend.CommitNew(); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CommitNew over an existing file: %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "someone else's" {
		t.Fatalf("replaced: %q", b)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}

func TestCreateModeIgnoresUmask(t *testing.T) {
	pend, err := Create(filepath.Join(t.TempDir(), "x"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer pend.Abort()
	fi, err := os.Stat(pend.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if !strings.HasPrefix(filepath.Base(pend.Path), ".x.") {
		t.Fatalf("temporary name %s is not hidden", pend.Path)
	}
}

func TestSweepRemovesOnlyDeadWritersTemps(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	mine, err := Create(filepath.Join(dir, "b.db"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Abort()
	stale := filepath.Join(dir, ".b.db."+itoa(dead)+".tmp")
	for _, p := range []string{stale, stale + "-journal", stale + ".migrate.lock", filepath.Join(dir, "b.db"), filepath.Join(dir, ".other.db."+itoa(dead)+".tmp")} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Sweep(dir, func(name string) bool { return name == "b.db" })
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Fatalf("removed %v, want the temporary file, its journal and its lock", removed)
	}
	got := strings.Join(names(t, dir), " ")
	if strings.Contains(got, filepath.Base(stale)) || !strings.Contains(got, filepath.Base(mine.Path)) || !strings.Contains(got, ".other.db.") {
		t.Fatalf("after sweep: %s", got)
	}
	if final, ok := TempName(filepath.Base(mine.Path)); !ok || final != "b.db" {
		t.Fatalf("TempName = %q %v", final, ok)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/dbcopy"
)

// TestDBCopyRefusedWhileAnotherCopyRuns: db copy into an existing empty target file of mode
// 0644 leaves it 0600 and says so. While another copy holds that target's lock (taken here
// through a path with ../, as a run started a second earlier would hold it), `db copy --force
// --yes` through a symbolic link to it is refused at once with exit 2, naming the other
// copy's PID, and the target's folder is byte for byte as it was: no backup, no lock file
// left, no row changed. Once the other copy is done, the same command runs.
func TestDBCopyRefusedWhileAnotherCopyRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := migratedSQLite(t, dir)
	seedSQLite(t, src, 3)
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(out, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(out, "target.db")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, dir, nil, "db", "copy", "--from", src, "--to", target, "--yes")
	wantCode(t, r, 0, "db copy into an empty 0644 file")
	if !strings.Contains(r.out, "mode 0644 -> 0600") {
		t.Errorf("the copy does not say it made the target private:\n%s", r.out)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("target after the copy: %v, %v; want mode 0600", fi, err)
	}

	lock, err := dbcopy.LockTarget(context.Background(), config.Database{Driver: config.DriverSQLite, Path: filepath.Join(out, "sub", "..", "target.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := os.Remove(filepath.Join(out, "sub")); err != nil {
		t.Fatal(err)
	}
	before := folderState(t, out)
	r = runCLI(t, dir, nil, "db", "copy", "--from", src, "--to", link, "--force", "--yes")
	wantCode(t, r, ExitUsage, "db copy --force --yes while another copy runs")
	for _, want := range []string{"another compozy db copy (PID " + strconv.Itoa(os.Getpid()), "is copying into the target sqlite " + target, "nothing was changed"} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.errOut)
		}
	}
	if strings.Contains(r.out+r.errOut, "Backup:") {
		t.Errorf("a refused copy took a backup:\n%s%s", r.out, r.errOut)
	}
	// Refused at once: before the rows --force would replace are listed (a fourth trial saw the
	// listing and the promise of a backup first, and on a terminal the question).
	if strings.Contains(r.out+r.errOut, "--force replaces") || strings.Contains(r.out+r.errOut, "rows") {
		t.Errorf("a refused copy listed the target's rows first:\n%s%s", r.out, r.errOut)
	}
	if after := folderState(t, out); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused copy changed the target's folder:\nbefore %v\nafter  %v", before, after)
	}

	lock.Release()
	r = runCLI(t, dir, nil, "db", "copy", "--from", src, "--to", link, "--force", "--yes")
	wantCode(t, r, 0, "db copy --force --yes after the other copy")
	if !strings.Contains(r.out, "Backup:") || !strings.Contains(r.out, "every table matches") {
		t.Errorf("the copy after the other one:\n%s", r.out)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*"+dbcopy.LockSuffix)); len(m) > 0 {
		t.Errorf("lock files left: %v", m)
	}
}

package dbcopy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/internal/testenv"
)

// pausedCopy starts a copy of src into dst that stops at the start of its first table, with
// the target's lock held, until the returned resume is called; done gives its result.
func pausedCopy(t *testing.T, src, dst config.Database) (resume func(), done <-chan error) {
	t.Helper()
	paused, cont := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		once := false
		_, err := dbcopy.Copy(testCtx(t), src, dst, dbcopy.Options{Force: true, Progress: func(p dbcopy.Progress) {
			if p.Phase == dbcopy.PhaseCopy && !once {
				once = true
				close(paused)
				<-cont
			}
		}})
		errc <- err
	}()
	select {
	case <-paused:
	case err := <-errc:
		t.Fatalf("the first copy ended before it paused: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the first copy never reached its first table")
	}
	var resumed bool
	resume = func() {
		if !resumed {
			resumed = true
			close(cont)
		}
	}
	t.Cleanup(resume)
	return resume, errc
}

// hashFiles is the SHA-256 of the named files' contents and modes (a missing file counts as
// missing).
func hashFiles(t *testing.T, paths ...string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			h.Write([]byte("missing " + p + "\n"))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		h.Write([]byte(p + " " + fi.Mode().String() + "\n"))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func wantBusy(t *testing.T, err error, what string) *dbcopy.BusyError {
	t.Helper()
	var busy *dbcopy.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("%s while another copy runs = %v, want a *BusyError", what, err)
	}
	if busy.PID != os.Getpid() {
		t.Errorf("%s: the refusal names PID %d, want this process %d: %v", what, busy.PID, os.Getpid(), err)
	}
	if !strings.Contains(err.Error(), "another compozy db copy") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("%s: the refusal does not say what and that nothing changed: %v", what, err)
	}
	return busy
}

// TestConcurrentCopiesIntoOneSQLiteTarget: while one copy writes a SQLite target (a file that
// existed empty, mode 0644, as a user's touch leaves it), a second copy into it is refused at
// once through every other name of that file (a symbolic link, a hard link, a path with ../):
// a *BusyError naming this process, and not one byte or mode of the target or its side files
// changed. The first copy then finishes, verified, and leaves the file 0600.
func TestConcurrentCopiesIntoOneSQLiteTarget(t *testing.T) {
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 4)
	out := filepath.Join(dir, "out")
	must(t, os.MkdirAll(filepath.Join(out, "sub"), 0o750))
	target := filepath.Join(out, "target.db")
	must(t, os.WriteFile(target, nil, 0o600))
	must(t, os.Chmod(target, 0o644))
	must(t, os.Symlink(target, filepath.Join(dir, "link.db")))

	resume, done := pausedCopy(t, src, sqliteDB(target))
	// A hard link made now (the door refuses to write a file with two names, so the first copy
	// could not have been started through one).
	must(t, os.Link(target, filepath.Join(out, "hard.db")))
	files := []string{target, target + "-wal", target + "-shm", target + "-journal"}
	before := hashFiles(t, files...)
	for _, name := range []string{
		filepath.Join(dir, "link.db"),
		filepath.Join(out, "hard.db"),
		filepath.Join(out, "sub", "..", "target.db"),
		target,
	} {
		res, err := dbcopy.Copy(testCtx(t), src, sqliteDB(name), dbcopy.Options{Force: true})
		busy := wantBusy(t, err, "copy into "+name)
		if res != nil {
			t.Errorf("copy into %s: a refusal returned a result %+v", name, res)
		}
		if !strings.Contains(busy.Lock, out) {
			t.Errorf("copy into %s: the refusal names the lock %q, not beside the target", name, busy.Lock)
		}
		if after := hashFiles(t, files...); after != before {
			t.Fatalf("copy into %s was refused but the target changed", name)
		}
	}
	must(t, os.Remove(filepath.Join(out, "hard.db")))
	resume()
	if err := <-done; err != nil {
		t.Fatalf("the first copy: %v", err)
	}
	fi, err := os.Stat(target)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("target mode %o after the copy, want 0600", fi.Mode().Perm())
	}
	if a, b := checksums(t, src), checksums(t, sqliteDB(target)); !reflect.DeepEqual(a, b) {
		t.Errorf("target differs from the source:\n%v\n%v", a, b)
	}
	// The locks are let go and their files removed: the next copy runs.
	if entries, _ := filepath.Glob(filepath.Join(out, "*"+dbcopy.LockSuffix)); len(entries) > 0 {
		t.Errorf("lock files left behind: %v", entries)
	}
	if hidden, _ := filepath.Glob(filepath.Join(out, ".*"+dbcopy.LockSuffix)); len(hidden) > 0 {
		t.Errorf("lock files left behind: %v", hidden)
	}
	if _, err := dbcopy.Copy(testCtx(t), src, sqliteDB(filepath.Join(dir, "link.db")), dbcopy.Options{Force: true}); err != nil {
		t.Fatalf("a copy after the first finished: %v", err)
	}
}

// TestCopyTightensAnOpenTargetFile: a copy into an existing empty file that group and others
// may read makes it 0600 and says so (Result.TightenedMode); a private file is left alone.
func TestCopyTightensAnOpenTargetFile(t *testing.T) {
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 1)
	for _, tc := range []struct {
		mode os.FileMode
		want string
	}{{0o644, "0644"}, {0o660, "0660"}, {0o600, ""}} {
		target := filepath.Join(dir, "t-"+tc.mode.String()+".db")
		must(t, os.WriteFile(target, nil, 0o600))
		must(t, os.Chmod(target, tc.mode))
		res, err := dbcopy.Copy(testCtx(t), src, sqliteDB(target), dbcopy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.TightenedMode != tc.want {
			t.Errorf("%o: TightenedMode %q, want %q", tc.mode, res.TightenedMode, tc.want)
		}
		for _, p := range []string{target, target + "-wal", target + "-shm"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %o after the copy, want no group or other bits", p, fi.Mode().Perm())
			}
		}
	}
}

// TestConcurrentCopiesIntoOnePostgresTarget: while one copy writes a PostgreSQL database, a
// second copy into it (by another spelling of the connection) is refused at once, naming this
// process and the server session holding the lock, and the target's rows are unchanged; the
// first then finishes.
func TestConcurrentCopiesIntoOnePostgresTarget(t *testing.T) {
	dir := t.TempDir()
	src := sqliteDB(filepath.Join(dir, "src.db"))
	seed(t, src.Path, 4)
	conn := testenv.PostgresDB(t)
	pg := config.Database{Driver: config.DriverPostgres, ConnString: conn}
	ctx := testCtx(t)
	if _, err := dbcopy.Copy(ctx, src, pg, dbcopy.Options{}); err != nil {
		t.Fatal(err)
	}
	resume, done := pausedCopy(t, src, pg)
	before, err := dbcopy.Checksums(ctx, pg)
	must(t, err)
	other := pg
	if strings.Contains(conn, "?") {
		other.ConnString = conn + "&application_name=another"
	} else {
		other.ConnString = conn + "?application_name=another"
	}
	_, err = dbcopy.Copy(ctx, src, other, dbcopy.Options{Force: true})
	busy := wantBusy(t, err, "copy into the same PostgreSQL database")
	if busy.Since == "" || !strings.Contains(busy.Lock, "server process") {
		t.Errorf("the refusal does not name the session holding the lock: %+v", busy)
	}
	if strings.Contains(err.Error(), "password=") {
		t.Errorf("the refusal shows a secret: %v", err)
	}
	// LockTarget itself refuses the same way (the command takes it before its backup).
	if l, err := dbcopy.LockTarget(ctx, other); err == nil {
		l.Release()
		t.Fatal("LockTarget succeeded while a copy holds the lock")
	} else {
		wantBusy(t, err, "LockTarget")
	}
	after, err := dbcopy.Checksums(ctx, pg)
	must(t, err)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused copy changed the target:\n%v\n%v", before, after)
	}
	resume()
	if err := <-done; err != nil {
		t.Fatalf("the first copy: %v", err)
	}
	l, err := dbcopy.LockTarget(context.Background(), other)
	if err != nil {
		t.Fatalf("lock after the first copy finished: %v", err)
	}
	l.Release()
}

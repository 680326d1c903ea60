package watch

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// newFile makes a SQLite file in WAL mode with one table, and returns its path.
func newFile(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"PRAGMA journal_mode=WAL", "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)"} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}

// TestSampleSaysTheFileIsGone: a sample says so when the watched name stops leading to the
// file the watch opened (removed, or replaced by another file), instead of going on with the
// old file's figures as if nothing had happened.
func TestSampleSaysTheFileIsGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		change     func(t *testing.T, path string)
	}{
		{"removed", "is gone (removed or renamed while the watch ran)", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", "is another file now (replaced while the watch ran)", func(t *testing.T, path string) {
			other := newFile(t, filepath.Dir(path), "other.db")
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := newFile(t, t.TempDir(), "c.db")
			h, err := factory.Open(t.Context(), config.Database{Driver: config.DriverSQLite, Path: path}, factory.ReadOnly)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			s, err := New(h)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Sample(t.Context()); got.Err != "" || got.SQLite == nil || got.SQLite.Pages == 0 {
				t.Fatalf("first sample: %+v", got)
			}
			tc.change(t, path)
			got := s.Sample(t.Context())
			if !strings.Contains(got.Err, tc.want) || !strings.Contains(got.Err, "start the watch again") {
				t.Errorf("after the file was %s: Err %q, want %q", tc.name, got.Err, tc.want)
			}
		})
	}
}

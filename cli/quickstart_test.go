package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstart: a fresh folder gets compozy.yaml, a migrated SQLite database and a filesystem
// vector store, and the doctor is green; a second run changes nothing and says so.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "quickstart")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{"✓ Wrote compozy.yaml", "✓ Created vector store \"main\" at ./data/vectors", "✓ Applied ",
		"✓ Doctor: No problems found.", "Next:", "compozy doctor"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	cfgPath := filepath.Join(dir, "compozy.yaml")
	before, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"data/compozy.db", "data/vectors"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	fi, _ := os.Stat(cfgPath)

	r = runCLI(t, dir, nil, "quickstart")
	if r.code != 0 || !strings.Contains(r.out, "The setup is already healthy; nothing was changed") {
		t.Fatalf("second run: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	after, _ := os.ReadFile(cfgPath)
	fi2, _ := os.Stat(cfgPath)
	if string(after) != string(before) || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Errorf("the second run rewrote compozy.yaml")
	}
	if r := runCLI(t, dir, nil, "doctor"); r.code != 0 {
		t.Errorf("doctor after quickstart: exit %d\n%s", r.code, r.out)
	}
}

// TestQuickstartExistingFile: a compozy.yaml without a database section gets one, and keeps
// everything else byte for byte (with a backup); one that configures PostgreSQL is refused.
func TestQuickstartExistingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	orig := "# my settings\nserver:\n  port: 5001 # keep\n\nknowledge:\n  embedder: openai # mine\n"
	writeFile(t, filepath.Join(dir, "compozy.yaml"), orig)
	r := runCLI(t, dir, nil, "quickstart")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if !strings.HasPrefix(string(got), "# my settings\nserver:\n  port: 5001 # keep\n\nknowledge:\n  embedder: openai # mine\n  vector_dbs:\n") ||
		!strings.Contains(string(got), "\ndatabase:\n") {
		t.Errorf("merged file:\n%s", got)
	}
	baks, _ := filepath.Glob(filepath.Join(dir, "compozy.yaml.*.bak"))
	if len(baks) != 1 {
		t.Fatalf("backups: %v", baks)
	}
	if b, _ := os.ReadFile(baks[0]); string(b) != orig {
		t.Errorf("backup holds %q", b)
	}

	pg := t.TempDir()
	writeFile(t, filepath.Join(pg, "compozy.yaml"), "database:\n  driver: postgres\n")
	if r := runCLI(t, pg, nil, "quickstart"); r.code != 2 || !strings.Contains(r.errOut, "quickstart sets up SQLite only") {
		t.Errorf("postgres file: exit %d\n%s", r.code, r.errOut)
	}
}

// TestQuickstartRefusesAnotherDriverFirst: a driver other than SQLite from the environment or a
// flag is refused before anything is written.
func TestQuickstartRefusesAnotherDriverFirst(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"env", []string{"COMPOZY_DB_DRIVER=postgres"}, nil, "env COMPOZY_DB_DRIVER sets driver postgres"},
		{"flag", nil, []string{"--db-driver", "postgres"}, "--db-driver postgres: quickstart sets up SQLite only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLI(t, dir, tt.env, append([]string{"quickstart"}, tt.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.errOut, ExitUsage, tt.want)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("quickstart wrote %v (err %v); want nothing", entries, err)
			}
		})
	}
}

// TestQuickstartDataNotAFolder: a ./data that is a file or a symbolic link leading nowhere is
// named and refused before anything is written (before, compozy.yaml was written first and the
// run failed after it with "mkdir data: file exists"); the file and the link stay as they were.
func TestQuickstartDataNotAFolder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		make func(t *testing.T, dir string)
		want string
	}{
		{"a file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "data"), []byte("mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "data is a file, not a folder"},
		{"a dangling link", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "data")); err != nil {
				t.Fatal(err)
			}
		}, "data is a symbolic link to " + "DIR/nowhere, which does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.make(t, dir)
			before := snapshot(t, dir)
			r := runCLI(t, dir, nil, "quickstart")
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if r.code != ExitUsage || !strings.Contains(r.errOut, want) || !strings.Contains(r.errOut, "nothing was written") {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.errOut, ExitUsage, want)
			}
			if after := snapshot(t, dir); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("quickstart changed the folder:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

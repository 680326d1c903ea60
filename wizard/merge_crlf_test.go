package wizard

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// mergeInputs are files Merge replaces in, adds to, or both; each as its LF text.
var mergeInputs = map[string]string{
	"both sections": existingFile,
	// The comments before database: moved its lines in the parser's count: the merge replaced
	// the wrong lines and left a second database: key.
	"comments first":       "# line 1\n# line 2\n# line 3\n\nserver:\n  port: 1   # mine\n\n# the database\ndatabase:\n  driver: postgres\n  # inside\n  host: h\n\n# after\nruntime:\n  max_concurrent_workflows: 8\n",
	"database first":       "database:\n  driver: postgres\n  host: h\nserver:\n  port: 1\n",
	"no database":          "# mine\nserver:\n  port: 1\n",
	"no trailing newline":  "server:\n  port: 1",
	"knowledge no vectors": "knowledge:\n    embedder: x # mine\n",
	"empty knowledge":      "knowledge:\nserver: {}\n",
	"quoted over lines":    "name: \"a title\n  on two lines\"\n# c\ndatabase:\n  driver: postgres\nknowledge:\n  vector_dbs:\n    - id: old\n      provider: qdrant\n      url: http://q:6333\n      dimension: 8\n",
	"comments only":        "# just a comment\n",
}

// TestMergeCRLF: a CRLF file (with or without a BOM) is merged as its LF twin is: the result is
// the LF twin's result written CRLF, with the BOM kept. Every byte outside the replaced
// sections is then the file's own, and the new lines end CRLF too.
func TestMergeCRLF(t *testing.T) {
	p, s := sqlitePlan(t)
	for name, lf := range mergeInputs {
		t.Run(name, func(t *testing.T) {
			want, err := Merge([]byte(lf), Data(p, s))
			if err != nil {
				t.Fatal(err)
			}
			for _, bom := range []string{"", "\ufeff"} {
				in := []byte(bom + crlf(lf))
				orig := bytes.Clone(in)
				out, err := Merge(in, Data(p, s))
				if err != nil {
					t.Fatalf("bom %q: %v", bom, err)
				}
				if !bytes.Equal(in, orig) {
					t.Fatalf("bom %q: Merge changed its input", bom)
				}
				if got, w := string(out), bom+crlf(string(want)); got != w {
					t.Errorf("bom %q: got\n%q\nwant (the LF result, CRLF)\n%q", bom, got, w)
				}
				if n := strings.Count(string(out), "\n"); n != strings.Count(string(out), "\r\n") {
					t.Errorf("bom %q: %d LF without CR in\n%q", bom, n-strings.Count(string(out), "\r\n"), out)
				}
				if _, err := config.LoadBytes(context.Background(), "compozy.yaml", out, config.LoadOptions{WorkDir: t.TempDir(),
					Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}); err != nil {
					t.Errorf("bom %q: the merged file does not load: %v\n%s", bom, err, out)
				}
				db, vec, err := Sections(in)
				wdb, wvec, _ := Sections([]byte(lf))
				if err != nil || db != wdb || vec != wvec {
					t.Errorf("bom %q: Sections = %v %v %v, want %v %v (as LF)", bom, db, vec, err, wdb, wvec)
				}
			}
		})
	}
}

// TestMergeMixedLineEndings: the new lines end as the file's first line does; every other
// line keeps its own ending.
func TestMergeMixedLineEndings(t *testing.T) {
	p, s := sqlitePlan(t)
	for _, tc := range []struct {
		name, in, eol string
	}{
		{"CRLF first", "# head\r\nserver:\n  port: 1\r\ndatabase:\n  driver: postgres\nruntime:\r\n  max_concurrent_workflows: 8\n", "\r\n"},
		{"LF first", "# head\nserver:\r\n  port: 1\r\ndatabase:\r\n  driver: postgres\r\nruntime:\r\n  max_concurrent_workflows: 8\r\n", "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Merge([]byte(tc.in), Data(p, s))
			if err != nil {
				t.Fatal(err)
			}
			got := string(out)
			head := tc.in[:strings.Index(tc.in, "database:")]
			tail := tc.in[strings.Index(tc.in, "runtime:"):]
			// head, the new database:, tail, then the knowledge: added at the end.
			section, added, ok := strings.Cut(strings.TrimPrefix(got, head), tail)
			if !strings.HasPrefix(got, head) || !ok {
				t.Fatalf("the lines around database: changed:\n%q", got)
			}
			if !strings.Contains(section, "driver: sqlite") || !strings.Contains(added, "knowledge:") {
				t.Fatalf("no new database: or knowledge: section:\n%q", got)
			}
			for _, l := range strings.SplitAfter(section+added, "\n") {
				if l != "" && !strings.HasSuffix(l, tc.eol) || tc.eol == "\n" && strings.HasSuffix(l, "\r\n") {
					t.Errorf("new line %q does not end %q", l, tc.eol)
				}
			}
		})
	}
}

// TestWriteBackupIsTheOriginal: the backup of a CRLF file with a BOM is the file, byte for byte.
func TestWriteBackupIsTheOriginal(t *testing.T) {
	p, s := sqlitePlan(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.yaml")
	orig := []byte("\ufeff" + crlf(existingFile))
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Merge(orig, Data(p, s))
	if err != nil {
		t.Fatal(err)
	}
	bak, err := Target{Path: path, Shown: "compozy.yaml"}.Write(out, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, filepath.Base(bak))); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("backup %s: %v; differs from the original:\n%q", bak, err, got)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, out) {
		t.Errorf("written: %v\n%q", err, got)
	}
}

// TestMergeRefusesLoneCR: a CR without an LF ends a line for the parser but not for the lines
// Merge replaces; such a file is refused (it made Merge index past its lines).
func TestMergeRefusesLoneCR(t *testing.T) {
	p, s := sqlitePlan(t)
	for in, line := range map[string]string{
		"# a\rserver:\r  port: 1\rdatabase:\r  driver: x\r": "line 1",
		"# a\r\n# b\r# c\ndatabase:\n  driver: x\n":         "line 2",
		"database:\n  driver: x\r":                          "line 2",
	} {
		_, err := Merge([]byte(in), Data(p, s))
		if err == nil || !strings.Contains(err.Error(), "carriage return without a line feed at "+line) {
			t.Errorf("%q: got %v, want the lone CR at %s", in, err, line)
		}
		if _, _, err := Sections([]byte(in)); err == nil {
			t.Errorf("%q: Sections accepted it", in)
		}
	}
}

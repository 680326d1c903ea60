package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNestingDepth(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"comment only", "# [[[[\n", 0},
		{"one section", "database:\n  driver: sqlite\n", 2},
		{"vector list", "knowledge:\n  vector_dbs:\n    - id: a\n      dimension: 4\n", 4},
		{"flow in block", "a:\n  b: [1, {c: [2]}]\n", 5},
		{"dash markers", "- - - x\n", 4},
		{"brackets in a quoted scalar", "a: \"[[[[[[\"\nb: '{{{{'\n", 1},
		{"quoted scalar over lines", "a: \"[[[\n  [[[\"\nb: 1\n", 1},
		{"brackets inside a plain scalar", "url: http://[::1]:6333\npw: a[b{c\n", 1},
		{"brackets after a comment", "a: 1 # [[[[\n", 1},
		{"block scalar", "a: |\n  [[[[[\n  {{{{\nb: 1\n", 1},
		{"anchors and tags", "a: &x !!seq [[1]]\n", 3},
		{"two documents", "a:\n  b:\n    c: 1\n---\nd: 1\n", 3},
	}
	for _, tt := range tests {
		if got, _, _ := nestingDepth([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: nestingDepth(%q) = %d, want %d", tt.name, tt.in, got, tt.want)
		}
	}
}

// deepDocuments are documents that nest far past MaxDepth, each in a different way.
func deepDocuments(n int) map[string]string {
	var indented strings.Builder
	for i := range 200 {
		indented.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return map[string]string{
		"flow sequences": "database:\n  host: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"flow mappings":  strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n",
		"list items":     "a:\n" + strings.Repeat("- ", n) + "x\n",
		"indentation":    indented.String(),
		"tagged flow":    strings.Repeat("!!seq [", n) + strings.Repeat("]", n) + "\n",
	}
}

func TestLoadRefusesDeepNesting(t *testing.T) {
	for name, doc := range deepDocuments(100_000) {
		t.Run(name, func(t *testing.T) {
			for _, load := range []string{"Load", "LoadBytes"} {
				var err error
				if load == "Load" {
					_, err = loadFile(t, doc, nil)
				} else {
					getenv, environ := testEnv()
					_, err = LoadBytes(context.Background(), DefaultFile, []byte(doc), LoadOptions{WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
				}
				ps := problems(t, err)
				if len(ps) != 1 {
					t.Fatalf("%s: got %d problems, want 1: %v", load, len(ps), err)
				}
				p := ps[0]
				if p.File != DefaultFile || p.Line == 0 || p.Column == 0 || !strings.Contains(p.Message, "deep; compozy reads at most 64 levels") ||
					!strings.HasPrefix(p.Message, "nesting ") || p.Fix == "" {
					t.Errorf("%s: got %s, want compozy.yaml:LINE:COL: nesting N deep; compozy reads at most 64 levels, with a fix", load, p)
				}
			}
		})
	}
	// The depth reported is the deepest, and the position where the limit was passed.
	_, err := loadFile(t, "database:\n  host: "+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+"\n", nil)
	want := "compozy.yaml:2:71: nesting 100002 deep; compozy reads at most 64 levels"
	if got := problems(t, err)[0]; !strings.HasPrefix(got.String(), want) {
		t.Errorf("got %q, want it to start with %q", got.String(), want)
	}
}

func TestLoadAcceptsDepthWithinLimit(t *testing.T) {
	doc := "other: " + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + "\ndatabase:\n  driver: sqlite\n  path: c.db\n"
	if _, err := loadFile(t, doc, nil); err != nil && strings.Contains(err.Error(), "nesting") {
		t.Errorf("a document %d deep is refused: %v", MaxDepth, err)
	}
}

func TestLoadRefusesLargeFiles(t *testing.T) {
	// A valid file, made large by a comment: the size alone refuses it.
	big := "database:\n  driver: sqlite\n  path: c.db\n# " + strings.Repeat("x", 2<<20) + "\n"
	t.Run("Load", func(t *testing.T) {
		_, err := loadFile(t, big, nil)
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].String() != "compozy.yaml: the file is 2.0 MB; compozy reads config files up to 1 MB\n"+
			"    fix: check that this is compozy's config file (--config or COMPOZY_CONFIG_FILE may name another file); a compozy.yaml is a few KB" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("LoadBytes", func(t *testing.T) {
		getenv, environ := testEnv()
		_, err := LoadBytes(context.Background(), "big.yaml", []byte(big), LoadOptions{WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
		if ps := problems(t, err); len(ps) != 1 || ps[0].File != "big.yaml" || !strings.Contains(ps[0].Message, "the file is 2.0 MB; compozy reads config files up to 1 MB") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("just over", func(t *testing.T) {
		_, err := loadFile(t, strings.Repeat("#", MaxFileSize+1), nil)
		if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "the file is 1048577 bytes; compozy reads config files up to 1 MB") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		if _, err := loadFile(t, "#"+strings.Repeat("x", MaxFileSize-2)+"\n", nil); err != nil {
			t.Errorf("a file of exactly %d bytes is refused: %v", MaxFileSize, err)
		}
	})
	t.Run("not a regular file", func(t *testing.T) {
		// /dev/zero never ends: it is read up to the limit, not to the end.
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		getenv, environ := testEnv()
		_, err := Load(context.Background(), LoadOptions{File: "/dev/zero", FileRequired: true, WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
		if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "compozy reads config files up to 1 MB") {
			t.Errorf("got %v", err)
		}
	})
}

func TestCheckInput(t *testing.T) {
	if err := CheckInput("c.yaml", []byte("database:\n  driver: sqlite\n")); err != nil {
		t.Errorf("a small file: %v", err)
	}
	err := CheckInput("c.yaml", []byte(strings.Repeat("[", 1000)))
	if ps := problems(t, err); len(ps) != 1 || ps[0].Where() != "c.yaml:1:64" {
		t.Errorf("got %v, want c.yaml:1:64", err)
	}
}

func TestLoadBoundsWhatGrowsWithInput(t *testing.T) {
	t.Run("vector DB entries", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("database:\n  driver: sqlite\n  path: c.db\nknowledge:\n  vector_dbs:\n")
		for i := range 5000 {
			b.WriteString("    - {id: v" + strings.Repeat("x", i%3) + ", provider: filesystem, path: ./v, dimension: 4}\n")
		}
		_, err := loadFile(t, b.String(), nil)
		ps := problems(t, err)
		found := false
		for _, p := range ps {
			if p.Key == "knowledge.vector_dbs" && p.Message == "5000 vector DBs; compozy reads at most 100" {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem about the number of vector DBs in %v", err)
		}
	})
	t.Run("problems", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("database:\n")
		for i := range 500 {
			b.WriteString("  unknown_key_" + strings.Repeat("x", i) + ": 1\n")
		}
		_, err := loadFile(t, b.String(), nil)
		ps := problems(t, err)
		if len(ps) != maxProblems+1 || ps[maxProblems].Message != "450 more problems are not shown" || ps[maxProblems].Where() == "" {
			t.Errorf("got %d problems, the last %+v; want %d and a count of the rest", len(ps), ps[len(ps)-1], maxProblems+1)
		}
	})
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	getenv, environ := testEnv()
	_, err := Load(context.Background(), LoadOptions{File: "sub", FileRequired: true, WorkDir: dir, Getenv: getenv, Environ: environ})
	if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "cannot read the config file: is a directory") {
		t.Errorf("got %v", err)
	}
}

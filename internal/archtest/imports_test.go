// Package archtest holds the import rules of ../shared/DESIGN.md section 9 as a test, so that a
// change that breaks one fails in CI instead of waiting for a review.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const mod = "compozy.dev/setup/"

// drivers are the packages only the two factories may import.
var drivers = []string{
	mod + "core/storage/sqlite", mod + "core/storage/postgres",
	mod + "core/vector/qdrant", mod + "core/vector/redis", mod + "core/vector/pgvector", mod + "core/vector/filesystem",
}

// packageImports reads the direct imports of every non-test Go file of the module, by package.
// It reads the files itself (rather than running go list) so that the test cache sees them.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkg := strings.TrimSuffix(mod+filepath.ToSlash(rel), "/.")
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(out[pkg], path) {
				out[pkg] = append(out[pkg], path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportRules checks every package's direct imports against the rules.
func TestImportRules(t *testing.T) {
	all := packageImports(t)
	type rule struct {
		from    []string // package prefixes the rule applies to
		exempt  []string // packages of from it does not apply to
		forbid  []string // imports (exact, or prefix when ending in /)
		because string
	}
	rules := []rule{
		{from: []string{mod + "cli", mod + "doctor", mod + "tui", mod + "core/storage/dbcopy", mod + "core/storage/backup",
			mod + "core/storage/bench", mod + "core/storage/workload"}, forbid: drivers,
			because: "only core/storage/factory and core/vector/factory import a driver (the one door)"},
		{from: []string{mod + "core/storage", mod + "core/vector"}, exempt: []string{mod + "core/storage/", mod + "core/vector/"},
			forbid: append([]string{mod + "core/config"}, drivers...), because: "the domain packages import neither drivers nor config"},
		{from: []string{mod + "core/"}, forbid: []string{mod + "cli", mod + "doctor", mod + "wizard", mod + "tui"},
			because: "core never imports the layers above it"},
		{from: []string{mod + "doctor"}, forbid: []string{mod + "tui"}, because: "doctor never imports tui"},
		{from: []string{mod + "wizard"}, forbid: []string{mod + "tui"}, because: "wizard never imports tui"},
	}
	matches := func(pkg, p string) bool {
		if strings.HasSuffix(p, "/") {
			return strings.HasPrefix(pkg, p)
		}
		return pkg == p || strings.HasPrefix(pkg, p+"/")
	}
	if len(all) < 20 {
		t.Fatalf("found only %d packages; is the module root ../..?", len(all))
	}
	for pkg, imports := range all {
		if strings.Contains(pkg, "/internal/") {
			continue
		}
		for _, r := range rules {
			applies := false
			for _, p := range r.from {
				applies = applies || matches(pkg, p)
			}
			for _, p := range r.exempt {
				if matches(pkg, p) {
					applies = false
				}
			}
			if !applies {
				continue
			}
			for _, imp := range imports {
				for _, bad := range r.forbid {
					if imp == bad || strings.HasPrefix(imp, bad+"/") && !strings.HasSuffix(bad, "/") {
						t.Errorf("%s imports %s: %s", pkg, imp, r.because)
					}
				}
			}
		}
	}
}

package wizard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
)

// seedStore writes a filesystem vector store in folder with one vector of dim values.
func seedStore(t *testing.T, folder string, dim int, metric string) {
	t.Helper()
	st, err := vfactory.Open(t.Context(), config.VectorDB{ID: "main", Provider: ProviderFilesystem, Path: folder, Dimension: dim, Metric: metric}, vfactory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, dim)
	v[0] = 1
	if err := st.Upsert(t.Context(), []vector.Point{{ID: "a", Vector: v}}); err != nil {
		t.Fatal(err)
	}
}

// tree lists every file under dir with its content, to show that a test changed nothing.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

// TestConnectionTestShapeConflict: a vector store that exists with another dimension or metric
// is a failed line with the conflict (what exists, what the entry says), read-only; the same
// shape passes.
func TestConnectionTestShapeConflict(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	folder := filepath.Join(dir, "vec")
	seedStore(t, folder, 4, "dot")
	before := tree(t, dir)
	mem := config.Database{Driver: config.DriverSQLite, Path: config.MemoryPath}
	test := func(dim int, metric string) ConnResult {
		cfg := &config.Config{Database: mem}
		cfg.Knowledge.VectorDBs = []config.VectorDB{{ID: "main", Provider: ProviderFilesystem, Path: folder, Dimension: dim, Metric: metric}}
		return TestConnections(ctx, cfg, func(string) string { return "" })[1]
	}
	r := test(8, "cosine")
	c := r.Conflict
	if r.OK || c == nil || c.Dimension != 4 || c.Metric != "dot" || c.WantDimension != 8 || c.WantMetric != "cosine" || c.Count != "1" {
		t.Fatalf("dimension and metric: %+v %+v", r, c)
	}
	for _, want := range []string{`filesystem store "`, " at " + folder + " ", "holds 4-dimension vectors (1 stored), not 8", "uses metric dot, not cosine"} {
		if !strings.Contains(r.Line, want) {
			t.Errorf("line %q lacks %q", r.Line, want)
		}
	}
	if r := test(4, "cosine"); r.OK || r.Conflict == nil || strings.Contains(r.Line, "dimension") || !strings.Contains(r.Line, "uses metric dot, not cosine") {
		t.Errorf("metric only: %+v", r)
	}
	if r := test(4, "dot"); !r.OK || r.Conflict != nil || !strings.Contains(r.Line, "already holds 1 vectors of 4 dimensions") {
		t.Errorf("same shape: %+v", r)
	}
	if after := tree(t, dir); len(after) != len(before) {
		t.Errorf("the test changed the folder: %d files before, %d after", len(before), len(after))
	} else {
		for p, b := range before {
			if after[p] != b {
				t.Errorf("the test changed %s", p)
			}
		}
	}
}

// TestInitShapeConflictWithoutQuestions: --yes with a conflict refuses (exit 2, RefusedError),
// writes nothing, and names the conflict and the flags that resolve it.
func TestInitShapeConflictWithoutQuestions(t *testing.T) {
	dir := t.TempDir()
	seedStore(t, filepath.Join(dir, "data", "vectors"), 4, "cosine")
	var out, errOut bytes.Buffer
	ui := &scriptUI{t: t}
	env := Env{Target: Target{Path: filepath.Join(dir, "compozy.yaml"), Shown: "compozy.yaml"},
		Load: LoadEnv{WorkDir: dir, Getenv: func(string) string { return "" }}, Out: &out, ErrOut: &errOut}
	s := DefaultSettings()
	s.SQLitePath = config.MemoryPath
	_, err := NewRun(env, Options{Yes: true}, ui, Answers{Driver: DriverSQLite, Provider: ProviderFilesystem}, s,
		Given{Driver: true, Provider: true, SQLitePath: true}, "").Do(t.Context())
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err %v (%T), want a RefusedError\n%s", err, err, ui.out.String())
	}
	for _, want := range []string{`vector DB "main"`, "holds 4-dimension vectors (1 stored), not 1536", "nothing was written",
		"--dimension 4", "--vector-path DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(env.Target.Path); err == nil {
		t.Error("compozy.yaml written")
	}
}

// TestQuestionsShapeConflictChoices: the form offers to use the store as it is (its dimension
// and metric are written), to use another folder, or the usual choices; nothing is dropped.
func TestQuestionsShapeConflictChoices(t *testing.T) {
	// dev, 1-10, vectors, no server, nothing available, accept, sqlite path, folder, dimension 8.
	toConflict := []string{"1", "", "y", "n", "", "", "", "", "8"}
	const title = "The vector DB already holds a store of another shape."
	for _, tc := range []struct {
		name   string
		asked  int
		then   []string
		dim    int
		metric string
		path   string
	}{
		{"use it", 1, []string{"1", "y", "n"}, 4, "dot", "./data/vectors"},
		{"another folder", 1, []string{"2", "./data/other", "y", "n"}, 8, "cosine", "./data/other"},
		{"back from the folder", 2, []string{"2", "<back>", "1", "y", "n"}, 4, "dot", "./data/vectors"},
		{"write anyway", 1, []string{"4", "y", "n"}, 8, "cosine", "./data/vectors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			folder := filepath.Join(dir, "data", "vectors")
			seedStore(t, folder, 4, "dot")
			before := tree(t, folder)
			ui, res, _, err := runScript(t, dir, Options{}, append(slices.Clone(toConflict), tc.then...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, ui.out.String())
			}
			if countOf(ui.asked, title) != tc.asked || !strings.Contains(ui.out.String(), "holds 4-dimension vectors (1 stored), not 8 and uses metric dot, not cosine") {
				t.Errorf("asked %q\n%s", ui.asked, ui.out.String())
			}
			v := res.Config.Knowledge.VectorDBs[0]
			if v.Dimension != tc.dim || v.Metric != tc.metric || !strings.HasSuffix(filepath.ToSlash(v.Path), strings.TrimPrefix(tc.path, ".")) {
				t.Errorf("entry %+v, want dimension %d metric %s path %s", v, tc.dim, tc.metric, tc.path)
			}
			if after := tree(t, folder); len(after) != len(before) {
				t.Errorf("the store changed: %v", after)
			}
		})
	}
	dir := t.TempDir()
	seedStore(t, filepath.Join(dir, "data", "vectors"), 4, "dot")
	_, _, _, err := runScript(t, dir, Options{}, append(slices.Clone(toConflict), "5")...)
	var quit *QuitError
	if !asQuit(err, &quit) {
		t.Errorf("quit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "compozy.yaml")); err == nil {
		t.Error("quit wrote the file")
	}
}

func TestValidateVectorID(t *testing.T) {
	for _, ok := range []string{"main", "docs_384", "A1"} {
		if err := ValidateVectorID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1main", "a-b", "a b", "ä", strings.Repeat("a", 41)} {
		if ValidateVectorID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

package wizard

import (
	"context"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
)

// existingFile has sections compozy does not own, comments everywhere, and both owned sections.
const existingFile = `# My Compozy project
# (hand-written; keep my comments)

server:
  port: 5001   # the API port
  cors: ["*"]

database:
  driver: postgres
  host: old-host   # to be replaced
  # an indented comment inside database

# The knowledge section: mine, except vector_dbs
knowledge:
  default_embedder: openai   # mine
  vector_dbs:
    - id: old
      provider: qdrant
      url: http://old:6333
      dimension: 768
  chunking:
    size: 800   # mine too

runtime:
  max_concurrent_workflows: 8
# the end
`

func sqlitePlan(t *testing.T) (Plan, Settings) {
	t.Helper()
	p, err := Decide(Answers{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: AvailNone})
	if err != nil {
		t.Fatal(err)
	}
	return p, DefaultSettings()
}

// TestMergeKeepsEverythingElse replaces database: and knowledge.vector_dbs and checks that
// every other line survives byte for byte, and that the result loads.
func TestMergeKeepsEverythingElse(t *testing.T) {
	p, s := sqlitePlan(t)
	out, err := Merge([]byte(existingFile), Data(p, s))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, keep := range []string{
		"# My Compozy project\n# (hand-written; keep my comments)\n\nserver:\n  port: 5001   # the API port\n  cors: [\"*\"]\n\n",
		"\n# The knowledge section: mine, except vector_dbs\nknowledge:\n  default_embedder: openai   # mine\n",
		"  chunking:\n    size: 800   # mine too\n\nruntime:\n  max_concurrent_workflows: 8\n# the end\n",
	} {
		if !strings.Contains(got, keep) {
			t.Errorf("lost %q:\n%s", keep, got)
		}
	}
	for _, gone := range []string{"old-host", "id: old", "dimension: 768", "an indented comment inside database"} {
		if strings.Contains(got, gone) {
			t.Errorf("still holds %q:\n%s", gone, got)
		}
	}
	if !strings.HasPrefix(got, existingFile[:strings.Index(existingFile, "database:")]) || !strings.HasSuffix(got, "# the end\n") {
		t.Errorf("the head or tail changed:\n%s", got)
	}
	cfg, err := config.LoadBytes(context.Background(), "compozy.yaml", out, config.LoadOptions{WorkDir: t.TempDir(),
		Getenv: func(string) string { return "" }, Environ: func() []string { return nil }})
	if err != nil {
		t.Fatalf("merged file does not load: %v\n%s", err, got)
	}
	if cfg.Database.Driver != "sqlite" || len(cfg.Knowledge.VectorDBs) != 1 || cfg.Knowledge.VectorDBs[0].Provider != "filesystem" || cfg.Runtime.MaxConcurrentWorkflows != 8 {
		t.Errorf("loaded: %+v %+v", cfg.Database, cfg.Knowledge)
	}
	// Merging again is stable: the same bytes.
	again, err := Merge(out, Data(p, s))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != got {
		t.Errorf("a second merge changed the file:\n%s", again)
	}
}

func TestMergeAdds(t *testing.T) {
	p, s := sqlitePlan(t)
	for _, tc := range []struct {
		name, in string
		keep     string
	}{
		{"empty", "", ""},
		{"comments only", "# just a comment\n", "# just a comment\n"},
		{"other sections", "server:\n  port: 1\n", "server:\n  port: 1\n"},
		{"no trailing newline", "server:\n  port: 1", "server:\n  port: 1\n"},
		{"knowledge without vector_dbs", "knowledge:\n    embedder: x # mine\n", "knowledge:\n    embedder: x # mine\n    vector_dbs:\n      - id: main\n"},
		{"empty knowledge", "knowledge:\nserver: {}\n", "knowledge:\n  vector_dbs:\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Merge([]byte(tc.in), Data(p, s))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.keep) || !strings.Contains(string(out), "driver: sqlite") {
				t.Errorf("got:\n%s", out)
			}
			if _, err := config.LoadBytes(context.Background(), "compozy.yaml", out, config.LoadOptions{WorkDir: t.TempDir(),
				Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}); err != nil {
				t.Errorf("does not load: %v\n%s", err, out)
			}
		})
	}
	for _, bad := range []string{"{database: {driver: sqlite}}", "- a\n- b\n", "knowledge: {vector_dbs: []}\n", "a: 1\n---\nb: 2\n"} {
		if _, err := Merge([]byte(bad), Data(p, s)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSplitPassword(t *testing.T) {
	clean, pw, err := SplitPassword("postgres://app:s%40cret@db:5432/compozy?sslmode=require")
	if err != nil || pw != "s@cret" || clean != "postgres://app@db:5432/compozy?sslmode=require" {
		t.Errorf("got %q %q %v", clean, pw, err)
	}
	if _, _, err := SplitPassword("host=db password=x user=app"); err == nil {
		t.Errorf("key=value with a password: no error")
	}
	if clean, _, err := SplitPassword("host=db user=app"); err != nil || clean != "host=db user=app" {
		t.Errorf("key=value: %q %v", clean, err)
	}
}

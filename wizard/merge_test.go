package wizard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/templates"
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

func TestSplitVectorURL(t *testing.T) {
	tests := []struct {
		in, want string
		secrets  []VectorSecret
	}{
		{"redis://localhost:6379", "redis://localhost:6379", nil},
		{"redis://:pw@r:6379/0", "redis://:${COMPOZY_VECTOR_PASSWORD}@r:6379/0", []VectorSecret{{VectorPasswordEnv, "pw"}}},
		{"rediss://default:p%40ss@r:6380", "rediss://default:${COMPOZY_VECTOR_PASSWORD}@r:6380", []VectorSecret{{VectorPasswordEnv, "p@ss"}}},
		{"redis://user@r:6379", "redis://user@r:6379", nil},
		{"http://q:6333?api_key=k3y&x=1", "http://q:6333?api_key=${COMPOZY_VECTOR_API_KEY}&x=1", []VectorSecret{{VectorAPIKeyEnv, "k3y"}}},
		{"https://u:pw@q:6333/?api_key=k", "https://u:${COMPOZY_VECTOR_PASSWORD}@q:6333/?api_key=${COMPOZY_VECTOR_API_KEY}",
			[]VectorSecret{{VectorPasswordEnv, "pw"}, {VectorAPIKeyEnv, "k"}}},
		{"postgres://u:pw@db:5432/vec?sslmode=require", "postgres://u:${COMPOZY_VECTOR_PASSWORD}@db:5432/vec?sslmode=require", []VectorSecret{{VectorPasswordEnv, "pw"}}},
		// Already a reference: kept, nothing to set from the flag.
		{"redis://:${REDIS_PW}@r:6379", "redis://:${REDIS_PW}@r:6379", nil},
		{"http://q:6333?api_key=${K}", "http://q:6333?api_key=${K}", nil},
	}
	for _, tt := range tests {
		got, secrets, err := SplitVectorURL(tt.in)
		if err != nil || got != tt.want || !slices.Equal(secrets, tt.secrets) {
			t.Errorf("SplitVectorURL(%q) = %q, %v, %v; want %q, %v", tt.in, got, secrets, err, tt.want, tt.secrets)
		}
	}
	for _, bad := range []string{"redis://:Xq7Zw/Pv3Lk@r:6379", "redis://:Xq7Zw Pv3Lk@r", "redis://:a@r?password=b"} {
		if _, _, err := SplitVectorURL(bad); err == nil || strings.Contains(err.Error(), "Xq7Zw") || strings.Contains(err.Error(), "Pv3Lk") {
			t.Errorf("SplitVectorURL(%q): got error %v, want one that quotes nothing", bad, err)
		}
	}
}

func TestReferences(t *testing.T) {
	if got, want := References("a${X}b${Y:-${Z}}$${W}${X}"), []string{"X", "Y", "Z"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestDataSecretComment: the file says which variable to set for a vector DB URL's password.
func TestDataSecretComment(t *testing.T) {
	p, err := Direct(DriverSQLite, ProviderRedis)
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSettings()
	s.VectorURL, _, _ = SplitVectorURL("redis://:pw@r:6379")
	out, err := templates.Render(Data(p, s))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# The password is never written here: set COMPOZY_VECTOR_PASSWORD in the environment.\n", `url: "redis://:${COMPOZY_VECTOR_PASSWORD}@r:6379"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the file lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), ":pw@") {
		t.Errorf("the file holds the password:\n%s", out)
	}
}

// TestMergeRefusesHostileFiles: an existing file too large or too deep is refused before the
// YAML parser sees it (a deep file once cost the parser 15 GB).
func TestMergeRefusesHostileFiles(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		code       config.Code
		want       string
	}{
		{"deep", "database:\n  host: " + strings.Repeat("[", 100_000) + "\n", config.CodeFileTooDeep,
			"the existing file (line 2, column 71): nesting 100002 deep; compozy reads at most 64 levels"},
		{"large", "# " + strings.Repeat("x", 2<<20) + "\n", config.CodeFileTooLarge,
			"the existing file: the file is 2.0 MB; compozy reads config files up to 1 MB"},
	} {
		_, err := Merge([]byte(tc.data), templates.Data{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Merge: got %v, want %q", tc.name, err, tc.want)
		}
		if cerr := (*config.Error)(nil); !errors.As(err, &cerr) || cerr.Problems[0].Code != tc.code {
			t.Errorf("%s: Merge: %v does not carry the code %s", tc.name, err, tc.code)
		}
		if _, _, err := Sections([]byte(tc.data)); err == nil {
			t.Errorf("%s: Sections accepted the file", tc.name)
		}
	}
}

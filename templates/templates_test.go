package templates_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/templates"
	"compozy.dev/setup/wizard"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// outcome is one decision-matrix outcome: the answers that lead to it and the settings.
type outcome struct {
	name     string
	answers  wizard.Answers
	settings func(*wizard.Settings)
}

func outcomes() []outcome {
	return []outcome{
		{"sqlite_none", wizard.Answers{UseCase: wizard.UseDev, Workflows: wizard.Workflows1to10}, nil},
		{"sqlite_filesystem", wizard.Answers{UseCase: wizard.UseDev, Workflows: wizard.Workflows1to10, Vectors: true, Available: wizard.AvailNone}, nil},
		{"sqlite_memory_filesystem", wizard.Answers{UseCase: wizard.UseCI, Workflows: wizard.Workflows1to10, Vectors: true, Available: wizard.AvailNone},
			func(s *wizard.Settings) { s.SQLitePath = ":memory:" }},
		{"sqlite_qdrant", wizard.Answers{UseCase: wizard.UseSingleTenant, Workflows: wizard.Workflows25to100, Server: true, Vectors: true, Available: wizard.AvailNone}, nil},
		{"sqlite_redis", wizard.Answers{UseCase: wizard.UseEdge, Workflows: wizard.Workflows100Plus, Vectors: true, Available: wizard.AvailRedis}, nil},
		{"postgres_none", wizard.Answers{UseCase: wizard.UseProduction, Workflows: wizard.Workflows100Plus, Server: true},
			func(s *wizard.Settings) { s.Password = true; s.SSLMode = "require"; s.Host = "db.internal" }},
		{"postgres_pgvector", wizard.Answers{UseCase: wizard.UseProduction, Workflows: wizard.Workflows25to100, Server: true, Vectors: true, Available: wizard.AvailPgvector},
			func(s *wizard.Settings) { s.Password = true }},
		{"postgres_pgvector_elsewhere", wizard.Answers{UseCase: wizard.UseProduction, Workflows: wizard.Workflows25to100, Server: true, Vectors: true, Available: wizard.AvailPgvector,
			PgvectorServer: "vec.internal:5433/vectors"},
			func(s *wizard.Settings) {
				s.Password = true
				s.VectorURL = "postgres://vec@vec.internal:5433/vectors?sslmode=require"
			}},
		{"postgres_qdrant", wizard.Answers{UseCase: wizard.UseProduction, Workflows: wizard.Workflows10to25, Server: true, Vectors: true, Available: wizard.AvailQdrant},
			func(s *wizard.Settings) { s.VectorURL = "http://qdrant:6333" }},
		{"postgres_redis_connstring", wizard.Answers{UseCase: wizard.UseSingleTenant, Workflows: wizard.Workflows100Plus, Server: true, Vectors: true, Available: wizard.AvailRedis},
			func(s *wizard.Settings) {
				s.ConnString = "postgres://app@db:5432/compozy?sslmode=verify-full"
				s.Password = true
			}},
	}
}

// TestRender compares each outcome's file with its golden file, and loads it through
// core/config: a template that renders but does not load is the failure golden files miss.
func TestRender(t *testing.T) {
	for _, oc := range outcomes() {
		t.Run(oc.name, func(t *testing.T) {
			plan, err := wizard.Decide(oc.answers)
			if err != nil {
				t.Fatal(err)
			}
			s := wizard.DefaultSettings()
			if oc.settings != nil {
				oc.settings(&s)
			}
			data := wizard.Data(plan, s)
			got, err := templates.Render(data)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", oc.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("rendered file differs from %s (go test ./templates -update rewrites it):\n%s", golden, got)
			}
			if strings.Contains(string(got), "s3cret") {
				t.Errorf("the password was rendered")
			}
			roundTrip(t, got, plan, s)
		})
	}
}

// TestRenderSaysWherePgvectorIs: the comments say pgvector is inside the PostgreSQL above only
// when it is; with a URL they name the other server (no password), the decision-matrix reason
// included.
func TestRenderSaysWherePgvectorIs(t *testing.T) {
	a := wizard.Answers{UseCase: wizard.UseProduction, Workflows: wizard.Workflows1to10, Server: true, Vectors: true, Available: wizard.AvailPgvector}
	render := func(url string) string {
		t.Helper()
		s := wizard.DefaultSettings()
		s.VectorURL = url
		a := a
		a.PgvectorServer = wizard.PgvectorServer(url)
		plan, err := wizard.Decide(a)
		if err != nil {
			t.Fatal(err)
		}
		out, err := templates.Render(wizard.Data(plan, s))
		if err != nil {
			t.Fatal(err)
		}
		// Comment lines that follow a comment line are joined to it: a wrapped sentence reads
		// as one.
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if n := len(lines); n > 0 && strings.HasPrefix(strings.TrimSpace(l), "#") && strings.HasPrefix(strings.TrimSpace(lines[n-1]), "#") {
				lines[n-1] += " " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
				continue
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n")
	}
	same := render("")
	for _, want := range []string{"# Inside the PostgreSQL above (CREATE EXTENSION vector).", "vector search: pgvector, inside the same PostgreSQL"} {
		if !strings.Contains(same, want) {
			t.Errorf("same server: lacks %q:\n%s", want, same)
		}
	}
	other := render("postgres://vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors?sslmode=require")
	for _, want := range []string{
		"# On another PostgreSQL server, vec.internal:5433/vectors, not the database above (CREATE EXTENSION vector there).",
		"vector search: pgvector, on another PostgreSQL server, vec.internal:5433/vectors (CREATE EXTENSION vector there",
		`url: "postgres://vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors?sslmode=require"`,
		"set COMPOZY_VECTOR_PASSWORD in the environment",
	} {
		if !strings.Contains(other, want) {
			t.Errorf("another server: lacks %q:\n%s", want, other)
		}
	}
	for _, bad := range []string{"Inside the PostgreSQL above", "inside the same PostgreSQL", "vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors,"} {
		if strings.Contains(other, bad) {
			t.Errorf("another server: says %q:\n%s", bad, other)
		}
	}
}

func roundTrip(t *testing.T, data []byte, plan wizard.Plan, s wizard.Settings) {
	t.Helper()
	dir := t.TempDir()
	env := []string{wizard.PasswordEnv + "=s3cret"}
	cfg, err := config.LoadBytes(context.Background(), "compozy.yaml", data, config.LoadOptions{WorkDir: dir,
		Getenv: func(k string) string {
			if k == wizard.PasswordEnv {
				return "s3cret"
			}
			return ""
		},
		Environ: func() []string { return env }})
	if err != nil {
		t.Fatalf("the rendered file does not load: %v\n%s", err, data)
	}
	d := cfg.Database
	if d.Driver != plan.Driver {
		t.Errorf("driver %s, want %s", d.Driver, plan.Driver)
	}
	switch plan.Driver {
	case wizard.DriverSQLite:
		want := s.SQLitePath
		if want != config.MemoryPath {
			want = filepath.Join(dir, s.SQLitePath)
		}
		if d.Path != want || d.JournalMode != "wal" || d.BusyTimeout.String() != "5s" || d.Synchronous != "normal" {
			t.Errorf("sqlite settings: %+v", d)
		}
	case wizard.DriverPostgres:
		if s.ConnString != "" {
			if d.ConnString != s.ConnString {
				t.Errorf("conn_string %q", d.ConnString)
			}
		} else if d.Host != s.Host || d.Port != s.Port || d.User != s.User || d.Name != s.Name || d.SSLMode != s.SSLMode {
			t.Errorf("postgres settings: %+v", d)
		}
		if s.Password && d.Password != "s3cret" {
			t.Errorf("password not read from %s", wizard.PasswordEnv)
		}
	}
	if plan.Provider == wizard.ProviderNone {
		if len(cfg.Knowledge.VectorDBs) != 0 {
			t.Errorf("vector DBs: %+v", cfg.Knowledge.VectorDBs)
		}
	} else {
		if len(cfg.Knowledge.VectorDBs) != 1 {
			t.Fatalf("vector DBs: %+v", cfg.Knowledge.VectorDBs)
		}
		v := cfg.Knowledge.VectorDBs[0]
		if v.Provider != plan.Provider || v.Dimension != s.Dimension || v.Metric != s.Metric || v.ID != s.VectorID {
			t.Errorf("vector DB: %+v", v)
		}
	}
	for _, w := range cfg.Warnings {
		if w.Key == "database.password" || w.Code == config.CodeSecretPlaintext {
			t.Errorf("config warns: %s", w)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"./data/compozy.db":      "./data/compozy.db",
		":memory:":               `":memory:"`,
		"${COMPOZY_DB_PASSWORD}": `"${COMPOZY_DB_PASSWORD}"`,
		"http://localhost:6333":  `"http://localhost:6333"`,
		"yes":                    `"yes"`,
		"":                       `""`,
		"my db/with space":       `"my db/with space"`,
		`quote"d`:                `"quote\"d"`,
		"localhost":              "localhost",
		"5432":                   `"5432"`,
	} {
		if got := templates.Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

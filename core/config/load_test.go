package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testEnv returns Getenv and Environ over KEY=VALUE pairs.
func testEnv(pairs ...string) (func(string) string, func() []string) {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }, func() []string { return append([]string(nil), pairs...) }
}

// loadFile writes content to compozy.yaml in a new folder and loads it from there.
func loadFile(t *testing.T, content string, env []string, flags ...Override) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, environ := testEnv(env...)
	cfg, err := Load(context.Background(), LoadOptions{WorkDir: dir, Getenv: getenv, Environ: environ, Flags: flags})
	checkCodes(t, cfg, err)
	return cfg, err
}

// checkCodes fails the test when a problem or warning of a load has no code, or one that
// Codes does not list for its kind (problem or warning): every finding of every test that
// loads through loadFile is checked.
func checkCodes(t *testing.T, cfg *Config, err error) {
	t.Helper()
	known := map[Code]CodeInfo{}
	for _, c := range Codes() {
		known[c.Code] = c
	}
	var cerr *Error
	if errors.As(err, &cerr) {
		for _, p := range cerr.Problems {
			if c, ok := known[p.Code]; !ok || !c.Error {
				t.Errorf("problem %q has code %q, which Codes does not list as an error", p.String(), p.Code)
			}
		}
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			if c, ok := known[w.Code]; !ok || !c.Warning {
				t.Errorf("warning %q has code %q, which Codes does not list as a warning", w.String(), w.Code)
			}
		}
	}
}

// mustLoad loads content and fails the test on an error.
func mustLoad(t *testing.T, content string, env []string, flags ...Override) *Config {
	t.Helper()
	cfg, err := loadFile(t, content, env, flags...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// problems returns the problems of err, failing the test when err is not a *Error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v (%T), want *config.Error", err, err)
	}
	return cerr.Problems
}

func TestLoadDefaultsWithoutFile(t *testing.T) {
	getenv, environ := testEnv()
	dir := t.TempDir()
	cfg, err := Load(context.Background(), LoadOptions{WorkDir: dir, Getenv: getenv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	want := Database{
		Driver: "postgres", Host: "localhost", Port: 5432, User: "postgres", Name: "compozy", SSLMode: "disable",
		MaxOpenConns: 25, MaxIdleConns: 5, ConnMaxLifetime: 5 * time.Minute, ConnMaxIdleTime: time.Minute,
		ConnectTimeout: 5 * time.Second, MigrationTimeout: 2 * time.Minute, AutoMigrate: true,
		BusyTimeout: 5 * time.Second, JournalMode: "wal", Synchronous: "normal",
	}
	if got := cfg.Database; got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if cfg.File != "" || cfg.Dir != dir {
		t.Errorf("got File %q Dir %q, want \"\" and %q", cfg.File, cfg.Dir, dir)
	}
	for _, f := range Fields() {
		if f.Section == SectionVectorDB {
			continue
		}
		if got, want := cfg.Sources[f.Key()].Kind, SourceDefault; got != want {
			t.Errorf("source of %s: got %q, want %q", f.Key(), got, want)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("got warnings %v, want none", cfg.Warnings)
	}
}

func TestLoadMissingNamedFile(t *testing.T) {
	for _, from := range []string{"--config", "COMPOZY_CONFIG_FILE"} {
		t.Run(from, func(t *testing.T) {
			getenv, environ := testEnv()
			_, err := Load(context.Background(), LoadOptions{
				File: "missing.yaml", FileRequired: true, FileFrom: from, WorkDir: t.TempDir(), Getenv: getenv, Environ: environ,
			})
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), err)
			}
			if got := ps[0]; got.File != "missing.yaml" || !strings.Contains(got.Message, "not found") || !strings.Contains(got.Message, from) {
				t.Errorf("got %+v, want a not-found problem naming missing.yaml and %s", got, from)
			}
		})
	}
}

func TestLoadFullFile(t *testing.T) {
	content := `name: my-project          # not ours: kept, not checked
workflows:
  - source: ./wf.yaml
database:
  driver: postgres
  host: db.internal
  port: 6432
  user: compozy
  password: ${PGPASS}
  dbname: app
  sslmode: require
  max_open_conns: 40
  max_idle_conns: 10
  conn_max_lifetime: 30m
  conn_max_idle_time: 0
  connect_timeout: 10s
  migration_timeout: 5m
  auto_migrate: false
knowledge:
  bases: [whatever]
  vector_dbs:
    - id: main
      provider: pgvector
      dimension: 1536
      metric: DOT
    - id: side
      provider: qdrant
      url: http://qdrant:6333
      dimension: 768
      collection: docs
runtime:
  max_concurrent_workflows: 300
  other: 1
server:
  port: 8080
`
	cfg := mustLoad(t, content, []string{"PGPASS=s3cret"})
	d := cfg.Database
	got := []any{d.Host, d.Port, d.User, d.Password, d.Name, d.SSLMode, d.MaxOpenConns, d.MaxIdleConns,
		d.ConnMaxLifetime, d.ConnMaxIdleTime, d.ConnectTimeout, d.MigrationTimeout, d.AutoMigrate}
	want := []any{"db.internal", 6432, "compozy", "s3cret", "app", "require", 40, 10,
		30 * time.Minute, time.Duration(0), 10 * time.Second, 5 * time.Minute, false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("database: got %v, want %v", got, want)
	}
	wantVDB := []VectorDB{
		{ID: "main", Provider: "pgvector", Dimension: 1536, Metric: "dot"},
		{ID: "side", Provider: "qdrant", URL: "http://qdrant:6333", Dimension: 768, Collection: "docs", Metric: "cosine"},
	}
	if !reflect.DeepEqual(cfg.Knowledge.VectorDBs, wantVDB) {
		t.Errorf("vector DBs: got %+v, want %+v", cfg.Knowledge.VectorDBs, wantVDB)
	}
	if got, want := cfg.Runtime.MaxConcurrentWorkflows, 300; got != want {
		t.Errorf("max_concurrent_workflows: got %d, want %d", got, want)
	}
	sources := map[string]Source{
		"database.port":                    {Kind: SourceFile, File: "compozy.yaml", Line: 7, Column: 9},
		"database.name":                    {Kind: SourceFile, File: "compozy.yaml", Line: 10, Column: 11},
		"knowledge.vector_dbs[1].url":      {Kind: SourceFile, File: "compozy.yaml", Line: 28, Column: 12},
		"knowledge.vector_dbs[1].metric":   {Kind: SourceDefault},
		"knowledge.vector_dbs[0]":          {Kind: SourceFile, File: "compozy.yaml", Line: 22, Column: 7},
		"runtime.max_concurrent_workflows": {Kind: SourceFile, File: "compozy.yaml", Line: 32, Column: 29},
	}
	for key, want := range sources {
		if got := cfg.Sources[key]; got != want {
			t.Errorf("source of %s: got %+v, want %+v", key, got, want)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("got warnings %v, want none", cfg.Warnings)
	}
}

func TestLoadLayers(t *testing.T) {
	content := "database:\n  host: from-file\n  port: 1111\n  user: file-user\n  name: file-db\n"
	tests := []struct {
		name  string
		env   []string
		flags []Override
		want  map[string]string // key -> value, source
	}{
		{
			name: "file over defaults",
			want: map[string]string{"database.host": "from-file compozy.yaml:2", "database.ssl_mode": "disable default"},
		},
		{
			name: "env over file, COMPOZY_ over legacy",
			env:  []string{"DB_HOST=legacy", "COMPOZY_DB_HOST=documented", "DB_PORT=2222", "DB_SSLMODE=require", "COMPOZY_DB_DBNAME=env-db"},
			want: map[string]string{
				"database.host":     "documented env COMPOZY_DB_HOST",
				"database.port":     "2222 env DB_PORT",
				"database.ssl_mode": "require env DB_SSLMODE",
				"database.name":     "env-db env COMPOZY_DB_DBNAME",
				"database.user":     "file-user compozy.yaml:4",
			},
		},
		{
			name: "canonical env name over alias",
			env:  []string{"COMPOZY_DB_SSLMODE=require", "COMPOZY_DB_SSL_MODE=verify-full"},
			want: map[string]string{"database.ssl_mode": "verify-full env COMPOZY_DB_SSL_MODE"},
		},
		{
			name: "flags over env",
			env:  []string{"COMPOZY_DB_HOST=env-host", "COMPOZY_DB_PASSWORD=env-pw"},
			flags: []Override{
				{Key: "database.host", Name: "--db-host", Value: "flag-host"},
				{Key: "database.port", Name: "--db-port", Value: "3333"},
				{Key: "database.password", Name: "--db-password-stdin", Value: "stdin-pw", Stdin: true},
			},
			want: map[string]string{
				"database.host":     "flag-host flag --db-host",
				"database.port":     "3333 flag --db-port",
				"database.password": "stdin-pw stdin",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, content, tt.env, tt.flags...)
			fields := map[string]Field{}
			for _, f := range Fields() {
				fields[f.Key()] = f
			}
			for key, want := range tt.want {
				got := formatValue(fields[key].get(cfg, 0)) + " " + cfg.Sources[key].String()
				if got != want {
					t.Errorf("%s: got %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestLoadEnvWarnings(t *testing.T) {
	getenv, environ := testEnv("COMPOZY_DB_HOST=a", "DB_HOST=b", "COMPOZY_DB_HOTS=c", "DB_UNRELATED=d")
	cfg, err := Load(context.Background(), LoadOptions{WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		"env DB_HOST: database.host: DB_HOST is ignored: COMPOZY_DB_HOST is set too and takes precedence\n    fix: unset one of them",
		"env COMPOZY_DB_HOTS: unknown variable COMPOZY_DB_HOTS is ignored\n    fix: rename it to COMPOZY_DB_HOST",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestLoadBusyTimeoutForms(t *testing.T) {
	for _, v := range []string{"5000", "5s", `"5000"`, "5000ms"} {
		t.Run(v, func(t *testing.T) {
			cfg := mustLoad(t, "database:\n  busy_timeout: "+v+"\n", nil)
			if got, want := cfg.Database.BusyTimeout, 5*time.Second; got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	getenv, environ := testEnv("COMPOZY_DB_BUSY_TIMEOUT=250")
	cfg, err := Load(context.Background(), LoadOptions{WorkDir: t.TempDir(), Getenv: getenv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Database.BusyTimeout, 250*time.Millisecond; got != want {
		t.Errorf("env: got %v, want %v", got, want)
	}
}

func TestLoadExpansion(t *testing.T) {
	content := `database:
  host: ${HOST:-fallback}
  user: ${USER_SET}
  password: ${EMPTY:-dflt}
  name: $${literal}
  port: ${PORT}
  conn_string: ""
`
	cfg := mustLoad(t, content, []string{"USER_SET=alice", "EMPTY=", "PORT=7000"})
	d := cfg.Database
	got := []any{d.Host, d.User, d.Password, d.Name, d.Port}
	want := []any{"fallback", "alice", "dflt", "${literal}", 7000}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, w := range cfg.Warnings {
		if w.Key == "database.password" {
			t.Errorf("a ${VAR} password is not plaintext, got warning %v", w)
		}
	}
}

func TestLoadPaths(t *testing.T) {
	t.Run("relative to the file's folder", func(t *testing.T) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "conf")
		if err := os.MkdirAll(sub, 0o750); err != nil {
			t.Fatal(err)
		}
		content := "database:\n  driver: sqlite\n  path: data/c.db\nknowledge:\n  vector_dbs:\n    - {id: fs, provider: filesystem, path: ./vec, dimension: 8}\n"
		if err := os.WriteFile(filepath.Join(sub, "c.yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		getenv, environ := testEnv()
		cfg, err := Load(context.Background(), LoadOptions{File: "conf/c.yaml", FileRequired: true, WorkDir: dir, Getenv: getenv, Environ: environ})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.Database.Path, filepath.Join(sub, "data", "c.db"); got != want {
			t.Errorf("database.path: got %q, want %q", got, want)
		}
		if got, want := cfg.Knowledge.VectorDBs[0].Path, filepath.Join(sub, "vec"); got != want {
			t.Errorf("vector path: got %q, want %q", got, want)
		}
		if got, want := cfg.Sources["database.path"].File, "conf/c.yaml"; got != want {
			t.Errorf("source file: got %q, want %q", got, want)
		}
		if cfg.File != filepath.Join(sub, "c.yaml") || cfg.Dir != sub {
			t.Errorf("got File %q Dir %q", cfg.File, cfg.Dir)
		}
	})
	t.Run("env and flag relative to the working directory", func(t *testing.T) {
		for _, tt := range []struct {
			env   []string
			flags []Override
		}{
			{env: []string{"COMPOZY_DB_PATH=rel/x.db"}},
			{flags: []Override{{Key: "database.path", Name: "--db-path", Value: "rel/x.db"}}},
		} {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "conf", "c.yaml"), []byte("database:\n  driver: sqlite\n  path: file.db\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			getenv, environ := testEnv(tt.env...)
			cfg, err := Load(context.Background(), LoadOptions{File: "conf/c.yaml", WorkDir: dir, Getenv: getenv, Environ: environ, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cfg.Database.Path, filepath.Join(dir, "rel", "x.db"); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}
	})
	t.Run("memory and home", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  driver: sqlite\n  path: \":memory:\"\nknowledge:\n  vector_dbs:\n    - {id: fs, provider: filesystem, path: ~/vec, dimension: 8}\n", []string{"HOME=/home/u"})
		if got, want := cfg.Database.Path, MemoryPath; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := cfg.Knowledge.VectorDBs[0].Path, "/home/u/vec"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestLoadWarnings(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // rendered warnings
	}{
		{
			name:    "sqlite without a vector DB",
			content: "database:\n  driver: sqlite\n  path: ./c.db\n",
			want: []string{"compozy.yaml:2:11: knowledge.vector_dbs: SQLite has no vector search and no vector DB is configured: knowledge bases will not work\n" +
				"    fix: add a qdrant, redis or filesystem entry under knowledge.vector_dbs"},
		},
		{
			name: "sqlite above the measured concurrency",
			content: "database:\n  driver: sqlite\n  path: ./c.db\nknowledge:\n  vector_dbs:\n    - {id: m, provider: redis, url: redis://localhost:6379, dimension: 4}\n" +
				"runtime:\n  max_concurrent_workflows: 500\n",
			want: []string{"compozy.yaml:8:29: runtime.max_concurrent_workflows: 500 concurrent workflows is above 200, the most measured safe for SQLite in one process (docs/benchmarks.md)\n" +
				"    fix: lower max_concurrent_workflows to 200, or use driver: postgres"},
		},
		{
			name:    "plaintext password",
			content: "database:\n  password: hunter2\n",
			want: []string{"compozy.yaml:2:13: database.password: plaintext password in the config file\n" +
				"    fix: write password: ${COMPOZY_DB_PASSWORD} and set COMPOZY_DB_PASSWORD in the environment"},
		},
		{
			name:    "plaintext password in conn_string",
			content: "database:\n  conn_string: postgres://u:hunter2@db/app\n",
			want: []string{"compozy.yaml:2:16: database.conn_string: plaintext password in the config file\n" +
				"    fix: write conn_string: ${COMPOZY_DB_CONN_STRING}, or put ${COMPOZY_DB_PASSWORD} where the password is"},
		},
		{
			name:    "more idle than open connections",
			content: "database:\n  max_open_conns: 4\n  max_idle_conns: 8\n",
			want: []string{"compozy.yaml:3:19: database.max_idle_conns: max_idle_conns (8) is more than max_open_conns (4); only 4 connections can be idle\n" +
				"    fix: set max_idle_conns to 4 or less"},
		},
		{
			name: "postgres keys with sqlite, sqlite pragmas that lock",
			content: "database:\n  driver: sqlite\n  path: ./c.db\n  host: db\n  busy_timeout: 0\n  journal_mode: delete\n" +
				"knowledge:\n  vector_dbs:\n    - {id: m, provider: filesystem, path: ./v, dimension: 4}\n",
			want: []string{
				"compozy.yaml:4:9: database.host: host applies to driver postgres only; it is ignored with driver sqlite\n    fix: remove it, or set driver: postgres",
				"compozy.yaml:5:17: database.busy_timeout: busy_timeout 0 makes every lock wait fail at once with \"database is locked\"\n    fix: set busy_timeout: 5s",
				"compozy.yaml:6:17: database.journal_mode: journal_mode delete blocks readers while a workflow writes; concurrent workflows will hit \"database is locked\"\n    fix: set journal_mode: wal",
			},
		},
		{
			name:    "top-level typo",
			content: "database:\n  driver: postgres\ndatabse:\n  driver: sqlite\n",
			want:    []string{"compozy.yaml:3:1: databse: top-level key \"databse\" is not read; did you mean \"database\"?\n    fix: rename it to database"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.content, nil)
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// validationCase is a config that must fail, and the problems it must report.
type validationCase struct {
	name    string
	content string
	env     []string
	want    []wantProblem
}

// wantProblem is one expected problem: its key, line and column, and text its message (and fix)
// must contain.
type wantProblem struct {
	key       string
	line, col int
	msg, fix  string
}

// validationCases are the rows of the validation table, and the other strict checks.
func validationCases() []validationCase {
	vdb := func(entry string) string { return "knowledge:\n  vector_dbs:\n    - " + entry + "\n" }
	return []validationCase{
		{"unknown driver", "database:\n  driver: mysql\n", nil,
			[]wantProblem{{"database.driver", 2, 11, `"mysql" is not a valid driver; valid drivers: postgres, sqlite`, "postgres, sqlite"}}},
		{"driver typo", "database:\n  driver: postgresql\n", nil,
			[]wantProblem{{"database.driver", 2, 11, `did you mean "postgres"?`, "driver: postgres"}}},
		{"sqlite with pgvector", "database:\n  driver: sqlite\n  path: ./c.db\nknowledge:\n  vector_dbs:\n    - id: main\n      provider: pgvector\n      dimension: 1536\n", nil,
			[]wantProblem{{"knowledge.vector_dbs[0].provider", 7, 17, "pgvector provider is incompatible with SQLite driver", "use qdrant, redis or filesystem"}}},
		{"sqlite without path", "database:\n  driver: sqlite\n", nil,
			[]wantProblem{{"database.path", 2, 11, "set a file path or :memory:", `path: ":memory:"`}}},
		{"sqlite with a URI path", "database:\n  driver: sqlite\n  path: file:c.db?mode=rwc\n", nil,
			[]wantProblem{{"database.path", 3, 9, "not a SQLite URI", ""}}},
		{"unknown key in database", "database:\n  driver: sqlite\n  pth: ./c.db\n", nil,
			[]wantProblem{
				{"database.path", 2, 11, "set a file path", ""},
				{"database.pth", 3, 3, `unknown key "pth"; did you mean "path"?`, "rename pth to path"},
			}},
		{"misspelled database section, none other", "databse:\n  driver: sqlite\n  path: ./c.db\n", nil,
			[]wantProblem{{"databse", 1, 1, `unknown top-level key "databse", and there is no database: section; did you mean "database"?`, "rename it to database"}}},
		{"db: for database:", "db:\n  driver: sqlite\n  path: ./c.db\n", nil,
			[]wantProblem{{"db", 1, 1, `unknown top-level key "db", and there is no database: section; did you mean "database"?`, "rename it to database"}}},
		{"vector_dbs at the top level", "database:\n  driver: postgres\nvector_dbs:\n  - id: main\n", nil,
			[]wantProblem{{"vector_dbs", 3, 1, `there is no knowledge: section; did you mean "knowledge"?`, "move it under knowledge:, as knowledge.vector_dbs"}}},
		{"misspelled knowledge section, none other", "database:\n  driver: postgres\nknowlege:\n  vector_dbs: []\n", nil,
			[]wantProblem{{"knowlege", 3, 1, `there is no knowledge: section; did you mean "knowledge"?`, "rename it to knowledge"}}},
		{"unknown key in a vector DB", vdb("id: fs\n      provider: filesystem\n      dimension: 4\n      pth: ./v"), nil,
			[]wantProblem{
				{"knowledge.vector_dbs[0].path", 3, 7, "provider filesystem needs a folder", "path:"},
				{"knowledge.vector_dbs[0].pth", 6, 7, `unknown key "pth"; did you mean "path"?`, ""},
			}},
		{"unknown key without a suggestion", "database:\n  colour: red\n", nil,
			[]wantProblem{{"database.colour", 2, 3, `unknown key "colour"`, "valid keys: driver, conn_string"}}},
		{"wrong types", "database:\n  port: abc\n  max_open_conns: many\n  auto_migrate: sometimes\n  connect_timeout: soon\n  conn_max_lifetime: 300\n  host: [a, b]\n", nil,
			[]wantProblem{
				{"database.port", 2, 9, `expected an integer, got "abc"`, ""},
				{"database.max_open_conns", 3, 19, `expected an integer, got "many"`, ""},
				{"database.auto_migrate", 4, 17, `expected true or false, got "sometimes"`, ""},
				{"database.connect_timeout", 5, 20, `expected a duration such as 30s, 5m or 1h, got "soon"`, ""},
				{"database.conn_max_lifetime", 6, 22, "a bare number has no unit", "300s"},
				{"database.host", 7, 9, "expected a string, got a list", ""},
			}},
		{"unset variable", "database:\n  password: ${DB_PASSWORD}\n", nil,
			[]wantProblem{{"database.password", 2, 13, "environment variable DB_PASSWORD is not set", "${DB_PASSWORD:-value}"}}},
		{"malformed reference", "database:\n  host: ${DB HOST}\n  user: ${OPEN\n", nil,
			[]wantProblem{
				{"database.host", 2, 9, "invalid reference ${DB HOST}", ""},
				{"database.user", 3, 9, "unterminated ${", ""},
			}},
		{"malformed YAML", "database:\n  driver: [sqlite\n  path: x\n", nil,
			[]wantProblem{{"", 3, 3, "malformed YAML: ',' or ']' must be specified", "fix the YAML syntax at line 3"}}},
		{"tab indentation", "database:\n\tdriver: sqlite\n", nil,
			[]wantProblem{{"", 2, 1, "malformed YAML", "not tabs"}}},
		{"duplicate key", "database:\n  port: 1\n  port: 2\n", nil,
			[]wantProblem{{"", 3, 3, `mapping key "port" already defined`, ""}}},
		{"both spellings of an alias", "database:\n  name: a\n  dbname: b\n  sslmode: require\n  ssl_mode: disable\n", nil,
			[]wantProblem{
				{"database.name", 3, 3, `"name" and "dbname" are the same key`, "keep one"},
				{"database.ssl_mode", 5, 3, `"sslmode" and "ssl_mode" are the same key`, ""},
			}},
		{"dimension zero", vdb("{id: a, provider: qdrant, url: http://q:6333, dimension: 0}"), nil,
			[]wantProblem{{"knowledge.vector_dbs[0].dimension", 3, 64, "must be at least 1, got 0", ""}}},
		{"dimension negative", vdb("{id: a, provider: qdrant, url: http://q:6333, dimension: -3}"), nil,
			[]wantProblem{{"knowledge.vector_dbs[0].dimension", 3, 64, "must be at least 1, got -3", ""}}},
		{"dimension missing", vdb("{id: a, provider: qdrant, url: http://q:6333}"), nil,
			[]wantProblem{{"knowledge.vector_dbs[0].dimension", 3, 7, "dimension is required", "1536"}}},
		{"duplicate id", "knowledge:\n  vector_dbs:\n    - {id: a, provider: qdrant, url: http://q:6333, dimension: 4}\n    - {id: a, provider: redis, url: redis://r:6379, dimension: 4}\n", nil,
			[]wantProblem{{"knowledge.vector_dbs[1].id", 4, 12, `duplicate vector DB id "a" (also the id of knowledge.vector_dbs[0], compozy.yaml:3)`, ""}}},
		{"unknown provider", vdb("{id: a, provider: milvus, dimension: 4}"), nil,
			[]wantProblem{{"knowledge.vector_dbs[0].provider", 3, 25, `"milvus" is not a valid provider; valid providers: pgvector, qdrant, redis, filesystem`, ""}}},
		{"missing id and provider", vdb("{dimension: 4}"), nil,
			[]wantProblem{
				{"knowledge.vector_dbs[0].id", 3, 7, "id is required", ""},
				{"knowledge.vector_dbs[0].provider", 3, 7, "provider is required", "pgvector, qdrant, redis, filesystem"},
			}},
		{"qdrant without url, bad redis url, bad metric", "knowledge:\n  vector_dbs:\n    - {id: a, provider: qdrant, dimension: 4}\n    - {id: b, provider: redis, url: http://r:6379, dimension: 4, metric: manhattan}\n", nil,
			[]wantProblem{
				{"knowledge.vector_dbs[0].url", 3, 7, "provider qdrant needs a url", "http://localhost:6333"},
				{"knowledge.vector_dbs[1].url", 4, 37, "provider redis expects a redis:// URL, got http://r:6379", "redis://localhost:6379"},
				{"knowledge.vector_dbs[1].metric", 4, 74, `"manhattan" is not a valid value; valid values: cosine, dot, euclid`, ""},
			}},
		{"vector_dbs not a list", "knowledge:\n  vector_dbs:\n    id: a\n", nil,
			[]wantProblem{{"knowledge.vector_dbs", 3, 5, "expected a list of vector DBs, got a mapping", ""}}},
		{"ssl_mode maybe", "database:\n  ssl_mode: maybe\n", nil,
			[]wantProblem{{"database.ssl_mode", 2, 13, `"maybe" is not a valid value; valid values: disable, allow, prefer, require, verify-ca, verify-full`, ""}}},
		{"negative pool sizes", "database:\n  max_open_conns: -1\n  max_idle_conns: -5\n", nil,
			[]wantProblem{
				{"database.max_open_conns", 2, 19, "must be at least 1, got -1", ""},
				{"database.max_idle_conns", 3, 19, "must be at least 0, got -5", ""},
			}},
		{"port out of range", "database:\n  port: 70000\n", nil,
			[]wantProblem{{"database.port", 2, 9, "must be at most 65535, got 70000", ""}}},
		{"sqlite pragmas", "database:\n  journal_mode: wall\n  synchronous: sometimes\n  busy_timeout: -1\n", nil,
			[]wantProblem{
				{"database.journal_mode", 2, 17, `did you mean "wal"?`, ""},
				{"database.synchronous", 3, 16, "valid values: off, normal, full, extra", ""},
				{"database.busy_timeout", 4, 17, "must not be negative", ""},
			}},
		{"busy_timeout SQLite cannot take", "database:\n  busy_timeout: 1000h\n", nil,
			[]wantProblem{{"database.busy_timeout", 2, 17, "more than SQLite can wait", "5s"}}},
		{"busy_timeout negative", "database:\n  busy_timeout: -5s\n", nil,
			[]wantProblem{{"database.busy_timeout", 2, 17, "must not be negative", "use a positive duration such as 5s"}}},
		{"journal_mode off on a file", "database:\n  driver: sqlite\n  path: c.db\n  journal_mode: \"off\"\n", nil,
			[]wantProblem{{"database.journal_mode", 4, 17, "no rollback journal", "journal_mode: wal"}}},
		{"conn_string password with a slash", "database:\n  conn_string: postgres://app:2024/Spring!@127.0.0.1:5432/compozy\n", nil,
			[]wantProblem{{"database.conn_string", 2, 16, "does not say which host", "/ as %2F"}}},
		{"conn_string password with an @", "database:\n  conn_string: postgres://app:p@ss@127.0.0.1:5432/compozy\n", nil,
			[]wantProblem{{"database.conn_string", 2, 16, "holds an @ that is not percent-encoded", "write @ as %40"}}},
		{"pgvector url password with an @", "knowledge:\n  vector_dbs:\n    - {id: a, provider: pgvector, dimension: 4, url: \"postgres://u:p@ss@h/db\"}\n", nil,
			[]wantProblem{{"knowledge.vector_dbs[0].url", 3, 54, "holds an @ that is not percent-encoded", "%40"}}},
		{"qdrant url password with a /", "knowledge:\n  vector_dbs:\n    - {id: a, provider: qdrant, dimension: 4, url: \"http://u:12/34@q:6333\"}\n", nil,
			[]wantProblem{{"knowledge.vector_dbs[0].url", 3, 52, "does not say which host", "/ as %2F"}}},
		{"host next to conn_string", "database:\n  conn_string: postgres://app@db/compozy\n  host: other\n", nil,
			[]wantProblem{{"database.host", 3, 9, "host has no effect: conn_string (compozy.yaml:2) decides the host", "put the host in conn_string"}}},
		{"conn_string of another database", "database:\n  conn_string: mysql://u@h/db\n", nil,
			[]wantProblem{{"database.conn_string", 2, 16, `expected a postgres:// or postgresql:// URL, got scheme "mysql"`, ""}}},
		{"database not a mapping", "database: sqlite\n", nil,
			[]wantProblem{{"database", 1, 11, "expected a mapping of keys, got a single value", ""}}},
		{"top level not a mapping", "- database\n", nil,
			[]wantProblem{{"", 1, 1, "expected a mapping of sections", ""}}},
		{"wrong env values", "database:\n  driver: postgres\n", []string{"COMPOZY_DB_PORT=abc", "DB_MAX_OPEN_CONNS=0", "COMPOZY_DB_DRIVER=oracle"},
			[]wantProblem{
				{"database.driver", 0, 0, `"oracle" is not a valid driver`, ""},
				{"database.port", 0, 0, `expected an integer, got "abc"`, ""},
				{"database.max_open_conns", 0, 0, "must be at least 1, got 0", ""},
			}},
	}
}

func TestLoadValidation(t *testing.T) {
	for _, tt := range validationCases() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadFile(t, tt.content, tt.env)
			if cfg != nil {
				t.Errorf("got a config with an error")
			}
			got := problems(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				p := got[i]
				if p.Key != w.key || !strings.Contains(p.Message, w.msg) || !strings.Contains(p.Fix, w.fix) {
					t.Errorf("problem %d: got %+v\nwant key %q, message with %q, fix with %q", i, p, w.key, w.msg, w.fix)
				}
				if w.line == 0 {
					if p.File != "" || !strings.HasPrefix(p.Origin, "env ") {
						t.Errorf("problem %d: got file %q origin %q, want the env variable", i, p.File, p.Origin)
					}
					continue
				}
				if p.File != DefaultFile || p.Line != w.line || p.Column != w.col {
					t.Errorf("problem %d: got %s, want compozy.yaml:%d:%d", i, p.Where(), w.line, w.col)
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	content := "database:\n  driver: mysql\n  port: abc\n"
	_, err := loadFile(t, content, []string{"COMPOZY_DB_MAX_IDLE_CONNS=x"})
	want := `invalid configuration: 3 problems
compozy.yaml:2:11: database.driver: "mysql" is not a valid driver; valid drivers: postgres, sqlite
    fix: set driver to one of: postgres, sqlite
compozy.yaml:3:9: database.port: expected an integer, got "abc"
    fix: write a whole number, such as 5432
env COMPOZY_DB_MAX_IDLE_CONNS: database.max_idle_conns: expected an integer, got "x"
    fix: write a whole number, such as 5`
	if got := err.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSecretsNeverInProblems(t *testing.T) {
	content := "database:\n  password: [hunter2]\n  conn_string: oracle://u:hunter2@h/db\n" +
		"knowledge:\n  vector_dbs:\n    - {id: a, provider: redis, url: \"http://u:hunter2@r:6379\", dimension: 4}\n"
	_, err := loadFile(t, content, nil)
	if err == nil {
		t.Fatal("got no error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password:\n%v", err)
	}
}

func TestLoadBytesMatchesLoad(t *testing.T) {
	content := []byte("database:\n  driver: sqlite\n  path: ./c.db\n")
	dir := t.TempDir()
	getenv, environ := testEnv()
	cfg, err := LoadBytes(context.Background(), "sub/compozy.yaml", content, LoadOptions{WorkDir: dir, Getenv: getenv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Database.Path, filepath.Join(dir, "sub", "c.db"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, LoadOptions{WorkDir: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestLoadQdrantURLSchemes(t *testing.T) {
	for _, u := range []string{"http://qdrant:6333", "https://qdrant.example.com", "grpc://qdrant:7334", "grpcs://qdrant.example.com:443"} {
		t.Run(u, func(t *testing.T) {
			cfg := mustLoad(t, "database:\n  driver: sqlite\n  path: x.db\nknowledge:\n  vector_dbs:\n    - id: main\n      provider: qdrant\n      url: "+u+"\n      dimension: 8\n", nil)
			if got := cfg.Knowledge.VectorDBs[0].URL; got != u {
				t.Errorf("url %q, want %q", got, u)
			}
		})
	}
	_, err := loadFile(t, "knowledge:\n  vector_dbs:\n    - id: main\n      provider: qdrant\n      url: ftp://qdrant:6333\n      dimension: 8\n", nil)
	if got := problems(t, err); len(got) != 1 || got[0].Key != "knowledge.vector_dbs[0].url" {
		t.Errorf("ftp url: got %v, want one problem on knowledge.vector_dbs[0].url", err)
	}
}

// TestLoadNestedDefaults: ${A:-${B}} once became the file name "${B}.db". A nested default is
// expanded; a path that still holds ${ (from $${ or a variable's value) never reaches the
// filesystem.
func TestLoadNestedDefaults(t *testing.T) {
	sqlite := func(path string) string {
		return "database:\n  driver: sqlite\n  path: " + path + "\nknowledge:\n  vector_dbs:\n    - {id: fs, provider: filesystem, path: ./v, dimension: 4}\n"
	}
	t.Run("expanded", func(t *testing.T) {
		cfg, err := loadFile(t, sqlite(`"${DB_FILE:-${DB_NAME:-x}}.db"`), []string{"DB_NAME=app"})
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(cfg.Database.Path); got != "app.db" {
			t.Errorf("got %q, want app.db", got)
		}
	})
	t.Run("unset inner variable", func(t *testing.T) {
		_, err := loadFile(t, sqlite(`"${A:-${B}}.db"`), nil)
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].Where() != "compozy.yaml:3:9" || ps[0].Message != "environment variable B is not set" {
			t.Errorf("got %v, want compozy.yaml:3:9: environment variable B is not set", err)
		}
	})
	for _, tt := range []struct {
		name    string
		content string
		env     []string
		where   string
	}{
		{"$${ in the database path", sqlite(`"$${B}.db"`), nil, "compozy.yaml:3:9"},
		{"$${ in a default", sqlite(`"${A:-$${B}}.db"`), nil, "compozy.yaml:3:9"},
		{"${ in a variable's value", sqlite(`${P}`), []string{"P=${B}.db"}, "compozy.yaml:3:9"},
		{"$${ in a vector path", "database:\n  driver: sqlite\n  path: c.db\nknowledge:\n  vector_dbs:\n    - id: fs\n      provider: filesystem\n      path: ./$${X}\n      dimension: 4\n", nil, "compozy.yaml:8:13"},
		{"${ from the environment", sqlite("c.db"), []string{"COMPOZY_DB_PATH=${B}.db"}, "env COMPOZY_DB_PATH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadFile(t, tt.content, tt.env)
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Where() != tt.where || !strings.Contains(ps[0].Message, "the path holds a literal ${") || ps[0].Fix == "" {
				t.Errorf("got %v, want one problem at %s about the literal ${", err, tt.where)
			}
		})
	}
	t.Run("a literal ${ stays allowed where it is not a path", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  name: $${literal}\n  user: ${U:-$${x}}\n", nil)
		if cfg.Database.Name != "${literal}" || cfg.Database.User != "${x}" {
			t.Errorf("got name %q user %q", cfg.Database.Name, cfg.Database.User)
		}
	})
}

// TestLoadConnStringParams: the settings inside conn_string are checked like the separate keys,
// in both forms, with the same messages and fixes.
func TestLoadConnStringParams(t *testing.T) {
	tests := []struct {
		name, cs string
		msg, fix string
	}{
		{"URL sslmode", "postgres://u@h/db?sslmode=bogus",
			`sslmode in conn_string: "bogus" is not a valid value; valid values: disable, allow, prefer, require, verify-ca, verify-full`,
			"set sslmode in conn_string to one of: disable, allow, prefer, require, verify-ca, verify-full"},
		{"URL sslmode typo", "postgres://u@h/db?sslmode=requir", `did you mean "require"?`, "sslmode=require in conn_string"},
		{"URL sslmode in capitals", "postgres://u@h/db?sslmode=REQUIRE", `did you mean "require"?`, "sslmode=require"},
		{"key=value sslmode", "host=db sslmode=bogus", `sslmode in conn_string: "bogus" is not a valid value`, "set sslmode in conn_string to one of"},
		{"key=value quoted sslmode", "host=db sslmode='verify-ful'", `did you mean "verify-full"?`, "sslmode=verify-full"},
		{"URL port too large", "postgres://u@h:70000/db", "port in conn_string: must be at most 65535, got 70000", "use a value from 1 to 65535"},
		{"URL port zero", "postgres://u@h:0/db", "port in conn_string: must be at least 1, got 0", "use a value from 1 to 65535"},
		{"URL second host's port", "postgres://u@h1:5432,h2:99999/db", "must be at most 65535, got 99999", ""},
		{"URL port parameter", "postgres://u@h/db?port=abc", `port in conn_string: expected an integer, got "abc"`, "5432"},
		{"key=value port", "host=db port=70000", "port in conn_string: must be at most 65535, got 70000", "use a value from 1 to 65535"},
		{"key=value port list", "host=a,b port=5432,x", `port in conn_string: expected an integer, got "x"`, ""},
		{"URL connect_timeout unit", "postgres://u@h/db?connect_timeout=5s", `connect_timeout in conn_string: expected a whole number of seconds (0 or more), got "5s"`, "connect_timeout=5"},
		{"URL connect_timeout negative", "postgres://u@h/db?connect_timeout=-1", `got "-1"`, ""},
		{"key=value connect_timeout", "host=db connect_timeout=soon", `connect_timeout in conn_string: expected a whole number of seconds`, ""},
		{"key=value not a pair", "host=db dbname", "not a valid key=value connection string: a word is not followed by =", "key=value pairs"},
		{"key=value open quote", "host=db application_name='x", "a quoted value has no closing quote", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, from := range []string{"file", "env", "flag"} {
				var err error
				switch from {
				case "file":
					_, err = loadFile(t, "database:\n  conn_string: "+strconv.Quote(tt.cs)+"\n", nil)
				case "env":
					_, err = loadFile(t, "", []string{"COMPOZY_DB_CONN_STRING=" + tt.cs})
				case "flag":
					_, err = loadFile(t, "", nil, Override{Key: "database.conn_string", Name: "--db-conn-string", Value: tt.cs})
				}
				ps := problems(t, err)
				if len(ps) != 1 || ps[0].Key != "database.conn_string" || !strings.Contains(ps[0].Message, tt.msg) || !strings.Contains(ps[0].Fix, tt.fix) {
					t.Errorf("%s: got %v\nwant one problem on database.conn_string with %q, fix with %q", from, err, tt.msg, tt.fix)
					continue
				}
				if where := ps[0].Where(); from == "file" && where != "compozy.yaml:2:16" || from == "env" && where != "env COMPOZY_DB_CONN_STRING" || from == "flag" && where != "flag --db-conn-string" {
					t.Errorf("%s: problem at %q", from, where)
				}
			}
		})
	}
	for _, cs := range []string{
		"postgres://u@h:5432/db?sslmode=verify-full&connect_timeout=10",
		"postgres://u@h1:5432,h2:5433/db",
		"postgres://u@[::1]:5432/db",
		"postgres:///db?host=/var/run/postgresql&port=5433",
		"host=db port=5432 sslmode=require connect_timeout=0 password='a b'",
		"host=a,b port=5432,5433 dbname=x",
	} {
		if _, err := loadFile(t, "database:\n  conn_string: "+strconv.Quote(cs)+"\n", nil); err != nil {
			t.Errorf("%s: %v", cs, err)
		}
	}
}

// leakyPasswords are passwords that break a URL when written unencoded; each is made of the
// pieces in secretPieces, none of which may appear in any message.
var (
	secretPieces   = []string{"Xq7Zw", "Pv3Lk", "Mj8Rt"}
	leakyPasswords = []string{
		"Xq7Zw Pv3Lk Mj8Rt", "Xq7Zw:Pv3Lk:Mj8Rt", "Xq7Zw/Pv3Lk/Mj8Rt", "Xq7Zw#Pv3Lk#Mj8Rt", "Xq7Zw?Pv3Lk?Mj8Rt",
		"Xq7Zw@Pv3Lk@Mj8Rt", "Xq7Zw%zzPv3Lk Mj8Rt", "Xq7Zw/Pv3Lk?Mj8Rt#x", "Xq7Zw?a=Pv3Lk@Mj8Rt", "Xq7Zw\tPv3Lk Mj8Rt", "1234/Xq7Zw@Pv3Lk Mj8Rt",
	}
)

// TestSecretsNeverInURLProblems: a URL that does not parse is never quoted, not even the part
// url.Parse complains about, in the database's conn_string or a vector DB's url, from the file,
// the environment or a flag.
func TestSecretsNeverInURLProblems(t *testing.T) {
	for _, pw := range leakyPasswords {
		for _, u := range []string{"postgres://user:" + pw + "@host/db", "postgres://user:" + pw + "@host:5432/db?sslmode=require", "host=db password=" + pw} {
			for _, from := range []string{"file", "env", "flag"} {
				var err error
				var cfg *Config
				switch from {
				case "file":
					cfg, err = loadFile(t, "database:\n  conn_string: "+strconv.Quote(u)+"\n", nil)
				case "env":
					cfg, err = loadFile(t, "", []string{"COMPOZY_DB_CONN_STRING=" + u})
				case "flag":
					cfg, err = loadFile(t, "", nil, Override{Key: "database.conn_string", Name: "--db-conn-string", Value: u})
				}
				var text string
				if err != nil {
					text = err.Error()
				} else {
					for _, w := range cfg.Warnings {
						text += w.String() + "\n"
					}
					for _, v := range cfg.Values() {
						text += v.String() + "\n"
					}
				}
				for _, piece := range secretPieces {
					if strings.Contains(text, piece) {
						t.Errorf("%s %q: the output shows %q:\n%s", from, u, piece, text)
					}
				}
			}
		}
		for _, u := range []string{"redis://:" + pw + "@host:6379", "http://user:" + pw + "@qdrant:6333", "http://qdrant:6333?api_key=" + pw, "postgres://u:" + pw + "@h/db"} {
			provider := map[string]string{"redis": "redis", "http:": "qdrant", "postg": "pgvector"}[u[:5]]
			cfg, err := loadFile(t, "knowledge:\n  vector_dbs:\n    - id: a\n      provider: "+provider+"\n      dimension: 4\n      url: "+strconv.Quote(u)+"\n", nil)
			text := ""
			if err != nil {
				text = err.Error()
			} else {
				for _, v := range cfg.Values() {
					text += v.String() + "\n"
				}
			}
			for _, piece := range secretPieces {
				if strings.Contains(text, piece) {
					t.Errorf("vector url %q: the output shows %q:\n%s", u, piece, text)
				}
			}
		}
	}
}

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/doctor/checks"
	"compozy.dev/setup/tui/term"
)

// writeConfigFile writes compozy.yaml in a new folder and returns the folder.
func writeConfigFile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// configSquash collapses runs of spaces, so table rows compare without their padding.
func configSquash(s string) string { return regexp.MustCompile(` {2,}`).ReplaceAllString(s, "  ") }

func TestConfigShowFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "config", "show", "--db-driver", "sqlite", "--db-path", "./x.db")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.errOut)
	}
	out := configSquash(r.out)
	for _, want := range []string{
		"Config file: none (no ./compozy.yaml; defaults, environment and flags)",
		"KEY  VALUE  SOURCE\n",
		"database.driver  sqlite  flag --db-driver\n",
		"database.path  " + filepath.Join(dir, "x.db") + "  flag --db-path\n",
		"database.busy_timeout  5s  default\n",
		"database.max_open_conns  25  default\n",
		"keys that only driver postgres uses are hidden; --all shows them.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(out, "database.host") {
		t.Errorf("PostgreSQL keys shown with driver sqlite:\n%s", r.out)
	}
	if want := "warning: flag --db-driver: knowledge.vector_dbs: SQLite has no vector search"; !strings.HasPrefix(r.errOut, want) {
		t.Errorf("stderr: got %q, want it to start with %q", r.errOut, want)
	}
}

func TestConfigShowSources(t *testing.T) {
	t.Parallel()
	dir := writeConfigFile(t, "# compozy\ndatabase:\n  driver: postgres\n  host: from-file\n  password: filepw\n")
	env := []string{"COMPOZY_DB_HOST=env-host", "DB_USER=legacy"}
	r := runCLIWith(t, dir, cliIn{env: env, stdin: "stdin-secret\n"}, "config", "show", "--db-port", "6543", "--db-password-stdin")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.errOut)
	}
	out := configSquash(r.out)
	for _, want := range []string{
		"Config file: compozy.yaml\n",
		"database.driver  postgres  compozy.yaml:3\n",
		"database.host  env-host  env COMPOZY_DB_HOST\n",
		"database.user  legacy  env DB_USER\n",
		"database.port  6543  flag --db-port\n",
		"database.password  [redacted]  stdin\n",
		"database.ssl_mode  disable  default\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	for _, secret := range []string{"stdin-secret", "filepw"} {
		if strings.Contains(r.out+r.errOut, secret) {
			t.Errorf("a secret (%s) was printed:\n%s\n%s", secret, r.out, r.errOut)
		}
	}
	if !strings.Contains(r.errOut, "warning: compozy.yaml:5:13: database.password: plaintext password in the config file") {
		t.Errorf("stderr lacks the plaintext password warning:\n%s", r.errOut)
	}
}

func TestConfigShowConnString(t *testing.T) {
	t.Parallel()
	dir := writeConfigFile(t, "database:\n  driver: postgres\n  conn_string: postgres://u:filepw@db/app\n")
	r := runCLI(t, dir, []string{"DB_HOST=legacy-host"}, "config", "show")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.errOut)
	}
	if want := "database.conn_string  postgres://u:[redacted]@db/app  compozy.yaml:3\n"; !strings.Contains(configSquash(r.out), want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.out)
	}
	for _, want := range []string{
		"warning: compozy.yaml:3:16: database.conn_string: plaintext password in the config file",
		"warning: env DB_HOST: database.host: host has no effect: conn_string (compozy.yaml:3) decides the host; the legacy variable is ignored",
	} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
		}
	}
	if strings.Contains(r.out+r.errOut, "filepw") {
		t.Errorf("the password was printed:\n%s\n%s", r.out, r.errOut)
	}

	// A flag that the connection string would silently override is refused, naming both.
	r = runCLI(t, dir, nil, "config", "validate", "--db-name", "staging")
	if r.code != ExitUsage {
		t.Fatalf("--db-name next to conn_string: exit %d, want %d", r.code, ExitUsage)
	}
	if want := "flag --db-name: database.name: name has no effect: conn_string (compozy.yaml:3) decides the name"; !strings.Contains(r.errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
	}

	// A password in --db-conn-string is accepted, with a warning that it is visible in ps.
	r = runCLI(t, t.TempDir(), nil, "config", "validate", "--db-conn-string", "postgres://u:S3CRET@127.0.0.1/app")
	if r.code != ExitOK || !strings.Contains(r.errOut, "flag --db-conn-string: database.conn_string: a password on the command line is visible") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.errOut)
	}
	if strings.Contains(r.out+r.errOut, "S3CRET") {
		t.Errorf("the password was printed:\n%s\n%s", r.out, r.errOut)
	}
}

func TestConfigShowJSON(t *testing.T) {
	t.Parallel()
	dir := writeConfigFile(t, "database:\n  driver: sqlite\n  path: data/c.db\n  password: hunter2\n")
	r := runCLI(t, dir, []string{"COMPOZY_DB_BUSY_TIMEOUT=2500"}, "config", "show", "--json")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.errOut)
	}
	var doc struct {
		SchemaVersion int     `json:"schema_version"`
		File          *string `json:"file"`
		Values        []struct {
			Key    string `json:"key"`
			Value  any    `json:"value"`
			Source string `json:"source"`
		} `json:"values"`
		Warnings []config.Warning `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.out)
	}
	if doc.SchemaVersion != 1 || doc.File == nil || *doc.File != filepath.Join(dir, "compozy.yaml") {
		t.Errorf("got schema_version %d file %v", doc.SchemaVersion, doc.File)
	}
	got := map[string]string{}
	for _, v := range doc.Values {
		b, _ := json.Marshal(v.Value)
		got[v.Key] = string(b) + " " + v.Source
	}
	want := map[string]string{
		"database.driver":       `"sqlite" compozy.yaml:2`,
		"database.path":         `"` + filepath.Join(dir, "data", "c.db") + `" compozy.yaml:3`,
		"database.password":     `"[redacted]" compozy.yaml:4`,
		"database.busy_timeout": `"2.5s" env COMPOZY_DB_BUSY_TIMEOUT`,
		"database.port":         `5432 default`,
		"database.auto_migrate": `true default`,
		"database.conn_string":  `null default`,
	}
	for key, w := range want {
		if got[key] != w {
			t.Errorf("%s: got %s, want %s", key, got[key], w)
		}
	}
	if len(doc.Values) != len(config.Fields())-9 { // no vector DB entries: their 9 keys are absent
		t.Errorf("got %d values, want every database and runtime key", len(doc.Values))
	}
	var keys []string
	for _, w := range doc.Warnings {
		keys = append(keys, w.Key)
	}
	// No vector DB; a plaintext password; a password, which driver sqlite does not use.
	if strings.Join(keys, ",") != "knowledge.vector_dbs,database.password,database.password" {
		t.Errorf("warnings: got keys %v", keys)
	}
	if strings.Contains(r.out, "hunter2") || r.errOut != "" {
		t.Errorf("JSON shows the password or stderr is not empty:\n%s\n%s", r.out, r.errOut)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir := writeConfigFile(t, "database:\n  driver: sqlite\n  path: ./c.db\nknowledge:\n  vector_dbs:\n    - {id: main, provider: filesystem, path: ./vec, dimension: 384}\n")
	r := runCLI(t, dir, nil, "config", "validate")
	if r.code != ExitOK || r.out != "✓ compozy.yaml is valid\n" || r.errOut != "" {
		t.Errorf("got exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}

	r = runCLI(t, t.TempDir(), nil, "config", "validate")
	if r.code != ExitOK || !strings.HasPrefix(r.out, "✓ configuration is valid (no ./compozy.yaml") {
		t.Errorf("without a file: got exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
}

// TestConfigValidateTable runs the validation table through the command line: each row
// exits 2 (or 0 with a warning) and names the key, the file and the line.
func TestConfigValidateTable(t *testing.T) {
	t.Parallel()
	vdb := func(entries ...string) string {
		return "knowledge:\n  vector_dbs:\n    - " + strings.Join(entries, "\n    - ") + "\n"
	}
	tests := []struct {
		name     string
		content  string
		env      []string
		wantCode int
		want     []string // lines of stderr
	}{
		{"driver mysql", "database:\n  driver: mysql\n", nil, ExitUsage,
			[]string{`compozy.yaml:2:11: database.driver: "mysql" is not a valid driver; valid drivers: postgres, sqlite`}},
		{"sqlite and pgvector", "database:\n  driver: sqlite\n  path: ./c.db\n" + vdb("{id: a, provider: pgvector, dimension: 4}"), nil, ExitUsage,
			[]string{"compozy.yaml:6:25: knowledge.vector_dbs[0].provider: pgvector provider is incompatible with SQLite driver",
				"    fix: use qdrant, redis or filesystem as the provider of this vector DB (for example provider: qdrant with url: http://localhost:6333), or set driver: postgres"}},
		{"sqlite without path", "database:\n  driver: sqlite\n", nil, ExitUsage,
			[]string{"compozy.yaml:2:11: database.path: driver sqlite needs a database file: set a file path or :memory:"}},
		{"unknown key in database", "database:\n  pth: ./c.db\n", nil, ExitUsage,
			[]string{`compozy.yaml:2:3: database.pth: unknown key "pth"; did you mean "path"?`}},
		{"unknown key in a vector DB", vdb("{id: a, provider: filesystem, pth: ./v, dimension: 4}"), nil, ExitUsage,
			[]string{`compozy.yaml:3:37: knowledge.vector_dbs[0].pth: unknown key "pth"; did you mean "path"?`}},
		{"port abc", "database:\n  port: abc\n", nil, ExitUsage,
			[]string{`compozy.yaml:2:9: database.port: expected an integer, got "abc"`}},
		{"max_open_conns many", "database:\n  max_open_conns: many\n", nil, ExitUsage,
			[]string{`compozy.yaml:2:19: database.max_open_conns: expected an integer, got "many"`}},
		{"unset DB_PASSWORD", "database:\n  password: ${DB_PASSWORD}\n", nil, ExitUsage,
			[]string{"compozy.yaml:2:13: database.password: environment variable DB_PASSWORD is not set"}},
		{"malformed YAML", "database:\n  driver: sqlite\n path: x\n", nil, ExitUsage,
			[]string{"compozy.yaml:3:2: malformed YAML:"}},
		{"sqlite without a vector DB", "database:\n  driver: sqlite\n  path: ./c.db\n", nil, ExitOK,
			[]string{"warning: compozy.yaml:2:11: knowledge.vector_dbs: SQLite has no vector search and no vector DB is configured: knowledge bases will not work"}},
		{"dimension 0", vdb("{id: a, provider: filesystem, path: ./v, dimension: 0}"), nil, ExitUsage,
			[]string{"compozy.yaml:3:59: knowledge.vector_dbs[0].dimension: must be at least 1, got 0"}},
		{"dimension negative", vdb("{id: a, provider: filesystem, path: ./v, dimension: -1}"), nil, ExitUsage,
			[]string{"compozy.yaml:3:59: knowledge.vector_dbs[0].dimension: must be at least 1, got -1"}},
		{"duplicate id", vdb("{id: a, provider: filesystem, path: ./v, dimension: 4}", "{id: a, provider: filesystem, path: ./w, dimension: 4}"), nil, ExitUsage,
			[]string{`compozy.yaml:4:12: knowledge.vector_dbs[1].id: duplicate vector DB id "a" (also the id of knowledge.vector_dbs[0], compozy.yaml:3)`}},
		{"unknown provider", vdb("{id: a, provider: chroma, dimension: 4}"), nil, ExitUsage,
			[]string{`compozy.yaml:3:25: knowledge.vector_dbs[0].provider: "chroma" is not a valid provider; valid providers: pgvector, qdrant, redis, filesystem`}},
		{"ssl_mode maybe", "database:\n  ssl_mode: maybe\n", nil, ExitUsage,
			[]string{`compozy.yaml:2:13: database.ssl_mode: "maybe" is not a valid value; valid values: disable, allow, prefer, require, verify-ca, verify-full`}},
		{"negative pool sizes", "database:\n  max_open_conns: -2\n  max_idle_conns: -1\n", nil, ExitUsage,
			[]string{"compozy.yaml:2:19: database.max_open_conns: must be at least 1, got -2",
				"compozy.yaml:3:19: database.max_idle_conns: must be at least 0, got -1"}},
		{"env value of the wrong type", "", []string{"COMPOZY_DB_PORT=abc"}, ExitUsage,
			[]string{`env COMPOZY_DB_PORT: database.port: expected an integer, got "abc"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfigFile(t, tt.content)
			r := runCLI(t, dir, tt.env, "config", "validate")
			if r.code != tt.wantCode {
				t.Errorf("exit: got %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
				}
			}
			if tt.wantCode != ExitOK && r.out != "" {
				t.Errorf("stdout of an invalid config: %q", r.out)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("validate wrote files: %v", entries)
			}
		})
	}
}

func TestConfigMissingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "config", "show", "--config", "nope.yaml")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "nope.yaml: config file not found (named by --config)") {
		t.Errorf("--config: got exit %d, stderr %q", r.code, r.errOut)
	}
	r = runCLI(t, dir, []string{"COMPOZY_CONFIG_FILE=other.yaml"}, "config", "validate")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "other.yaml: config file not found (named by COMPOZY_CONFIG_FILE)") {
		t.Errorf("COMPOZY_CONFIG_FILE: got exit %d, stderr %q", r.code, r.errOut)
	}
}

// TestConfigSchemaFile keeps schemas/config-database.json equal to `compozy config schema`.
func TestConfigSchemaFile(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "config", "schema")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	if !json.Valid([]byte(r.out)) {
		t.Fatalf("config schema printed invalid JSON:\n%s", r.out)
	}
	committed, err := os.ReadFile(filepath.Join("..", "schemas", "config-database.json"))
	if err != nil {
		t.Fatalf("read the committed schema: %v; create it with: go run . config schema > schemas/config-database.json", err)
	}
	if !bytes.Equal(committed, []byte(r.out)) {
		t.Errorf("schemas/config-database.json is stale; regenerate it with: go run . config schema > schemas/config-database.json")
	}
}

// TestConfigFlagsFromFields: the root command's database flags are the Flag of the fields of
// config.Fields, with their usage, and no --db-* flag is declared anywhere else. The one
// declaration is the field table; this test keeps it so.
func TestConfigFlagsFromFields(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := term.Test()
	root := NewRootCmd(&Factory{IO: ios})
	want := map[string]config.Field{}
	for _, f := range config.Fields() {
		if f.Flag == "" {
			continue
		}
		if f.Usage == "" {
			t.Errorf("field %s names flag %s without a Usage", f.Key(), f.Flag)
		}
		want[strings.TrimPrefix(f.Flag, "--")] = f
	}
	root.PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if !strings.HasPrefix(fl.Name, "db-") {
			return
		}
		f, ok := want[fl.Name]
		if !ok {
			t.Errorf("flag --%s is not the Flag of a field of config.Fields", fl.Name)
			return
		}
		delete(want, fl.Name)
		if fl.Usage != f.Usage {
			t.Errorf("--%s: usage %q, want the field's %q", fl.Name, fl.Usage, f.Usage)
		}
		if stdin := fl.Value.Type() == "bool"; stdin != (f.Secret == config.Secret) {
			t.Errorf("--%s: a %s flag for a field of secrecy %d; only a Secret field's flag reads standard input", fl.Name, fl.Value.Type(), f.Secret)
		}
	})
	for name, f := range want {
		t.Errorf("field %s names flag --%s, which the root command does not declare", f.Key(), name)
	}
}

// findingKeys are the keys of every problem and warning of `config validate --json`, in order.
var findingKeys = []string{"code", "key", "where", "file", "line", "column", "origin", "message", "fix"}

// jsonKeys lists the keys of the JSON object lines indented by indent spaces, in order.
func jsonKeys(out string, indent int) []string {
	re := regexp.MustCompile(`(?m)^ {` + strconv.Itoa(indent) + `}"([a-z_]+)":`)
	var keys []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// TestConfigValidateJSON, through the binary: `config validate --json` prints one document on
// standard output with schema_version 1, every problem and warning with its code, key,
// file:line:column (or origin) and fix, and exits 2 when the configuration is invalid (0 when
// it is valid, warnings or not). The keys and their order are the documented ones
// (docs/cli/config.md); a change to them must raise the schema version.
func TestConfigValidateJSON(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	type finding struct {
		Code    string `json:"code"`
		Key     string `json:"key"`
		Where   string `json:"where"`
		File    string `json:"file"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Origin  string `json:"origin"`
		Message string `json:"message"`
		Fix     string `json:"fix"`
	}
	type document struct {
		SchemaVersion int       `json:"schema_version"`
		Valid         bool      `json:"valid"`
		Problems      []finding `json:"problems"`
		Warnings      []finding `json:"warnings"`
	}
	decode := func(t *testing.T, r cliRun) document {
		t.Helper()
		var doc document
		dec := json.NewDecoder(strings.NewReader(r.out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("stdout is not the document: %v\n%s", err, r.out)
		}
		if dec.More() {
			t.Fatalf("more than one document on stdout:\n%s", r.out)
		}
		if got, want := jsonKeys(r.out, 2), []string{"schema_version", "valid", "problems", "warnings"}; !slices.Equal(got, want) {
			t.Errorf("document keys %v, want %v", got, want)
		}
		if n := len(doc.Problems) + len(doc.Warnings); !slices.Equal(jsonKeys(r.out, 6), slices.Repeat(findingKeys, n)) {
			t.Errorf("finding keys %v, want %v for each of %d findings", jsonKeys(r.out, 6), findingKeys, n)
		}
		if doc.SchemaVersion != 1 {
			t.Errorf("schema_version %d, want 1", doc.SchemaVersion)
		}
		return doc
	}

	t.Run("invalid", func(t *testing.T) {
		dir := writeConfigFile(t, "database:\n  driver: sqlite\n  path: ./x.db\n  colour: red\n  host: ${NOT_SET_ANYWHERE}\n"+
			"knowledge:\n  vector_dbs:\n    - id: p\n      provider: pgvector\n      dimension: 3\n")
		r := binRun(t, bin, dir, []string{"COMPOZY_DB_PORT=abc"}, "config", "validate", "--json")
		if r.code != ExitUsage || r.errOut != "" {
			t.Fatalf("exit %d, stderr %q; want 2 and nothing on stderr", r.code, r.errOut)
		}
		doc := decode(t, r)
		want := []finding{
			{Code: "key.unknown", Key: "database.colour", Where: "compozy.yaml:4:3", File: "compozy.yaml", Line: 4, Column: 3},
			{Code: "env.unset", Key: "database.host", Where: "compozy.yaml:5:9", File: "compozy.yaml", Line: 5, Column: 9},
			{Code: "vector.pgvector_sqlite", Key: "knowledge.vector_dbs[0].provider", Where: "compozy.yaml:9:17", File: "compozy.yaml", Line: 9, Column: 17},
			{Code: "value.type", Key: "database.port", Where: "env COMPOZY_DB_PORT", Origin: "env COMPOZY_DB_PORT"},
		}
		if doc.Valid || len(doc.Problems) != len(want) {
			t.Fatalf("valid %v, %d problems, want false and %d:\n%s", doc.Valid, len(doc.Problems), len(want), r.out)
		}
		for i, w := range want {
			got := doc.Problems[i]
			if got.Message == "" || got.Fix == "" {
				t.Errorf("problem %d has no message or fix: %+v", i, got)
			}
			got.Message, got.Fix = "", ""
			if got != w {
				t.Errorf("problem %d:\n got %+v\nwant %+v", i, got, w)
			}
		}
	})

	t.Run("valid with warnings", func(t *testing.T) {
		dir := writeConfigFile(t, "database:\n  driver: sqlite\n  path: ./x.db\n  busy_timeout: 0\n")
		r := binRun(t, bin, dir, nil, "config", "validate", "--json")
		if r.code != ExitOK || r.errOut != "" {
			t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr", r.code, r.errOut)
		}
		doc := decode(t, r)
		var codes []string
		for _, w := range doc.Warnings {
			codes = append(codes, w.Code+" "+w.Where)
		}
		slices.Sort(codes)
		if want := []string{"sqlite.busy_timeout compozy.yaml:4:17", "vector.missing compozy.yaml:2:11"}; !doc.Valid || len(doc.Problems) != 0 || !slices.Equal(codes, want) {
			t.Errorf("valid %v, problems %v, warnings %v; want true, none, %v", doc.Valid, doc.Problems, codes, want)
		}
	})

	t.Run("valid, nothing to say", func(t *testing.T) {
		dir := writeConfigFile(t, "database:\n  driver: sqlite\n  path: ./x.db\nknowledge:\n  vector_dbs:\n    - {id: v, provider: filesystem, path: ./v, dimension: 3}\n")
		r := binRun(t, bin, dir, nil, "config", "validate", "--json")
		if r.code != ExitOK {
			t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
		}
		if doc := decode(t, r); !doc.Valid || doc.Problems == nil || doc.Warnings == nil || len(doc.Problems)+len(doc.Warnings) != 0 {
			t.Errorf("got %+v, want valid with empty lists (not null):\n%s", doc, r.out)
		}
	})
}

// TestConfigCodesDocumented: docs/cli/config.md lists every code of config.Codes, with its
// severity and the doctor check that reports it, in the table of codes, and no other.
func TestConfigCodesDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "docs", "cli", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ severity, check string }
	rows := map[string]row{}
	re := regexp.MustCompile("(?m)^\\| `([a-z_]+\\.[a-z_]+)` \\| ([a-z ]+) \\| (`[a-z_.]+`|SQLite checks) \\| [^|]+ \\|$")
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		rows[m[1]] = row{m[2], strings.Trim(m[3], "`")}
	}
	for _, c := range config.Codes() {
		got, ok := rows[string(c.Code)]
		if !ok {
			t.Errorf("docs/cli/config.md does not list code %s", c.Code)
			continue
		}
		want := row{c.Severity(), checks.ConfigCheckOf(c.Code)}
		if want.check == "" {
			want.check = "SQLite checks"
		}
		if got != want {
			t.Errorf("docs/cli/config.md: %s is %+v, want %+v", c.Code, got, want)
		}
		delete(rows, string(c.Code))
	}
	for c := range rows {
		t.Errorf("docs/cli/config.md lists code %s, which config.Codes does not", c)
	}
}

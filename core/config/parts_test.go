package config

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:s3cret@db:5432/app?sslmode=require", "postgres://u:[redacted]@db:5432/app?sslmode=require"},
		{"postgres://u:p@ss/w:rd@db/app", "postgres://u:[redacted]@db/app"},
		{"postgres://u@db/app", "postgres://u@db/app"},
		{"postgres://db/app?user=u&password=x%20y&sslmode=disable", "postgres://db/app?user=u&password=[redacted]&sslmode=disable"},
		{"redis://:tok@r:6379/0", "redis://:[redacted]@r:6379/0"},
		{"http://q:6333?api_key=abc", "http://q:6333?api_key=[redacted]"},
		{"host=db user=u password=s3cret dbname=app", "host=db user=u password=[redacted] dbname=app"},
		{"host=db password='a b\\' c' dbname=app", "host=db password='[redacted]' dbname=app"},
		{"host=db password = spaced dbname=app", "host=db password = [redacted] dbname=app"},
		{"", ""},
		{"plain", "plain"},
		// Passwords that break the URL: no part of them is kept.
		{"postgres://user:Top#Secret@host/db", "postgres://user:[redacted]@host/db"},
		{"postgres://user:Top?Secret@host/db", "postgres://user:[redacted]@host/db"},
		{"postgres://user:Top/Secret@host/db", "postgres://user:[redacted]@host/db"},
		{"postgres://user:a@b/c@host/db", "postgres://user:[redacted]@host/db"},
		{"postgres://user:Top?a=b@host/db", "postgres://user:[redacted]@host/db"},
		{"postgres://user:Top Secret Value@host/db", "postgres://user:[redacted]@host/db"},
		{"http://q:6333?api_key=Top#Secret", "http://q:6333?api_key=[redacted]"},
		// An @ in a query value is not a password's.
		{"postgres://h:5432/db?user=me@srv&password=pw", "postgres://h:5432/db?user=me@srv&password=[redacted]"},
		{"postgres://u:pw@h/db?application_name=a@b", "postgres://u:[redacted]@h/db?application_name=a@b"},
		// A password with spaces in key=value form, quoted or not.
		{"host=db password=Top Secret Value", "host=db password=[redacted]"},
		{"host=db password=Top Secret dbname=app", "host=db password=[redacted] dbname=app"},
		// URLs quoted inside an error message.
		{`parse "postgres://user:Top Secret@host/db": net/url: invalid userinfo`, `parse "postgres://user:[redacted]@host/db": net/url: invalid userinfo`},
		{`parse "redis://:Top/Secret@host:6379": bad`, `parse "redis://:[redacted]@host:6379": bad`},
		{"dial redis://:pw@r:6379: refused", "dial redis://:[redacted]@r:6379: refused"},
		{"failed: host=db password=pw dbname=x", "failed: host=db password=[redacted] dbname=x"},
		{"failed: host=db password=pw and more", "failed: host=db password=[redacted] and more"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlaintextSecret(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"postgres://u:pw@h/db", true},
		{"postgres://u:${PW}@h/db", false},
		{"postgres://u@h/db", false},
		{"host=h password=x", true},
		{"host=h password=${PW}", false},
	}
	for _, tt := range tests {
		if got := plaintextSecret(tt.in); got != tt.want {
			t.Errorf("plaintextSecret(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "E": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in      string
		want    string
		missing []string
		syntax  bool
	}{
		{"plain $ and $x", "plain $ and $x", nil, false},
		{"${A}", "1", nil, false},
		{"x${A}y${A}", "x1y1", nil, false},
		{"${E}", "", nil, false},
		{"${E:-d}", "d", nil, false},
		{"${U:-}", "", nil, false},
		{"${U:-a:-b}", "a:-b", nil, false},
		{"$${A}", "${A}", nil, false},
		{"${U} ${V}", "", []string{"U", "V"}, false},
		{"${", "", nil, true},
		{"${1A}", "", nil, true},
	}
	for _, tt := range tests {
		got := expand(tt.in, lookup)
		if (got.syntax != "") != tt.syntax || !slices.Equal(got.missing, tt.missing) || (!tt.syntax && tt.missing == nil && got.value != tt.want) {
			t.Errorf("expand(%q): got %+v, want %q missing %v syntax error %v", tt.in, got, tt.want, tt.missing, tt.syntax)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"driver", "path", "port", "max_open_conns", "ssl_mode", "sslmode"}
	tests := []struct{ in, want string }{
		{"pth", "path"},
		{"drvier", "driver"},
		{"max_opn_conns", "max_open_conns"},
		{"ssl-mode", "ssl_mode"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFields checks the table itself: unique keys, defaults that load, the env names the issue
// asks for.
func TestFields(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		for _, n := range f.names() {
			key := string(f.Section) + "." + n
			if seen[key] {
				t.Errorf("key %s appears twice", key)
			}
			seen[key] = true
		}
		if f.Description == "" {
			t.Errorf("%s has no description", f.Key())
		}
		if f.Default != "" {
			if _, err := convert(f, stringScalar(f.Default)); err != nil {
				t.Errorf("default of %s: %s", f.Key(), err.msg)
			}
		}
	}
	byKey := map[string]Field{}
	for _, f := range Fields() {
		byKey[f.Key()] = f
	}
	wantEnv := map[string][]string{
		"database.host":     {"COMPOZY_DB_HOST", "DB_HOST"},
		"database.password": {"COMPOZY_DB_PASSWORD", "DB_PASSWORD"},
		"database.ssl_mode": {"COMPOZY_DB_SSL_MODE", "COMPOZY_DB_SSLMODE", "DB_SSL_MODE", "DB_SSLMODE"},
		"database.name":     {"COMPOZY_DB_NAME", "COMPOZY_DB_DBNAME", "DB_NAME", "DB_DBNAME"},
	}
	for key, want := range wantEnv {
		if got := byKey[key].Env; !slices.Equal(got, want) {
			t.Errorf("env of %s: got %v, want %v", key, got, want)
		}
	}
	for _, f := range Fields() {
		if f.Section == SectionDatabase && len(f.Env) == 0 {
			t.Errorf("%s has no environment variable", f.Key())
		}
	}
}

func TestValues(t *testing.T) {
	content := "database:\n  conn_string: postgres://u:pw@db/app\n  password: ${PW}\n" +
		"knowledge:\n  vector_dbs:\n    - {id: a, provider: redis, url: \"redis://:tok@r:6379\", dimension: 4}\n"
	cfg := mustLoad(t, content, []string{"PW=hunter2"})
	got := map[string]Value{}
	for _, v := range cfg.Values() {
		got[v.Key] = v
	}
	want := map[string]struct {
		value  any
		source string
	}{
		"database.driver":                    {"postgres", "default"},
		"database.conn_string":               {"postgres://u:[redacted]@db/app", "compozy.yaml:2"},
		"database.password":                  {Redacted, "compozy.yaml:3"},
		"database.port":                      {5432, "default"},
		"database.conn_max_lifetime":         {"5m", "default"},
		"database.path":                      {nil, "default"},
		"knowledge.vector_dbs[0].url":        {"redis://:[redacted]@r:6379", "compozy.yaml:6"},
		"knowledge.vector_dbs[0].dimension":  {4, "compozy.yaml:6"},
		"knowledge.vector_dbs[0].collection": {nil, "default"},
		"runtime.max_concurrent_workflows":   {nil, "default"},
	}
	for key, w := range want {
		v, ok := got[key]
		if !ok {
			t.Errorf("%s missing from Values", key)
			continue
		}
		if v.Value != w.value || v.Source != w.source {
			t.Errorf("%s: got %v from %s, want %v from %s", key, v.Value, v.Source, w.value, w.source)
		}
	}
	b, err := json.Marshal(cfg.Values())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "tok@", ":pw@"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("Values JSON shows a secret (%s): %s", secret, b)
		}
	}
}

func TestSchema(t *testing.T) {
	b, err := SchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		AdditionalProperties *bool `json:"additionalProperties"`
		Properties           map[string]struct {
			AdditionalProperties *bool `json:"additionalProperties"`
			Properties           map[string]struct {
				Default any `json:"default"`
				AnyOf   []struct {
					Enum []string `json:"enum"`
				} `json:"anyOf"`
				Items struct {
					AdditionalProperties *bool    `json:"additionalProperties"`
					Required             []string `json:"required"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.AdditionalProperties != nil {
		t.Errorf("the top level must stay open, got additionalProperties %v", *s.AdditionalProperties)
	}
	db := s.Properties["database"]
	if db.AdditionalProperties == nil || *db.AdditionalProperties {
		t.Errorf("database must not allow other keys")
	}
	driver := db.Properties["driver"]
	if len(driver.AnyOf) == 0 || !reflect.DeepEqual(driver.AnyOf[0].Enum, []string{"postgres", "sqlite"}) {
		t.Errorf("driver enum: got %+v", driver.AnyOf)
	}
	if driver.Default != "postgres" {
		t.Errorf("driver default: got %v", driver.Default)
	}
	for _, name := range []string{"dbname", "sslmode", "busy_timeout", "journal_mode"} {
		if _, ok := db.Properties[name]; !ok {
			t.Errorf("database.%s missing from the schema", name)
		}
	}
	items := s.Properties["knowledge"].Properties["vector_dbs"].Items
	if items.AdditionalProperties == nil || *items.AdditionalProperties {
		t.Errorf("vector DB entries must not allow other keys")
	}
	if want := []string{"id", "provider", "dimension"}; !reflect.DeepEqual(items.Required, want) {
		t.Errorf("vector DB required: got %v, want %v", items.Required, want)
	}
	if s.Properties["knowledge"].AdditionalProperties != nil || s.Properties["runtime"].AdditionalProperties != nil {
		t.Errorf("knowledge and runtime must stay open")
	}
}

// FuzzLoad feeds arbitrary bytes to the loader: no input may panic, and every result is either
// a config with a source for every key or a *Error with located problems.
func FuzzLoad(f *testing.F) {
	for _, c := range validationCases() {
		f.Add([]byte(c.content))
	}
	for _, s := range []string{
		"",
		"# only a comment\n",
		"database:\n  driver: sqlite\n  path: ./data/compozy.db\nknowledge:\n  vector_dbs:\n    - id: main\n      provider: qdrant\n      url: http://localhost:6333\n      dimension: 1536\n",
		"database:\n  driver: postgres\n  host: localhost\n  port: 5432\n  user: compozy\n  password: ${DB_PASSWORD:-x}\n  dbname: compozy\n  sslmode: require\n  max_open_conns: 25\n  max_idle_conns: 5\nknowledge:\n  vector_dbs:\n    - id: main\n      provider: pgvector\n      dimension: 1536\n",
		"base: &b {driver: sqlite, path: x.db}\ndatabase: *b\n",
		"database:\n  port: &p 5432\n  max_open_conns: *p\n  busy_timeout: !!str 5000\n",
		"database:\n  <<: *missing\n",
		"--- \ndatabase: {}\n---\nx: 1\n",
		"knowledge:\n  vector_dbs: [1, [2], {id: x}]\n",
		"database:\n  port: 99999999999999999999999\n  busy_timeout: 9223372036854775807\n",
	} {
		f.Add([]byte(s))
	}
	getenv, environ := testEnv("DB_PASSWORD=pw", "HOME=/home/u")
	opts := LoadOptions{WorkDir: "/work/fuzz", Getenv: getenv, Environ: environ}
	fields := Fields()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadBytes(context.Background(), DefaultFile, data, opts)
		if err != nil {
			ps := problems(t, err)
			if len(ps) == 0 {
				t.Fatal("a *Error without problems")
			}
			for _, p := range ps {
				if p.Message == "" || p.Where() == "" || p.Fix == "" {
					t.Errorf("a problem without message, location or fix: %+v", p)
				}
			}
			_ = err.Error()
			return
		}
		for _, fl := range fields {
			n := 1
			if fl.Section == SectionVectorDB {
				n = len(cfg.Knowledge.VectorDBs)
			}
			for i := range n {
				if _, ok := cfg.Sources[fl.KeyAt(i)]; !ok {
					t.Errorf("no source for %s", fl.KeyAt(i))
				}
			}
		}
		_ = cfg.Values()
	})
}

func TestExpandNested(t *testing.T) {
	env := map[string]string{"A": "1", "B": "2", "E": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	deep := func(n int) string { // ${U1:-${U2:-...${Un:-x}...}}
		return strings.Repeat("${U:-", n) + "x" + strings.Repeat("}", n)
	}
	tests := []struct {
		in      string
		want    string
		missing []string
		syntax  string
	}{
		{in: "${U:-${B}}.db", want: "2.db"},
		{in: "${U:-${V:-x}}", want: "x"},
		{in: "${E:-${U:-${B}}}", want: "2"},
		{in: "${A:-${U}}", want: "1"},                            // the default is not used: U may be unset
		{in: "${U:-${V}}", missing: []string{"V"}},               // the default is used: V must be set
		{in: "${U:-a}b}", want: "ab}"},                           // a } after the reference is text
		{in: "${U:-$${B}}", want: "${B}"},                        // $${ stays a literal, in a default too
		{in: "${U:-${B}x${A}}", want: "2x1"},                     // several references in one default
		{in: "${A:-${V W}}", syntax: "invalid reference ${V W}"}, // an unused default is still checked
		{in: "${U:-${B}", syntax: "unterminated ${"},
		{in: deep(8), want: "x"},
		{in: deep(9), syntax: "references nested more than 8 deep"},
		{in: deep(100_000), syntax: "references nested more than 8 deep"},
		{in: "${hunter2 is the password:-x}", syntax: "invalid reference ${hunter2 is the password:-...}"},
	}
	for _, tt := range tests {
		got := expand(tt.in, lookup)
		if tt.syntax != "" {
			if !strings.Contains(got.syntax, tt.syntax) {
				t.Errorf("expand(%.40q): got %+v, want syntax problem %q", tt.in, got, tt.syntax)
			}
			continue
		}
		if got.syntax != "" || !slices.Equal(got.missing, tt.missing) || (tt.missing == nil && got.value != tt.want) {
			t.Errorf("expand(%q): got %+v, want %q missing %v", tt.in, got, tt.want, tt.missing)
		}
		if tt.missing == nil && strings.Contains(got.value, "${") && !strings.Contains(tt.in, "$${") {
			t.Errorf("expand(%q) = %q still holds a reference", tt.in, got.value)
		}
	}
}

// TestRedactLinear: Redact runs on values from the command line and on error messages; no input
// may make it quadratic.
func TestRedactLinear(t *testing.T) {
	for _, s := range []string{
		"x " + strings.Repeat("a://", 200_000),
		strings.Repeat("p://u:", 100_000) + "@h",
		"host=db password=" + strings.Repeat("w ", 200_000),
		"postgres://u:" + strings.Repeat("/?#", 100_000) + "@h",
	} {
		_ = Redact(s) // a quadratic pass would take minutes
	}
}

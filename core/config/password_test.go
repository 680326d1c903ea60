package config

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stdin is the override --db-password-stdin makes.
func stdin(pw string) Override {
	return Override{Key: "database.password", Name: "--db-password-stdin", Value: pw, Stdin: true}
}

// connFlag is the override --db-conn-string makes.
func connFlag(cs string) Override {
	return Override{Key: "database.conn_string", Name: "--db-conn-string", Value: cs}
}

// passwordWarnings are the warnings about two places that give different passwords.
func passwordWarnings(cfg *Config) []Warning {
	var out []Warning
	for _, w := range cfg.Warnings {
		if w.Key == "database.password" && strings.Contains(w.Message, "different passwords") {
			out = append(out, w)
		}
	}
	return out
}

// everything is the text of everything Load said: problems, warnings, values, sources.
func everything(cfg *Config, err error) string {
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error())
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			b.WriteString(w.String() + "\n")
		}
		j, _ := json.Marshal(cfg.Values())
		b.Write(j)
		b.WriteString(cfg.Database.PasswordSource)
		for k, v := range cfg.Unused {
			b.WriteString(k + v)
		}
	}
	return b.String()
}

// TestPasswordOrder: of the places that give the database password, the highest layer wins
// (file < environment < flags and stdin); within a layer the password key beats conn_string's
// password. Different passwords get one warning naming both places; equal ones none.
func TestPasswordOrder(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		env      []string
		flags    []Override
		password string // Database.Password
		source   string // Database.PasswordSource
		// warn is a part of the one different-passwords warning; "" means no such warning.
		warn string
	}{
		{name: "file literal", content: "database:\n  password: filepw\n", password: "filepw", source: "compozy.yaml:2"},
		{name: "file reference", content: "database:\n  password: ${MY_PW}\n", env: []string{"MY_PW=refpw"},
			password: "refpw", source: "${MY_PW} in compozy.yaml:2"},
		{name: "env over file", content: "database:\n  password: filepw\n", env: []string{"COMPOZY_DB_PASSWORD=envpw"},
			password: "envpw", source: "COMPOZY_DB_PASSWORD",
			warn: "the one from COMPOZY_DB_PASSWORD is used; the one from compozy.yaml:2 is not (the environment beats the file)"},
		{name: "env equal to file: no warning", content: "database:\n  password: ${COMPOZY_DB_PASSWORD}\n", env: []string{"COMPOZY_DB_PASSWORD=same"},
			password: "same", source: "COMPOZY_DB_PASSWORD"},
		{name: "legacy DB_PASSWORD", content: "database:\n  password: filepw\n", env: []string{"DB_PASSWORD=legacy"},
			password: "legacy", source: "DB_PASSWORD", warn: "the environment beats the file"},
		{name: "stdin over env", env: []string{"COMPOZY_DB_PASSWORD=envpw"}, flags: []Override{stdin("stdinpw")},
			password: "stdinpw", source: "--db-password-stdin",
			warn: "the one from --db-password-stdin is used; the one from COMPOZY_DB_PASSWORD is not (--db-password-stdin beats the environment)"},
		{name: "file conn_string alone", content: "database:\n  conn_string: postgres://u:connpw@db/app\n",
			password: "", source: "the conn_string URL, compozy.yaml:2"},
		{name: "password key beats conn_string in the same layer",
			content:  "database:\n  conn_string: postgres://u:connpw@db/app\n  password: keypw\n",
			password: "keypw", source: "compozy.yaml:3",
			warn: "in the same layer the password key beats conn_string's"},
		{name: "env password beats file conn_string", content: "database:\n  conn_string: postgres://u:connpw@db/app\n",
			env: []string{"COMPOZY_DB_PASSWORD=envpw"}, password: "envpw", source: "COMPOZY_DB_PASSWORD", warn: "the environment beats the file"},
		{name: "flag conn_string beats env password", env: []string{"COMPOZY_DB_PASSWORD=envpw"},
			flags:    []Override{connFlag("postgres://u:flagpw@db/app")},
			password: "", source: "the conn_string URL, flag --db-conn-string",
			warn: "the one from the conn_string URL, flag --db-conn-string is used; the one from COMPOZY_DB_PASSWORD is not (a flag beats the environment)"},
		{name: "flag conn_string beats legacy env password", env: []string{"DB_PASSWORD=envpw"},
			flags:    []Override{connFlag("postgres://u:flagpw@db/app")},
			password: "", source: "the conn_string URL, flag --db-conn-string", warn: "a flag beats the environment"},
		{name: "flag conn_string without a password keeps the env password", env: []string{"COMPOZY_DB_PASSWORD=envpw"},
			flags: []Override{connFlag("postgres://u@db/app")}, password: "envpw", source: "COMPOZY_DB_PASSWORD"},
		{name: "env conn_string beats file password", content: "database:\n  password: filepw\n",
			env: []string{"COMPOZY_DB_CONN_STRING=postgres://u:envconn@db/app"}, password: "", source: "the conn_string URL, env COMPOZY_DB_CONN_STRING",
			warn: "the environment beats the file"},
		{name: "stdin beats flag conn_string", flags: []Override{connFlag("postgres://u:flagpw@db/app"), stdin("stdinpw")},
			password: "stdinpw", source: "--db-password-stdin", warn: "in the same layer the password key beats conn_string's"},
		{name: "key=value conn_string", content: "database:\n  conn_string: host=db user=u password='a b'\n",
			env: []string{"COMPOZY_DB_PASSWORD=envpw"}, password: "envpw", source: "COMPOZY_DB_PASSWORD",
			warn: "the one from the conn_string, compozy.yaml:2 is not"},
		{name: "URL password parameter", flags: []Override{connFlag("postgres://u@db/app?password=qp")},
			env: []string{"COMPOZY_DB_PASSWORD=qp"}, password: "", source: "the conn_string URL, flag --db-conn-string"},
		{name: "none", password: "", source: ""},
		{name: "sqlite ignores passwords", content: "database:\n  driver: sqlite\n  path: x.db\n  password: filepw\n",
			env: []string{"COMPOZY_DB_PASSWORD=other"}, password: "other", source: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadFile(t, tt.content, tt.env, tt.flags...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database.Password != tt.password || cfg.Database.PasswordSource != tt.source {
				t.Errorf("password %q from %q, want %q from %q", cfg.Database.Password, cfg.Database.PasswordSource, tt.password, tt.source)
			}
			ws := passwordWarnings(cfg)
			switch {
			case tt.warn == "" && len(ws) > 0:
				t.Errorf("unexpected warning: %v", ws)
			case tt.warn != "" && len(ws) != 1:
				t.Errorf("got %d password warnings, want 1: %v", len(ws), cfg.Warnings)
			case tt.warn != "" && !strings.Contains(ws[0].String(), tt.warn):
				t.Errorf("warning %q lacks %q", ws[0].String(), tt.warn)
			}
			out := everything(cfg, err)
			for _, secret := range []string{"filepw", "refpw", "envpw", "stdinpw", "connpw", "flagpw", "envconn", "keypw", "legacy", "'a b'"} {
				if strings.Contains(out, secret) {
					t.Errorf("output shows the password %s:\n%s", secret, out)
				}
			}
		})
	}
}

// TestPasswordReferenceOverridden: a ${VAR} reference to an unset variable in a key that a
// higher layer sets is not a problem (the file init writes works with --db-password-stdin);
// references to COMPOZY_DB_PASSWORD and DB_PASSWORD read the password stdin gave; an unset
// variable nothing replaces still is a problem.
func TestPasswordReferenceOverridden(t *testing.T) {
	initFile := "database:\n  host: db\n  user: compozy\n  password: ${COMPOZY_DB_PASSWORD}\n"
	t.Run("stdin", func(t *testing.T) {
		cfg := mustLoad(t, initFile, nil, stdin("s3cret"))
		if cfg.Database.Password != "s3cret" || cfg.Database.PasswordSource != "--db-password-stdin" {
			t.Errorf("got %q from %q", cfg.Database.Password, cfg.Database.PasswordSource)
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
	})
	t.Run("env conn_string with a password", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  password: ${COMPOZY_DB_PASSWORD}\n", []string{"COMPOZY_DB_CONN_STRING=postgres://u:pw@db/app"})
		if cfg.Database.PasswordSource != "the conn_string URL, env COMPOZY_DB_CONN_STRING" {
			t.Errorf("source %q", cfg.Database.PasswordSource)
		}
		if !strings.Contains(cfg.Unused["database.password"], "conn_string's password (env COMPOZY_DB_CONN_STRING) is used") {
			t.Errorf("unused note %q", cfg.Unused["database.password"])
		}
	})
	t.Run("references read stdin", func(t *testing.T) {
		for _, name := range []string{"COMPOZY_DB_PASSWORD", "DB_PASSWORD"} {
			cfg := mustLoad(t, "database:\n  conn_string: postgres://compozy:${"+name+"}@db/compozy\n", nil, stdin("p@ss w/rd"))
			if cfg.Database.Password != "p@ss w/rd" || len(passwordWarnings(cfg)) > 0 {
				t.Errorf("%s: password %q, warnings %v", name, cfg.Database.Password, cfg.Warnings)
			}
			u, err := url.Parse(cfg.Database.ConnString)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if pw, _ := u.User.Password(); pw != "p@ss w/rd" {
				t.Errorf("%s: URL password %q", name, pw)
			}
		}
	})
	t.Run("unset variable in the password of conn_string, password given apart", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  conn_string: postgres://compozy:${MY_PW}@db/compozy\n", []string{"COMPOZY_DB_PASSWORD=envpw"})
		if cfg.Database.Password != "envpw" {
			t.Errorf("password %q", cfg.Database.Password)
		}
	})
	t.Run("nothing replaces it", func(t *testing.T) {
		for _, content := range []string{initFile, "database:\n  conn_string: postgres://compozy:${MY_PW}@db/compozy\n",
			"database:\n  conn_string: postgres://${MY_USER}:x@db/compozy\n"} {
			_, err := loadFile(t, content, nil)
			if err == nil || !strings.Contains(err.Error(), "is not set") {
				t.Errorf("%q: got %v, want a variable that is not set", content, err)
			}
		}
		// A flag conn_string without a password does not replace the password key.
		_, err := loadFile(t, initFile, nil, connFlag("postgres://u@db/app"))
		if err == nil || !strings.Contains(err.Error(), "environment variable COMPOZY_DB_PASSWORD is not set") {
			t.Errorf("got %v", err)
		}
	})
}

// TestUserInfoEncoding: a ${VAR} in the user information of a URL stands for the user or the
// password as it is, and is percent-encoded; elsewhere values are used as written.
func TestUserInfoEncoding(t *testing.T) {
	t.Run("upstream example", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  conn_string: postgres://compozy:${DB_PASSWORD}@db.internal:5432/compozy\n",
			[]string{"DB_PASSWORD=p@ss w/rd"})
		u, err := url.Parse(cfg.Database.ConnString)
		if err != nil {
			t.Fatal(err)
		}
		if pw, _ := u.User.Password(); pw != "p@ss w/rd" || u.Host != "db.internal:5432" || u.User.Username() != "compozy" {
			t.Errorf("parsed %q@%q", u.User.Username(), u.Host)
		}
		// DB_PASSWORD is also the legacy variable of the password key: the same password, no warning.
		if len(cfg.Warnings) > 0 {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
	})
	tests := []struct {
		raw  string
		env  []string
		want string
	}{
		{"postgres://${U}:${P}@db/app", []string{"U=a:b@c", "P=x/y?z#w%"}, "postgres://a%3Ab%40c:x%2Fy%3Fz%23w%25@db/app"},
		{"postgres://app:pre-${P}-post@db/app", []string{"P=a b"}, "postgres://app:pre-a%20b-post@db/app"},
		{"postgres://app:${P:-d@f}@db/app", nil, "postgres://app:d%40f@db/app"},
		{"postgres://app:${P:-a/b?c}@db/app", nil, "postgres://app:a%2Fb%3Fc@db/app"},
		{"postgres://app:${P:-${Q}}@db/app", []string{"Q=q@q"}, "postgres://app:q%40q@db/app"},
		{"postgres://app@${HOST}/db?application_name=${NAME}", []string{"HOST=h:1", "NAME=a%20b"}, "postgres://app@h:1/db?application_name=a%20b"},
		{"postgres://app@db/app?application_name=$${lit}", nil, "postgres://app@db/app?application_name=${lit}"},
		{"postgres://db/app?password=${P}", []string{"P=abc"}, "postgres://db/app?password=abc"},
		{"${WHOLE}", []string{"WHOLE=postgres://a:b%40c@db/app"}, "postgres://a:b%40c@db/app"},
		{"host=db password=${P}", []string{"P=abc"}, "host=db password=abc"},
	}
	for _, tt := range tests {
		cfg, err := loadFile(t, "database:\n  conn_string: \""+tt.raw+"\"\n", tt.env)
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if cfg.Database.ConnString != tt.want {
			t.Errorf("%s: got %s, want %s", tt.raw, cfg.Database.ConnString, tt.want)
		}
	}
	t.Run("vector URL", func(t *testing.T) {
		cfg := mustLoad(t, "database:\n  driver: sqlite\n  path: x.db\nknowledge:\n  vector_dbs:\n    - {id: v, provider: redis, dimension: 4, url: \"redis://:${COMPOZY_VECTOR_PASSWORD}@localhost:6379\"}\n",
			[]string{"COMPOZY_VECTOR_PASSWORD=r@d is/pw"})
		u, err := url.Parse(cfg.Knowledge.VectorDBs[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		if pw, _ := u.User.Password(); pw != "r@d is/pw" {
			t.Errorf("password %q", pw)
		}
	})
}

// writeSecret writes content to a file of mode perm and returns its path.
func writeSecret(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecretFiles: COMPOZY_DB_PASSWORD_FILE and friends read the secret from a file (trailing
// line breaks trimmed), shown as the source; a file others may read is a warning; a file that
// cannot be used is a problem that names the variable and the file; the content is never shown.
func TestSecretFiles(t *testing.T) {
	t.Run("password", func(t *testing.T) {
		p := writeSecret(t, "fromfile\n", 0o600)
		cfg := mustLoad(t, "", []string{"COMPOZY_DB_PASSWORD_FILE=" + p})
		want := "file " + p + " (COMPOZY_DB_PASSWORD_FILE)"
		if cfg.Database.Password != "fromfile" || cfg.Database.PasswordSource != want {
			t.Errorf("got %q from %q", cfg.Database.Password, cfg.Database.PasswordSource)
		}
		for _, v := range cfg.Values() {
			if v.Key == "database.password" && (v.Source != want || v.Value != Redacted) {
				t.Errorf("config show: %v from %s", v.Value, v.Source)
			}
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
	})
	t.Run("legacy and conn_string", func(t *testing.T) {
		p := writeSecret(t, "legacyfile\r\n\n", 0o400)
		cfg := mustLoad(t, "", []string{"DB_PASSWORD_FILE=" + p})
		if cfg.Database.Password != "legacyfile" {
			t.Errorf("DB_PASSWORD_FILE: got %q", cfg.Database.Password)
		}
		cs := writeSecret(t, "postgres://u:csfilepw@db/app\n", 0o600)
		cfg = mustLoad(t, "", []string{"COMPOZY_DB_CONN_STRING_FILE=" + cs})
		if cfg.Database.ConnString != "postgres://u:csfilepw@db/app" || cfg.Database.PasswordSource != "the conn_string URL, file "+cs+" (COMPOZY_DB_CONN_STRING_FILE)" {
			t.Errorf("conn_string %q from %q", Redact(cfg.Database.ConnString), cfg.Database.PasswordSource)
		}
	})
	t.Run("readable by others", func(t *testing.T) {
		p := writeSecret(t, "shared\n", 0o644)
		cfg := mustLoad(t, "", []string{"COMPOZY_DB_PASSWORD_FILE=" + p})
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), p+", which COMPOZY_DB_PASSWORD_FILE names, is readable by group and others (mode 0644)") ||
			!strings.Contains(cfg.Warnings[0].Fix, "chmod 600 "+p) {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
		if strings.Contains(everything(cfg, nil), "shared") {
			t.Errorf("the content was shown")
		}
		// Read by a reference in the file and by the environment layer: one warning.
		cfg = mustLoad(t, "database:\n  password: ${COMPOZY_DB_PASSWORD}\n", []string{"COMPOZY_DB_PASSWORD_FILE=" + p})
		if len(cfg.Warnings) != 1 || cfg.Database.Password != "shared" {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
	})
	t.Run("vector references", func(t *testing.T) {
		key := writeSecret(t, "apikeyfromfile\n", 0o600)
		pw := writeSecret(t, "vec pw@x\n", 0o640)
		content := "database:\n  driver: sqlite\n  path: x.db\nknowledge:\n  vector_dbs:\n" +
			"    - {id: q, provider: qdrant, dimension: 4, url: \"http://localhost:6333?api_key=${COMPOZY_VECTOR_API_KEY}\"}\n" +
			"    - {id: r, provider: redis, dimension: 4, url: \"redis://:${COMPOZY_VECTOR_PASSWORD}@localhost:6379\"}\n"
		cfg := mustLoad(t, content, []string{"COMPOZY_VECTOR_API_KEY_FILE=" + key, "COMPOZY_VECTOR_PASSWORD_FILE=" + pw})
		if got := cfg.Knowledge.VectorDBs[0].URL; got != "http://localhost:6333?api_key=apikeyfromfile" {
			t.Errorf("qdrant url %q", Redact(got))
		}
		u, err := url.Parse(cfg.Knowledge.VectorDBs[1].URL)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := u.User.Password(); p != "vec pw@x" {
			t.Errorf("redis password read from the file is wrong")
		}
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "COMPOZY_VECTOR_PASSWORD_FILE names, is readable by its group (mode 0640)") {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
		if out := everything(cfg, nil); strings.Contains(out, "apikeyfromfile") || strings.Contains(out, "vec pw") {
			t.Errorf("a secret was shown: %s", out)
		}
	})
	big := writeSecret(t, strings.Repeat("x", MaxSecretFileSize+1), 0o600)
	empty := writeSecret(t, "\n", 0o600)
	unreadable := writeSecret(t, "secretcontent", 0o000)
	missing := filepath.Join(t.TempDir(), "nope")
	dir := t.TempDir()
	fine := writeSecret(t, "secretcontent", 0o600)
	tests := []struct {
		name    string
		content string
		env     []string
		want    string
	}{
		{"missing", "", []string{"COMPOZY_DB_PASSWORD_FILE=" + missing},
			"file " + missing + " (COMPOZY_DB_PASSWORD_FILE): database.password: cannot read " + missing + ", which COMPOZY_DB_PASSWORD_FILE names: no such file or directory"},
		{"too large", "", []string{"COMPOZY_DB_PASSWORD_FILE=" + big}, "is larger than 64 KiB"},
		{"empty", "", []string{"COMPOZY_DB_PASSWORD_FILE=" + empty}, empty + ", which COMPOZY_DB_PASSWORD_FILE names, is empty"},
		{"a folder", "", []string{"COMPOZY_DB_CONN_STRING_FILE=" + dir}, "which COMPOZY_DB_CONN_STRING_FILE names, is not a regular file"},
		{"both set", "", []string{"COMPOZY_DB_PASSWORD=x", "COMPOZY_DB_PASSWORD_FILE=" + fine}, "COMPOZY_DB_PASSWORD and COMPOZY_DB_PASSWORD_FILE are both set"},
		{"reference to a missing file", "database:\n  password: ${MY_PW}\n", []string{"MY_PW_FILE=" + missing},
			"compozy.yaml:2:13: database.password: cannot read " + missing + ", which MY_PW_FILE names"},
		{"reference with both set", "database:\n  password: ${MY_PW}\n", []string{"MY_PW=x", "MY_PW_FILE=" + fine},
			"MY_PW and MY_PW_FILE are both set"},
	}
	if os.Geteuid() != 0 { // root reads any file
		tests = append(tests, struct {
			name    string
			content string
			env     []string
			want    string
		}{"unreadable", "", []string{"COMPOZY_DB_PASSWORD_FILE=" + unreadable}, "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadFile(t, tt.content, tt.env)
			if err == nil {
				t.Fatalf("loaded; want a problem %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %q", err, tt.want)
			}
			if strings.Contains(everything(cfg, err), "secretcontent") || strings.Contains(err.Error(), "xxxxxxxx") {
				t.Errorf("the content was shown: %v", err)
			}
		})
	}
}

// TestUnusedKeys: config show says which keys a conn_string makes unused, and that a password
// key is unused when conn_string's password is the one used.
func TestUnusedKeys(t *testing.T) {
	cfg := mustLoad(t, "database:\n  conn_string: postgres://u:pw@db/app\n", []string{"DB_HOST=legacy"})
	got := map[string]Value{}
	for _, v := range cfg.Values() {
		got[v.Key] = v
	}
	for _, name := range []string{"host", "port", "user", "name", "ssl_mode"} {
		if !strings.HasPrefix(got["database."+name].Unused, "conn_string decides the ") {
			t.Errorf("%s: unused %q", name, got["database."+name].Unused)
		}
	}
	if v := got["database.password"]; !strings.Contains(v.Unused, "conn_string's password (compozy.yaml:2) is used") || v.Value != nil {
		t.Errorf("password: %v, unused %q", v.Value, v.Unused)
	}
	if v := got["database.max_open_conns"]; v.Unused != "" {
		t.Errorf("max_open_conns marked unused: %q", v.Unused)
	}
	// A password key that a higher layer's conn_string beats is shown as set, and unused.
	cfg = mustLoad(t, "database:\n  password: filepw\n", nil, connFlag("postgres://u:flagpw@db/app"))
	for _, v := range cfg.Values() {
		if v.Key == "database.password" && (v.Value != Redacted || !strings.Contains(v.Unused, "a flag beats the file")) {
			t.Errorf("password: %v, unused %q", v.Value, v.Unused)
		}
	}
	// Without conn_string nothing is unused.
	if cfg := mustLoad(t, "database:\n  host: db\n", nil); len(cfg.Unused) > 0 {
		t.Errorf("unused: %v", cfg.Unused)
	}
}

// TestReadSecretFileBounded: a device that never ends (or a FIFO nobody writes) is refused
// before it is read.
func TestReadSecretFileBounded(t *testing.T) {
	sf := readSecretFile("X_FILE", "/dev/zero")
	if sf.problem == "" || !strings.Contains(sf.problem, "not a regular file") {
		t.Errorf("got %+v", sf)
	}
}

// TestConnStringPasswordFrom: when conn_string's own password is used, Database says so in a
// field of its own (where conn_string came from), so that messages need not read
// PasswordSource's wording.
func TestConnStringPasswordFrom(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		env           []string
		flags         []Override
		want          string
	}{
		{name: "file conn_string", content: "database:\n  conn_string: postgres://u:connpw@db/app\n", want: "compozy.yaml:2"},
		{name: "flag conn_string", flags: []Override{connFlag("postgres://u:flagpw@db/app")}, want: "flag --db-conn-string"},
		{name: "env password beats it", content: "database:\n  conn_string: postgres://u:connpw@db/app\n",
			env: []string{"COMPOZY_DB_PASSWORD=envpw"}, want: ""},
		{name: "no password", want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadFile(t, tt.content, tt.env, tt.flags...)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Database.ConnStringPasswordFrom; got != tt.want {
				t.Errorf("ConnStringPasswordFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

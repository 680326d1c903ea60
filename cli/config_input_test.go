package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Bad input that hurt (issue 10), through the real binary: hostile config files are refused
// before they are parsed, nested defaults never become file names, conn_string's own settings
// are checked, and no password reaches the screen, whatever the URL looks like and wherever it
// came from.
func TestConfigInputBinary(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)

	t.Run("hostile files are refused before parsing", func(t *testing.T) {
		deep := "database:\n  host: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n"
		big := "database:\n  driver: sqlite\n  path: ./c.db\n# " + strings.Repeat("x", 2<<20) + "\n"
		for _, tc := range []struct {
			name, content, want string
		}{
			{"100 000 levels deep", deep, "compozy.yaml:2:71: nesting 100002 deep; compozy reads at most 64 levels"},
			{"2 MB", big, "compozy.yaml: the file is 2.0 MB; compozy reads config files up to 1 MB"},
		} {
			dir := writeConfigFile(t, tc.content)
			for _, args := range [][]string{{"config", "validate"}, {"config", "show"}, {"migrate", "up"}, {"doctor"}, {"doctor", "--json"}} {
				r := binRun(t, bin, dir, nil, args...)
				all := r.out + r.errOut
				if r.code != ExitUsage || !strings.Contains(all, tc.want) || !strings.Contains(strings.ToLower(all), "fix") {
					t.Errorf("%s: compozy %s: exit %d, want %d and %q with a fix:\n%s", tc.name, strings.Join(args, " "), r.code, ExitUsage, tc.want, all)
				}
			}
			assertNoNewFiles(t, dir)
		}
	})

	t.Run("nested defaults", func(t *testing.T) {
		content := func(path string) string {
			return "database:\n  driver: sqlite\n  path: " + strconv.Quote(path) + "\nknowledge:\n  vector_dbs:\n    - {id: fs, provider: filesystem, path: ./v, dimension: 4}\n"
		}
		dir := writeConfigFile(t, content("${DB_FILE:-${DB_NAME:-fallback}}.db"))
		if r := binRun(t, bin, dir, []string{"DB_NAME=app"}, "migrate", "up"); r.code != ExitOK {
			t.Fatalf("migrate up: exit %d:\n%s%s", r.code, r.out, r.errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "app.db")); err != nil {
			t.Errorf("the nested default did not name the file: %v", err)
		}
		for _, path := range []string{"$${B}.db", "${A:-$${B}}.db", "${A:-${B}.db"} {
			dir := writeConfigFile(t, content(path))
			r := binRun(t, bin, dir, nil, "migrate", "up")
			if r.code != ExitUsage || !strings.Contains(r.errOut, "compozy.yaml:3:9: database.path: ") {
				t.Errorf("path %s: exit %d, want %d and a problem at compozy.yaml:3:9:\n%s", path, r.code, ExitUsage, r.errOut)
			}
			assertNoNewFiles(t, dir)
		}
	})

	t.Run("conn_string's own settings", func(t *testing.T) {
		dir := t.TempDir()
		for _, tc := range []struct {
			cs, want string
		}{
			{"postgres://u@h/db?sslmode=bogus", `sslmode in conn_string: "bogus" is not a valid value; valid values: disable, allow, prefer, require, verify-ca, verify-full`},
			{"postgres://u@h/db?sslmode=requir", `did you mean "require"?`},
			{"host=db sslmode=bogus", `sslmode in conn_string: "bogus" is not a valid value`},
			{"postgres://u@h:70000/db", "port in conn_string: must be at most 65535, got 70000"},
			{"host=db port=0", "port in conn_string: must be at least 1, got 0"},
			{"postgres://u@h/db?connect_timeout=5s", "connect_timeout in conn_string: expected a whole number of seconds (0 or more)"},
			{"host=db connect_timeout=-3", "connect_timeout in conn_string: expected a whole number of seconds (0 or more)"},
		} {
			for _, src := range []struct {
				env   []string
				args  []string
				where string
			}{
				{[]string{"COMPOZY_DB_CONN_STRING=" + tc.cs}, nil, "env COMPOZY_DB_CONN_STRING: database.conn_string: "},
				{nil, []string{"--db-conn-string", tc.cs}, "flag --db-conn-string: database.conn_string: "},
			} {
				r := binRun(t, bin, dir, src.env, append([]string{"config", "validate"}, src.args...)...)
				if r.code != ExitUsage || !strings.Contains(r.errOut, src.where) || !strings.Contains(r.errOut, tc.want) || !strings.Contains(r.errOut, "fix: ") {
					t.Errorf("%s (%s): exit %d, want %d and %q:\n%s", tc.cs, src.where, r.code, ExitUsage, tc.want, r.errOut)
				}
			}
		}
	})

	t.Run("no password in any output", func(t *testing.T) {
		pieces := []string{"Xq7Zw", "Pv3Lk", "Mj8Rt"}
		// Each breaks a URL differently (or not at all: : and @ parse, and reach the drivers).
		passwords := []string{
			"Xq7Zw Pv3Lk Mj8Rt", "Xq7Zw:Pv3Lk:Mj8Rt", "Xq7Zw/Pv3Lk/Mj8Rt", "Xq7Zw#Pv3Lk?Mj8Rt",
			"Xq7Zw@Pv3Lk@Mj8Rt", "Xq7Zw%zzPv3Lk Mj8Rt",
		}
		// A database that does not exist, so that nothing is written even where the URL is
		// valid and the server answers.
		const db = "compozy_no_such_db_for_secrets"
		commands := [][]string{
			{"config", "validate"}, {"config", "show"}, {"doctor"}, {"doctor", "--json"}, {"migrate", "status"}, {"migrate", "up"},
		}
		vectorCommands := [][]string{{"config", "show", "--json"}, {"doctor"}, {"doctor", "--json"}}
		for i, pw := range passwords {
			// Not named after the password: the test's temporary folders carry its name.
			t.Run("password "+strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				url := "postgres://postgres:" + pw + "@127.0.0.1:5432/" + db + "?sslmode=disable"
				keyValue := "host=127.0.0.1 user=postgres dbname=" + db + " password=" + pw
				type source struct {
					name     string
					file     string
					env      []string
					args     []string
					commands [][]string
				}
				sources := []source{
					{name: "file", file: "database:\n  conn_string: " + strconv.Quote(url) + "\n", commands: commands},
					{name: "env", env: []string{"COMPOZY_DB_CONN_STRING=" + url}, commands: commands},
					{name: "env key=value", env: []string{"COMPOZY_DB_CONN_STRING=" + keyValue}, commands: commands},
					{name: "flag", args: []string{"--db-conn-string", url}, commands: commands},
				}
				for _, v := range []struct{ provider, url string }{
					{"redis", "redis://:" + pw + "@127.0.0.1:6379"},
					{"qdrant", "http://compozy:" + pw + "@127.0.0.1:6333"},
					{"qdrant", "http://127.0.0.1:6333?api_key=" + pw},
					{"pgvector", "postgres://postgres:" + pw + "@127.0.0.1:5432/" + db},
				} {
					driver := "driver: sqlite\n  path: ./data/c.db"
					if v.provider == "pgvector" {
						driver = "driver: postgres\n  host: 127.0.0.1\n  name: " + db
					}
					sources = append(sources, source{name: "vector " + v.provider,
						file: "database:\n  " + driver + "\nknowledge:\n  vector_dbs:\n    - id: kb\n      provider: " + v.provider +
							"\n      dimension: 4\n      url: " + strconv.Quote(v.url) + "\n", commands: vectorCommands})
				}
				for _, src := range sources {
					dir := t.TempDir()
					if src.file != "" {
						dir = writeConfigFile(t, src.file)
					}
					for _, cmd := range src.commands {
						r := binRun(t, bin, dir, src.env, append(cmd, src.args...)...)
						for _, piece := range pieces {
							if strings.Contains(r.out, piece) || strings.Contains(r.errOut, piece) {
								t.Errorf("%s, compozy %s: the output shows %q of the password:\nstdout:\n%s\nstderr:\n%s",
									src.name, strings.Join(cmd, " "), piece, r.out, r.errOut)
							}
						}
					}
				}
			})
		}
	})
}

// assertNoNewFiles fails when dir holds anything but compozy.yaml: a refused config must not
// create a database, a vector store or a file named after an unexpanded reference.
func assertNoNewFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "compozy.yaml" {
			t.Errorf("%s was created in %s", e.Name(), dir)
		}
	}
}

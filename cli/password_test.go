package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// The password tests run the real binary against the real PostgreSQL, with a role whose
// password is checked (a member of compozy_pwtest, see .ci/setup-pg-auth) and holds the
// characters a URL cannot: the password of upstream Compozy's example.
const (
	rightPassword = "p@ss w/rd"
	wrongPassword = "wr0ng-Secret"
)

// pwServer is a database that only rightPassword opens, as role.
type pwServer struct {
	role, host, port, name string
	// dsn is the database's URL for role, without a password.
	dsn string
}

// newPwServer creates a password-checked role and a database it may create tables in.
func newPwServer(t *testing.T) pwServer {
	t.Helper()
	admin := testenv.AdminPostgresDSN()
	requirePasswordRule(t, admin)
	role := "compozy_pwt_" + fmt.Sprint(time.Now().UnixNano()%1e9)
	adminExec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE compozy_pwtest", role, rightPassword))
	// Registered before the database's cleanup, so it runs after it: the role owns tables there.
	t.Cleanup(func() { adminExec(t, admin, "DROP ROLE IF EXISTS "+role) })
	db := testenv.PostgresDB(t)
	adminExec(t, db, "GRANT CREATE, USAGE ON SCHEMA public TO "+role)
	host, port, _, name := pgParts(t, db)
	return pwServer{role: role, host: host, port: port, name: name,
		dsn: fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=disable", role, host, port, name)}
}

// file is a compozy.yaml for the server with extra lines in its database section.
func (s pwServer) file(extra ...string) string {
	return "database:\n  driver: postgres\n" + strings.Join(extra, "") +
		"knowledge:\n  vector_dbs: []\n"
}

// keys are the database keys that name the server apart (no conn_string).
func (s pwServer) keys() string {
	return fmt.Sprintf("  host: %s\n  port: %s\n  user: %s\n  name: %s\n  ssl_mode: disable\n", s.host, s.port, s.role, s.name)
}

// noSecret fails the test when the output holds either password, in any spelling.
func noSecret(t *testing.T, r cliRun, what string) {
	t.Helper()
	all := r.out + r.errOut
	for _, s := range []string{rightPassword, wrongPassword, "p%40ss", "p@ss", "wr0ng"} {
		if strings.Contains(all, s) {
			t.Errorf("%s: the output shows a password (%q):\n%s%s", what, s, r.out, r.errOut)
		}
	}
}

// writeConfig writes content to compozy.yaml in a new folder and returns the folder.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// secretFile writes content to a file of mode perm and returns its path.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "db_password")
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPasswordAuthFailureSources: with a wrong password from each place a password can come
// from, every command that connects (migrate, doctor, db copy, init) fails with the server's
// message once, the target named once, and where the password came from; no output shows a
// password.
func TestPasswordAuthFailureSources(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	pwFile := secretFile(t, wrongPassword+"\n", 0o600)
	type source struct {
		name    string
		content string // compozy.yaml; "" for none
		env     []string
		stdin   string // piped to --db-password-stdin when not ""
		args    []string
		from    string // what the error says in parentheses
	}
	sources := []source{
		{name: "env", content: s.file(s.keys()), env: []string{"COMPOZY_DB_PASSWORD=" + wrongPassword},
			from: "password from COMPOZY_DB_PASSWORD"},
		{name: "legacy env", content: s.file(s.keys()), env: []string{"DB_PASSWORD=" + wrongPassword},
			from: "password from DB_PASSWORD"},
		{name: "file", content: s.file(s.keys(), "  password: \""+wrongPassword+"\"\n"),
			from: "password from compozy.yaml:8"},
		{name: "file reference", content: s.file(s.keys(), "  password: ${MY_DB_PW}\n"), env: []string{"MY_DB_PW=" + wrongPassword},
			from: "password from ${MY_DB_PW} in compozy.yaml:8"},
		{name: "file conn_string", content: s.file("  conn_string: postgres://" + s.role + ":${MY_DB_PW}@" + s.host + ":" + s.port + "/" + s.name + "?sslmode=disable\n"),
			env: []string{"MY_DB_PW=" + wrongPassword}, from: "password from the conn_string URL, compozy.yaml:3"},
		{name: "stdin", content: s.file(s.keys(), "  password: ${COMPOZY_DB_PASSWORD}\n"), stdin: wrongPassword + "\n",
			args: []string{"--db-password-stdin"}, from: "password from --db-password-stdin"},
		{name: "flag URL", args: []string{"--db-conn-string", "postgres://" + s.role + ":wr0ng-Secret@" + s.host + ":" + s.port + "/" + s.name + "?sslmode=disable"},
			from: "password from the conn_string URL, flag --db-conn-string"},
		{name: "password file", content: s.file(s.keys()), env: []string{"COMPOZY_DB_PASSWORD_FILE=" + pwFile},
			from: "password from file " + pwFile + " (COMPOZY_DB_PASSWORD_FILE)"},
		{name: "none", content: s.file(s.keys()), from: "no password was given"},
	}
	want := func(src source) string {
		return `password authentication failed for user "` + s.role + `" (` + src.from + `)`
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			dir := t.TempDir()
			if src.content != "" {
				dir = writeConfig(t, src.content)
			}
			run := func(args ...string) cliRun {
				return binRunWith(t, bin, dir, binIn{env: append([]string{"PGPASSWORD=", "PGPASSFILE=/nonexistent"}, src.env...), stdin: src.stdin}, append(args, src.args...)...)
			}

			r := run("migrate", "status")
			if r.code != 1 || !strings.Contains(r.errOut, want(src)) {
				t.Errorf("migrate status: exit %d, want 1 and %q:\n%s%s", r.code, want(src), r.out, r.errOut)
			}
			if n := strings.Count(r.errOut, "password authentication failed"); n != 1 {
				t.Errorf("migrate status: the driver's error %d times:\n%s", n, r.errOut)
			}
			if line := errorLine(r.errOut); strings.Count(line, "postgres://") != 1 || strings.Contains(line, "failed to connect to") {
				t.Errorf("migrate status: the target is named more than once:\n%s", line)
			}
			noSecret(t, r, "migrate status")

			r = run("doctor", "--json", "--only", doctor.IDPostgresConnect)
			d := parseDoctor(t, r)
			c := expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusFail,
				`^authentication: password authentication failed for user `+s.role+` \(`+regexpQuote(src.from)+`\)`)
			if !strings.Contains(c.Fix.Text, "password") {
				t.Errorf("doctor fix: %q", c.Fix.Text)
			}
			noSecret(t, r, "doctor")

			// db copy meets the server first in factory.Identify (identity.go), which does not
			// wrap its connect error with factory.PasswordError yet: the server's message once,
			// without the source.
			r = run("db", "copy", "--to", filepath.Join(t.TempDir(), "copy.db"), "--yes")
			if r.code == 0 || strings.Count(r.errOut, `password authentication failed for user "`+s.role+`"`) != 1 {
				t.Errorf("db copy: exit %d, want the server's message once:\n%s%s", r.code, r.out, r.errOut)
			}
			noSecret(t, r, "db copy")
		})
	}

	// init tests the connection before it writes: the password comes from COMPOZY_DB_PASSWORD
	// or --db-password-stdin.
	initArgs := []string{"init", "--use-case", "production", "--workflows", "25-100", "--vectors=false", "--server",
		"--db-host", s.host, "--db-port", s.port, "--db-user", s.role, "--db-name", s.name, "--db-ssl-mode", "disable"}
	t.Run("init env", func(t *testing.T) {
		r := binRun(t, bin, t.TempDir(), []string{"COMPOZY_DB_PASSWORD=" + wrongPassword}, initArgs...)
		if r.code != 1 || !strings.Contains(r.out, `password authentication failed for user "`+s.role+`" (password from COMPOZY_DB_PASSWORD)`) {
			t.Errorf("exit %d:\n%s%s", r.code, r.out, r.errOut)
		}
		if n := strings.Count(r.out, "password authentication failed"); n != 1 {
			t.Errorf("the driver's error %d times:\n%s", n, r.out)
		}
		noSecret(t, r, "init")
	})
	t.Run("init stdin", func(t *testing.T) {
		r := binRunWith(t, bin, t.TempDir(), binIn{stdin: wrongPassword + "\n"}, append(initArgs, "--db-password-stdin")...)
		if r.code != 1 || !strings.Contains(r.out, `password authentication failed for user "`+s.role+`" (password from --db-password-stdin)`) {
			t.Errorf("exit %d:\n%s%s", r.code, r.out, r.errOut)
		}
		noSecret(t, r, "init")
	})
}

// errorLine is the line of out that starts with "Error: ".
func errorLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Error: ") {
			return l
		}
	}
	return ""
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `.`, `\.`, `(`, `\(`, `)`, `\)`, `$`, `\$`, `{`, `\{`, `}`, `\}`, `[`, `\[`, `]`, `\]`, `+`, `\+`, `*`, `\*`, `?`, `\?`, `^`, `\^`, `|`, `\|`)
	return r.Replace(s)
}

// TestPasswordUpstreamConnString: upstream Compozy's documented example,
// conn_string: postgres://compozy:${DB_PASSWORD}@db.internal:5432/compozy, validates and
// connects with DB_PASSWORD='p@ss w/rd': the reference in the user part is percent-encoded.
func TestPasswordUpstreamConnString(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	for _, name := range []string{"DB_PASSWORD", "MY_SECRET"} {
		t.Run(name, func(t *testing.T) {
			dir := writeConfig(t, s.file("  conn_string: postgres://"+s.role+":${"+name+"}@"+s.host+":"+s.port+"/"+s.name+"?sslmode=disable\n"))
			env := []string{name + "=" + rightPassword}
			r := binRun(t, bin, dir, env, "config", "validate")
			if r.code != 0 || r.errOut != "" {
				t.Errorf("validate: exit %d\n%s%s", r.code, r.out, r.errOut)
			}
			r = binRun(t, bin, dir, env, "migrate", "up")
			if r.code != 0 {
				t.Errorf("migrate up: exit %d\n%s%s", r.code, r.out, r.errOut)
			}
			r = binRun(t, bin, dir, env, "doctor", "--json", "--only", doctor.IDPostgresConnect)
			expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnect, doctor.StatusPass, "connected to")
			noSecret(t, r, "doctor")
		})
	}
}

// TestPasswordStdinInitFile: the file compozy init writes (password: ${COMPOZY_DB_PASSWORD})
// works with --db-password-stdin and without COMPOZY_DB_PASSWORD, in every command.
func TestPasswordStdinInitFile(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	dir := writeConfig(t, s.file(s.keys(), "  password: ${COMPOZY_DB_PASSWORD}\n"))
	for _, args := range [][]string{{"config", "validate"}, {"config", "show"}, {"migrate", "up"}, {"migrate", "status"}} {
		r := binRunWith(t, bin, dir, binIn{stdin: rightPassword + "\n"}, append(args, "--db-password-stdin")...)
		if r.code != 0 || strings.Contains(r.errOut, "is not set") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
		}
		noSecret(t, r, strings.Join(args, " "))
	}
	r := binRunWith(t, bin, dir, binIn{stdin: rightPassword + "\n"}, "doctor", "--json", "--only", doctor.IDPostgresConnect, "--db-password-stdin")
	expectCheck(t, parseDoctor(t, r), doctor.IDPostgresConnect, doctor.StatusPass, "connected to")
	// A reference inside conn_string reads the password from stdin too.
	dir = writeConfig(t, s.file("  conn_string: postgres://"+s.role+":${COMPOZY_DB_PASSWORD}@"+s.host+":"+s.port+"/"+s.name+"?sslmode=disable\n"))
	if r := binRunWith(t, bin, dir, binIn{stdin: rightPassword + "\n"}, "migrate", "status", "--db-password-stdin"); r.code != 0 {
		t.Errorf("conn_string reference with stdin: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// Without a password anywhere, the reference is still an error that names the variable.
	if r := binRun(t, bin, dir, nil, "config", "validate"); r.code != 2 || !strings.Contains(r.errOut, "environment variable COMPOZY_DB_PASSWORD is not set") {
		t.Errorf("no password: exit %d\n%s", r.code, r.errOut)
	}
}

// TestPasswordFlagURLBeatsEnv: the password in a --db-conn-string URL (a flag) wins over
// COMPOZY_DB_PASSWORD and DB_PASSWORD (the environment); the two disagree, so every command
// warns once, naming both, never the values.
func TestPasswordFlagURLBeatsEnv(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	url := "postgres://" + s.role + ":p%40ss%20w%2Frd@" + s.host + ":" + s.port + "/" + s.name + "?sslmode=disable"
	const warning = "two places give different passwords: the one from the conn_string URL, flag --db-conn-string is used; the one from %s is not (a flag beats the environment)"
	for _, envName := range []string{"COMPOZY_DB_PASSWORD", "DB_PASSWORD"} {
		t.Run(envName, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{envName + "=" + wrongPassword}
			w := fmt.Sprintf(warning, envName)
			for _, args := range [][]string{{"migrate", "up"}, {"migrate", "status"}, {"config", "validate"}, {"config", "show"}} {
				r := binRun(t, bin, dir, env, append(args, "--db-conn-string", url)...)
				if r.code != 0 {
					t.Errorf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
				}
				if n := strings.Count(r.errOut, w); n != 1 {
					t.Errorf("%v: the warning %d times on stderr, want once:\n%s", args, n, r.errOut)
				}
				noSecret(t, r, strings.Join(args, " "))
			}
			r := binRun(t, bin, dir, env, "doctor", "--json", "--db-conn-string", url)
			d := parseDoctor(t, r)
			expectCheck(t, d, doctor.IDPostgresConnect, doctor.StatusPass, "connected to")
			expectCheck(t, d, doctor.IDConfigKeys, doctor.StatusWarn, regexpQuote(w))
			if strings.Contains(r.errOut, "different passwords") {
				t.Errorf("doctor printed the warning on stderr too:\n%s", r.errOut)
			}
			noSecret(t, r, "doctor")
		})
	}
	// config show marks the password key and what conn_string decides as unused.
	r := binRun(t, bin, t.TempDir(), []string{"COMPOZY_DB_PASSWORD=" + wrongPassword}, "config", "show", "--json", "--db-conn-string", url)
	var doc struct {
		Values []struct {
			Key, Source, Unused string
			Value               any
		}
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	unused := map[string]string{}
	for _, v := range doc.Values {
		unused[v.Key] = v.Unused
	}
	for key, want := range map[string]string{
		"database.host":     "conn_string decides the host",
		"database.ssl_mode": "conn_string decides the ssl mode",
		"database.password": "conn_string's password (flag --db-conn-string) is used: a flag beats the environment",
	} {
		if unused[key] != want {
			t.Errorf("%s: unused %q, want %q", key, unused[key], want)
		}
	}
	if unused["database.driver"] != "" {
		t.Errorf("driver marked unused")
	}
	r = binRun(t, bin, t.TempDir(), nil, "config", "show", "--db-conn-string", url)
	if !strings.Contains(r.out, "(unused: conn_string decides the port)") {
		t.Errorf("config show:\n%s", r.out)
	}
}

// TestPasswordFile: COMPOZY_DB_PASSWORD_FILE and COMPOZY_DB_CONN_STRING_FILE connect; config
// show names the file as the source; a file others may read is a warning on stderr; one that
// cannot be read is an error naming the variable and the file; the content is never printed.
func TestPasswordFile(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := newPwServer(t)
	dir := writeConfig(t, s.file(s.keys(), "  password: ${COMPOZY_DB_PASSWORD}\n"))
	private := secretFile(t, rightPassword+"\n", 0o600)
	env := []string{"COMPOZY_DB_PASSWORD_FILE=" + private}
	if r := binRun(t, bin, dir, env, "migrate", "up"); r.code != 0 || r.errOut != "" {
		t.Errorf("migrate up: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	r := binRun(t, bin, dir, env, "config", "show")
	if !strings.Contains(r.out, "[redacted]") || !strings.Contains(r.out, "file "+private+" (COMPOZY_DB_PASSWORD_FILE)") {
		t.Errorf("config show:\n%s", r.out)
	}
	noSecret(t, r, "config show")

	shared := secretFile(t, rightPassword+"\n", 0o644)
	warning := shared + ", which COMPOZY_DB_PASSWORD_FILE names, is readable by group and others (mode 0644)"
	for _, args := range [][]string{{"migrate", "status"}, {"config", "validate"}} {
		r := binRun(t, bin, dir, []string{"COMPOZY_DB_PASSWORD_FILE=" + shared}, args...)
		if r.code != 0 || strings.Count(r.errOut, warning) != 1 || !strings.Contains(r.errOut, "chmod 600 "+shared) {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
		}
	}
	r = binRun(t, bin, dir, []string{"COMPOZY_DB_PASSWORD_FILE=" + shared}, "doctor", "--json", "--only", doctor.IDConfigSecrets)
	expectCheck(t, parseDoctor(t, r), doctor.IDConfigSecrets, doctor.StatusWarn, regexpQuote(warning))

	missing := filepath.Join(t.TempDir(), "nope")
	r = binRun(t, bin, dir, []string{"COMPOZY_DB_PASSWORD_FILE=" + missing}, "migrate", "status")
	if r.code != 2 || !strings.Contains(r.errOut, "cannot read "+missing+", which COMPOZY_DB_PASSWORD_FILE names") {
		t.Errorf("missing file: exit %d\n%s", r.code, r.errOut)
	}

	csFile := secretFile(t, fmt.Sprintf("postgres://%s:p%%40ss%%20w%%2Frd@%s:%s/%s?sslmode=disable\n", s.role, s.host, s.port, s.name), 0o400)
	r = binRun(t, bin, t.TempDir(), []string{"COMPOZY_DB_CONN_STRING_FILE=" + csFile}, "migrate", "status")
	if r.code != 0 {
		t.Errorf("COMPOZY_DB_CONN_STRING_FILE: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	noSecret(t, r, "migrate status")
}

// TestPasswordStdinTerminal: --db-password-stdin on a terminal asks on standard error and does
// not echo what is typed.
func TestPasswordStdinTerminal(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := writeConfig(t, "database:\n  driver: postgres\n  host: db.internal\n  password: ${COMPOZY_DB_PASSWORD}\n")
	s := startPTY(t, dir, bin, ptyOpts{}, "config", "show", "--db-password-stdin")
	s.waitFor("the prompt", func(sc string) bool {
		return strings.Contains(sc, "Database password (--db-password-stdin; not shown):")
	})
	s.press(rightPassword + "\r")
	// The whole row: the screen may be read while the table is still being written.
	sc := s.waitFor("the configuration", func(sc string) bool {
		return regexp.MustCompile(`database\.password\s+\S+\s+stdin`).MatchString(sc)
	})
	if !strings.Contains(sc, "[redacted]") || !strings.Contains(sc, "stdin") || strings.Contains(sc, "is not set") {
		t.Errorf("screen:\n%s", sc)
	}
	if strings.Contains(sc, "p@ss") {
		t.Errorf("the typed password is on the screen:\n%s", sc)
	}

	// Ctrl-C at the prompt ends the command at once (exit 130).
	s = startPTY(t, dir, bin, ptyOpts{}, "config", "show", "--db-password-stdin")
	s.waitFor("the prompt", func(sc string) bool {
		return strings.Contains(sc, "Database password (--db-password-stdin; not shown):")
	})
	s.press("\x03")
	_ = s.cmd.Wait()
	if code := s.cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("Ctrl-C: exit %d, want 130\n%s", code, s.screen())
	}
}

// TestReadPasswordBounded: --db-password-stdin reads the first line only, without its line
// ending, and refuses a first line longer than 64 KiB instead of reading it whole.
func TestReadPasswordBounded(t *testing.T) {
	t.Parallel()
	pw, err := readPassword(strings.NewReader(rightPassword + "\r\nsecond line\n"))
	if err != nil || pw != rightPassword {
		t.Errorf("got %q, %v", pw, err)
	}
	if pw, err := readPassword(strings.NewReader("no newline")); err != nil || pw != "no newline" {
		t.Errorf("got %q, %v", pw, err)
	}
	_, err = readPassword(strings.NewReader(strings.Repeat("x", 1<<20)))
	if err == nil || !strings.Contains(err.Error(), "longer than 64 KiB") || strings.Contains(err.Error(), "xxxx") {
		t.Errorf("got %v", err)
	}
	if _, err := readPassword(strings.NewReader("\n")); err == nil {
		t.Errorf("an empty line is no password")
	}
}

// TestPasswordUnknownRole: a role that does not exist (SQLSTATE 28000) is said once, without a
// password source, which is not why the server refused.
func TestPasswordUnknownRole(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	db := testenv.PostgresDB(t)
	host, port, _, name := pgParts(t, db)
	url := fmt.Sprintf("postgres://compozy_no_such_role@%s:%s/%s?sslmode=disable", host, port, name)
	r := binRun(t, bin, t.TempDir(), []string{"COMPOZY_DB_PASSWORD=" + wrongPassword, "COMPOZY_DB_CONN_STRING=" + url}, "migrate", "status")
	if r.code != 1 || strings.Count(r.errOut, `role "compozy_no_such_role" does not exist`) != 1 || strings.Contains(r.errOut, "password from") {
		t.Errorf("exit %d\n%s", r.code, r.errOut)
	}
	noSecret(t, r, "migrate status")
}

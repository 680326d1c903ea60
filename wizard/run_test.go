package wizard

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/wizard/prompt"
)

// scriptUI answers each question with the next line of a script, as accessible mode reads it
// (a number for a list, y/n, text; "" keeps the current value), or goes back ("<back>").
type scriptUI struct {
	t       *testing.T
	answers []string
	asked   []string
	out     bytes.Buffer
}

func (u *scriptUI) Ask(_ context.Context, q prompt.Question) (prompt.Outcome, error) {
	u.asked = append(u.asked, q.Title)
	if len(u.answers) == 0 {
		return 0, &prompt.InputEndedError{Question: q.Title}
	}
	a := u.answers[0]
	u.answers = u.answers[1:]
	if a == "<back>" {
		if q.First {
			u.t.Errorf("Shift-Tab offered at the first question %q", q.Title)
		}
		return prompt.Back, nil
	}
	if q.Title == "Password" && a == "" {
		return prompt.Answered, nil // a hidden input needs a terminal; none is typed
	}
	f := q.Field
	f.Init()
	f.Focus()
	if err := f.RunAccessible(io.Discard, strings.NewReader(a+"\n")); err != nil {
		return 0, err
	}
	return prompt.Answered, nil
}
func (u *scriptUI) Println(s string)           { u.out.WriteString(s + "\n") }
func (u *scriptUI) Busy(label string) func()   { u.Println(label); return func() {} }
func (u *scriptUI) Close()                     {}
func (u *scriptUI) count(title string) (n int) { return countOf(u.asked, title) }

func countOf(list []string, s string) (n int) {
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// runScript runs the wizard in dir with the questions answered by script, as in accessible
// mode (opts.Interactive unset) or as on a terminal (set).
func runScript(t *testing.T, dir string, opts Options, script ...string) (*scriptUI, *Result, string, error) {
	t.Helper()
	ui := &scriptUI{t: t, answers: script}
	var out, errOut bytes.Buffer
	env := Env{Target: Target{Path: filepath.Join(dir, "compozy.yaml"), Shown: "compozy.yaml"},
		Load: LoadEnv{WorkDir: dir, Getenv: func(string) string { return "" }}, Out: &out, ErrOut: &errOut}
	opts.Accessible = !opts.Interactive
	opts.Interactive = true
	res, err := NewRun(env, opts, ui, Answers{}, DefaultSettings(), Given{}, "").Do(t.Context())
	if len(ui.answers) > 0 {
		t.Errorf("answers left over: %q (asked %q)", ui.answers, ui.asked)
	}
	return ui, res, out.String(), err
}

// TestQuestionsGoBack: Shift-Tab returns to the question before with its answer kept; the
// answers after it are asked again and keep theirs too.
func TestQuestionsGoBack(t *testing.T) {
	dir := t.TempDir()
	ui, res, _, err := runScript(t, dir, Options{SkipTest: true},
		"2", "3", "<back>", "", "y", "n", "", "", "", "", "384", "y", "n")
	if err != nil {
		t.Fatal(err)
	}
	if ui.count("How many workflows run at once?") != 2 {
		t.Errorf("asked %q", ui.asked)
	}
	cfg := res.Config
	if cfg.Database.Driver != DriverSQLite || cfg.Knowledge.VectorDBs[0].Provider != ProviderFilesystem || cfg.Knowledge.VectorDBs[0].Dimension != 384 {
		t.Errorf("config %+v %+v", cfg.Database, cfg.Knowledge)
	}
	written, _ := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if !strings.Contains(string(written), "CI / testing · 25-100 workflows") {
		t.Errorf("the answers before going back were not kept:\n%s", written)
	}
}

// TestQuestionsSSLFollowsTheHost: the ssl_mode offered is require for a host on another
// machine, disable for this one, and follows the host until the user picks one.
func TestQuestionsSSLFollowsTheHost(t *testing.T) {
	// production, 1-10, no vectors, server, accept, fields, host, port, user, name, ssl (default).
	_, _, out, err := runScript(t, t.TempDir(), Options{DryRun: true}, "5", "", "n", "y", "", "1", "db.internal", "", "", "", "")
	if err != nil || !strings.Contains(out, "ssl_mode: require") {
		t.Errorf("remote: %v\n%s", err, out)
	}
	// Back from the ssl_mode to the host, which becomes localhost: disable.
	_, _, out, err = runScript(t, t.TempDir(), Options{DryRun: true}, "5", "", "n", "y", "", "1", "db.internal", "", "", "",
		"<back>", "<back>", "<back>", "<back>", "localhost", "", "", "", "")
	if err != nil || !strings.Contains(out, "ssl_mode: disable") || !strings.Contains(out, `host: localhost`) {
		t.Errorf("back to localhost: %v\n%s", err, out)
	}
	// Chosen by the user (verify-full), it stays when the host changes (on a terminal, where
	// the password question follows and Shift-Tab goes back from it).
	_, _, out, err = runScript(t, t.TempDir(), Options{DryRun: true, Interactive: true}, "5", "", "n", "y", "", "1", "db.internal", "", "", "", "6",
		"<back>", "<back>", "<back>", "<back>", "<back>", "other.internal", "", "", "", "", "")
	if err != nil || !strings.Contains(out, "ssl_mode: verify-full") {
		t.Errorf("chosen: %v\n%s", err, out)
	}
}

// TestQuestionsConnStringPassword: a password inside a typed connection string is the one the
// test uses; the file gets the URL without it and a ${COMPOZY_DB_PASSWORD} reference, and the
// password question is not asked.
func TestQuestionsConnStringPassword(t *testing.T) {
	dir := t.TempDir()
	ui, res, _, err := runScript(t, dir, Options{SkipTest: true},
		"5", "", "n", "y", "", "2", "postgres://app:Pw0rd@db.internal:5433/app?sslmode=require", "y", "n")
	if err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if strings.Contains(string(written), "Pw0rd") || !strings.Contains(string(written), `conn_string: "postgres://app@db.internal:5433/app?sslmode=require"`) ||
		!strings.Contains(string(written), `password: "${COMPOZY_DB_PASSWORD}"`) {
		t.Errorf("written:\n%s", written)
	}
	if !slices.Equal(res.Envs, []string{PasswordEnv}) || slices.Contains(ui.asked, "Password") {
		t.Errorf("envs %v, asked %q", res.Envs, ui.asked)
	}
	if res.Config.Database.Password != "Pw0rd" {
		t.Errorf("the test would not use the URL's password")
	}
}

// TestQuestionsChangeTheAnswers: after a failed connection test, "Change the answers" goes back
// to the recommendation with the answers kept; "Quit without writing" is a QuitError (exit 0).
func TestQuestionsChangeTheAnswers(t *testing.T) {
	dir := t.TempDir()
	// production, 1-10, no vectors, server, accept, a URL to a closed port; the test fails:
	// change; choose myself; sqlite; path; (test passes); write; do not run.
	ui, res, _, err := runScript(t, dir, Options{},
		"5", "", "n", "y", "", "2", "postgres://app@127.0.0.1:1/app", "1", "n", "1", "", "y", "n")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(ui.asked, "The connection test failed.")
	if i < 0 || ui.asked[i+1] != "Use postgres with vector DB none?" {
		t.Errorf("after the failed test: %q", ui.asked)
	}
	if res.Config.Database.Driver != DriverSQLite {
		t.Errorf("driver %s", res.Config.Database.Driver)
	}
	written, _ := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if !strings.Contains(string(written), "Production / multi-tenant · 1-10 workflows") {
		t.Errorf("the matrix answers were not kept:\n%s", written)
	}

	dir = t.TempDir()
	_, _, _, err = runScript(t, dir, Options{}, "5", "", "n", "y", "", "2", "postgres://app@127.0.0.1:1/app", "3")
	var quit *QuitError
	if !asQuit(err, &quit) || quit.Message != "Nothing was written." {
		t.Errorf("quit: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("quit wrote %v", entries)
	}
}

func asQuit(err error, q **QuitError) bool {
	e, ok := err.(*QuitError)
	*q = e
	return ok
}

// TestQuestionsInputEnded: an answer that runs out names the question.
func TestQuestionsInputEnded(t *testing.T) {
	ui := &scriptUI{t: t, answers: []string{"1"}}
	env := Env{Target: Target{Path: filepath.Join(t.TempDir(), "c.yaml"), Shown: "c.yaml"}, Load: LoadEnv{Getenv: func(string) string { return "" }},
		Out: io.Discard, ErrOut: io.Discard}
	_, err := NewRun(env, Options{Interactive: true}, ui, Answers{}, DefaultSettings(), Given{}, "").Do(t.Context())
	var ended *prompt.InputEndedError
	if e, ok := err.(*prompt.InputEndedError); !ok || e.Question != "How many workflows run at once?" {
		t.Errorf("err %v (%T)", err, ended)
	}
}

// TestTargetWrite: atomic write, 0644 (or the file's own mode) without a secret, 0600 with one,
// a backup of the previous content, and a symbolic link kept.
func TestTargetWrite(t *testing.T) {
	dir := t.TempDir()
	tg := Target{Path: filepath.Join(dir, "sub", "compozy.yaml"), Shown: "sub/compozy.yaml"}
	if _, ok, err := tg.Read(); ok || err != nil {
		t.Fatalf("read missing: %v %v", ok, err)
	}
	if bak, err := tg.Write([]byte("a: 1\n"), false, false); err != nil || bak != "" {
		t.Fatalf("write: %q %v", bak, err)
	}
	if fi, _ := os.Stat(tg.Path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	bak, err := tg.Write([]byte("a: 2\n"), true, true)
	if err != nil || !strings.HasPrefix(bak, "sub/compozy.yaml.") || !strings.HasSuffix(bak, ".bak") {
		t.Fatalf("backup %q %v", bak, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, bak)); string(b) != "a: 1\n" {
		t.Errorf("backup holds %q", b)
	}
	if fi, _ := os.Stat(tg.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %o", fi.Mode().Perm())
	}
	// A second backup in the same second gets its own name.
	if bak2, err := tg.Write([]byte("a: 3\n"), true, false); err != nil || bak2 == bak {
		t.Errorf("second backup %q %v", bak2, err)
	}
	link := Target{Path: filepath.Join(dir, "link.yaml"), Shown: "link.yaml"}
	if err := os.Symlink(tg.Path, link.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := link.Write([]byte("a: 4\n"), false, false); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link.Path); fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(tg.Path); string(b) != "a: 4\n" {
		t.Errorf("the link's target holds %q", b)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "sub", ".*tmp*")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// TestConnectionTest: what each kind of database and vector DB reports, read-only.
func TestConnectionTest(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	getenv := func(string) string { return "" }
	line := func(cfg *config.Config) []ConnResult { return TestConnections(ctx, cfg, getenv) }

	mem := &config.Config{Database: config.Database{Driver: config.DriverSQLite, Path: config.MemoryPath}}
	if r := line(mem); !r[0].OK || !strings.Contains(r[0].Line, ":memory:") {
		t.Errorf("memory: %+v", r)
	}
	db := filepath.Join(dir, "c.db")
	missing := &config.Config{Database: config.Database{Driver: config.DriverSQLite, Path: db}}
	missing.Knowledge.VectorDBs = []config.VectorDB{{ID: "main", Provider: "filesystem", Path: filepath.Join(dir, "vec"), Dimension: 4, Metric: "cosine"}}
	r := line(missing)
	if !r[0].OK || !strings.Contains(r[0].Line, "does not exist yet") || !r[1].OK || !strings.Contains(r[1].Line, "created on first use") {
		t.Errorf("missing: %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the test created %v", entries)
	}

	full := config.Database{Driver: config.DriverSQLite, Path: db}
	h, err := factory.Open(ctx, full, factory.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Migrator.Up(ctx); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if r := line(&config.Config{Database: full}); !r[0].OK || !strings.Contains(r[0].Line, "already holds a Compozy database at version") {
		t.Errorf("migrated: %+v", r)
	}

	closed := config.Database{Driver: config.DriverPostgres, Host: "127.0.0.1", Port: 1, User: "u", Name: "n", Password: "Hidden9", SSLMode: "disable"}
	if r := line(&config.Config{Database: closed}); r[0].OK || strings.Contains(r[0].Line, "Hidden9") || !strings.Contains(r[0].Line, "127.0.0.1") {
		t.Errorf("closed port: %+v", r)
	}

	dsn := testenv.PostgresDB(t)
	pg := config.Database{Driver: config.DriverPostgres, ConnString: dsn}
	if r := line(&config.Config{Database: pg}); !r[0].OK || !strings.HasSuffix(r[0].Line, "answers") {
		t.Errorf("postgres: %+v", r)
	}
}

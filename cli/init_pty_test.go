package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/internal/testenv"
)

// TestInitForm drives `compozy init` in a pseudo-terminal: keys in, screen read, file checked.
// Each step waits for huh's focus marker (┃) on the next question before typing.
func TestInitForm(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init")
	step := func(question, keys string) {
		t.Helper()
		s.waitFor("focus on "+question, func(sc string) bool { return strings.Contains(sc, "┃ "+question) })
		s.press(keys)
	}
	step("What is this setup for?", "\r")
	step("How many workflows run at once?", "\x1b[B")
	s.waitFor("10-25 selected", func(sc string) bool { return strings.Contains(sc, "> 10-25") })
	s.press("\r")
	step("Do you need knowledge bases", "y")
	step("Can you run or reach a PostgreSQL server?", "n")
	s.waitFor("the vector options without pgvector", func(sc string) bool {
		return strings.Contains(sc, "┃ For vector search") && strings.Contains(sc, "> Nothing yet") && !strings.Contains(sc, "pgvector to")
	})
	s.press("\r")
	sc := s.waitFor("the recommendation", func(sc string) bool { return strings.Contains(sc, "┃ Use sqlite with vector DB filesystem?") })
	for _, want := range []string{"Recommendation", "Matrix row: Local development · 10-25 workflows", "an external vector DB is required"} {
		if !strings.Contains(sc, want) {
			t.Errorf("recommendation screen lacks %q:\n%s", want, sc)
		}
	}
	s.press("y")
	step("SQLite database file", "\r")
	step("Vector store folder", "\r")
	step("Embedding dimension", "\x7f\x7f\x7f\x7f768\r")
	sc = s.waitFor("the YAML and the write question", func(sc string) bool { return strings.Contains(sc, "┃ Write compozy.yaml?") })
	for _, want := range []string{"compozy.yaml to be written:", "driver: sqlite", "dimension: 768", "does not exist yet"} {
		if !strings.Contains(sc, want) {
			t.Errorf("screen lacks %q:\n%s", want, sc)
		}
	}
	s.press("y")
	step("Run compozy migrate up and compozy doctor now?", "y")
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, s.screen())
	}
	<-s.readDone
	if sc := s.screen(); !strings.Contains(sc, "No problems found.") {
		t.Errorf("the doctor did not run green:\n%s", sc)
	}
	got, err := os.ReadFile(filepath.Join(dir, "compozy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := loads(t, dir, string(got))
	if cfg.Database.Driver != "sqlite" || cfg.Knowledge.VectorDBs[0].Dimension != 768 || cfg.Knowledge.VectorDBs[0].Provider != "filesystem" {
		t.Errorf("written: %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "compozy.db")); err != nil {
		t.Errorf("migrations did not run: %v", err)
	}

}

// TestInitFormPostgres drives the PostgreSQL questions on a terminal with a wrong password for
// a role that must give one: the password is masked, the test fails with the server's reason,
// and quitting from the failure choice writes nothing and exits 0 ("Nothing was written.").
func TestInitFormPostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	host, port, _, name := pgParts(t, dsn)
	admin := testenv.AdminPostgresDSN()
	requirePasswordRule(t, admin)
	role := "compozy_pw_" + fmt.Sprint(time.Now().UnixNano()%1e9)
	adminExec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'right-Secret' IN ROLE compozy_pwtest", role))
	t.Cleanup(func() { adminExec(t, admin, "DROP ROLE IF EXISTS "+role) })

	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init")
	chooseProduction(s)
	for _, step := range []struct{ question, keys string }{
		{"How many workflows run at once?", "\r"},
		{"Do you need knowledge bases", "n"},
		{"Can you run or reach a PostgreSQL server?", "y"},
		{"Use postgres with vector DB none?", "y"},
		{"How do you connect to PostgreSQL?", "\r"},
		{"Host", "\x15" + host + "\r"},
		{"Port", "\x15" + port + "\r"},
		{"User", "\x15" + role + "\r"},
		{"Database", "\x15" + name + "\r"},
		{"SSL mode", "\r"},
		{"Password", "wrong-Secret\r"},
	} {
		s.step(step.question, step.keys)
	}
	sc := s.waitFor("the failure choice", func(sc string) bool {
		return strings.Contains(sc, "┃ The connection test failed.") && strings.Contains(sc, "password authentication failed")
	})
	if strings.Contains(sc, "wrong-Secret") {
		t.Errorf("the password is on the screen:\n%s", sc)
	}
	s.press("\x1b[B")
	s.waitFor("write anyway selected", func(sc string) bool { return strings.Contains(sc, "> Write anyway") })
	s.press("\x1b[B")
	s.waitFor("quit selected", func(sc string) bool { return strings.Contains(sc, "> Quit without writing") })
	s.press("\r")
	_ = s.cmd.Wait()
	<-s.readDone
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(s.screen(), "Nothing was written.") {
		t.Errorf("quitting by choice: exit %d, want 0 and \"Nothing was written.\"\n%s", code, s.screen())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"compozy.dev/setup/internal/testenv"
)

// Keys as a terminal sends them.
const (
	keyDown     = "\x1b[B"
	keyUp       = "\x1b[A"
	keyShiftTab = "\x1b[Z"
	keyEsc      = "\x1b"
	keyCtrlC    = "\x03"
	keyCtrlU    = "\x15" // clears an input
)

// TestInitSilentTerminal: on a terminal that never answers a query, init shows its first
// question at once (the time is logged, not asserted) and the keys typed before it arrive. With
// colour it asks the background once, without waiting for the answer (which, when it comes, is
// not read as keys); with NO_COLOR, --no-color or TERM=dumb it asks nothing at all.
func TestInitSilentTerminal(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		ask     bool
		first   string // the first question as it shows
		enter   string // a key that takes its default answer
		second  string
		focused bool // questions carry the focus marker (not accessible mode)
	}{
		{"colour", []string{"TERM=xterm-256color", "NO_COLOR="}, nil, true, "What is this setup for?", "\r", "How many workflows run at once?", true},
		{"colour, a terminal that answers", []string{"TERM=xterm-256color", "NO_COLOR="}, nil, true, "What is this setup for?", "\r", "How many workflows run at once?", true},
		{"NO_COLOR", []string{"TERM=xterm-256color", "NO_COLOR=1"}, nil, false, "What is this setup for?", "\r", "How many workflows run at once?", true},
		{"--no-color", []string{"TERM=xterm-256color", "NO_COLOR="}, []string{"--no-color"}, false, "What is this setup for?", "\r", "How many workflows run at once?", true},
		{"TERM=dumb", []string{"TERM=dumb", "NO_COLOR="}, nil, false, "Enter a number between 1 and 5", "\r", "Enter a number between 1 and 4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"init"}, tc.args...)
			// The first screen, keys untouched.
			silent := !strings.Contains(tc.name, "answers")
			s := startPTY(t, t.TempDir(), bin, ptyOpts{silent: silent, env: tc.env}, args...)
			s.waitFor("the first question", func(sc string) bool { return strings.Contains(sc, tc.first) })
			t.Logf("%s: first question on screen %v after start (terminal silent: %v)", tc.name, time.Since(s.start).Round(time.Millisecond), silent)
			if got := asked(s.written()); got != tc.ask {
				t.Errorf("asked the terminal: %v, want %v; output %q", got, tc.ask, s.written())
			}
			if n := strings.Count(s.written(), "\x1b]11;?"); n > 1 {
				t.Errorf("asked the background %d times", n)
			}
			s.press(keyCtrlC)
			if code, _ := s.wait(); code != ExitAborted {
				t.Errorf("Ctrl-C: exit %d, want %d", code, ExitAborted)
			}

			// Keys typed before the first screen answer the first question.
			dir := t.TempDir()
			s = startPTY(t, dir, bin, ptyOpts{silent: silent, env: tc.env}, args...)
			s.press(tc.enter)
			sc := s.waitFor("the second question", func(sc string) bool {
				if tc.focused {
					return strings.Contains(sc, "┃ "+tc.second)
				}
				return strings.Contains(sc, tc.second)
			})
			if tc.focused && !strings.Contains(sc, "✓ What is this setup for? Local development") {
				t.Errorf("the key typed ahead did not answer the first question:\n%s", sc)
			}
			// The terminal's answer is not read as keys.
			s.press("x")
			if sc := s.waitFor("the typed key", func(sc string) bool { return tc.focused || strings.Contains(sc, "x") }); strings.Contains(sc, "rgb:") || strings.Contains(sc, "11;") {
				t.Errorf("the terminal's answer reached the form:\n%s", sc)
			}
			s.press(keyCtrlC)
			if code, _ := s.wait(); code != ExitAborted {
				t.Errorf("Ctrl-C: exit %d, want %d", code, ExitAborted)
			}
			emptyDir(t, dir)
		})
	}
}

// TestInitKeysTypedAhead: four Enters in one burst answer four questions, in order.
func TestInitKeysTypedAhead(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	s := startPTY(t, t.TempDir(), bin, ptyOpts{}, "init")
	s.focus("What is this setup for?")
	s.press("\r\r\r\r")
	sc := s.focus("Use sqlite with vector DB none?")
	for _, want := range []string{"✓ What is this setup for? Local development", "✓ How many workflows run at once? 1-10",
		"✓ Do you need knowledge bases (vector search)? No", "✓ Can you run or reach a PostgreSQL server? No"} {
		if !strings.Contains(sc, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, sc)
		}
	}
	s.press(keyCtrlC)
	s.wait()
}

// TestInitMovingAround: Shift-Tab goes back one question with its answer kept; Esc in a list's
// filter clears the filter; Esc elsewhere asks "Quit without writing?" (No goes back, Yes quits
// with exit 0 and "Nothing was written."); Ctrl-C quits at once with 130. Nothing is written.
func TestInitMovingAround(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init")

	// The filter: "/" and text narrow the list; Esc clears it and stays on the question.
	s.focus("What is this setup for?")
	s.press("/")
	s.waitFor("the filter", func(sc string) bool {
		return strings.Contains(sc, "/") && !strings.Contains(sc, "┃ What is this setup for?")
	})
	s.press("prod")
	s.waitFor("the filtered list", func(sc string) bool {
		return strings.Contains(sc, "Production / multi-tenant") && !strings.Contains(sc, "Local development")
	})
	s.press(keyEsc)
	sc := s.waitFor("the filter cleared", func(sc string) bool {
		return strings.Contains(sc, "┃ What is this setup for?") && strings.Contains(sc, "Local development") && strings.Contains(sc, "Production / multi-tenant")
	})
	if strings.Contains(sc, "Quit without writing?") {
		t.Fatalf("Esc in the filter asked to quit:\n%s", sc)
	}

	// Shift-Tab back, answers kept.
	s.press(keyDown)
	s.waitFor("CI selected", func(sc string) bool { return strings.Contains(sc, "> CI / testing") })
	s.press("\r")
	s.focus("How many workflows run at once?")
	s.press(keyDown)
	s.waitFor("10-25 selected", func(sc string) bool { return strings.Contains(sc, "> 10-25") })
	s.press("\r")
	s.focus("Do you need knowledge bases")
	s.press(keyShiftTab)
	s.waitFor("back at the workflows, 10-25 kept", func(sc string) bool {
		return strings.Contains(sc, "┃ How many workflows run at once?") && strings.Contains(sc, "> 10-25")
	})
	s.press(keyShiftTab)
	s.waitFor("back at the use case, CI kept", func(sc string) bool {
		return strings.Contains(sc, "┃ What is this setup for?") && strings.Contains(sc, "> CI / testing")
	})
	s.press("\r")
	s.focus("How many workflows run at once?")
	s.press("\r")

	// Esc asks; No goes back to the question.
	s.focus("Do you need knowledge bases")
	s.press(keyEsc)
	s.focus("Quit without writing?")
	s.press("n")
	s.focus("Do you need knowledge bases")
	s.press(keyEsc)
	s.focus("Quit without writing?")
	s.press("y")
	code, sc := s.wait()
	if code != 0 || !strings.Contains(sc, "Nothing was written.") {
		t.Errorf("quit by choice: exit %d, want 0 and \"Nothing was written.\"\n%s", code, sc)
	}
	emptyDir(t, dir)

	// Ctrl-C at once, on a later question.
	dir = t.TempDir()
	s = startPTY(t, dir, bin, ptyOpts{}, "init")
	s.step("What is this setup for?", "\r")
	s.step("How many workflows run at once?", "\r")
	s.step("Do you need knowledge bases", keyCtrlC)
	if code, _ := s.wait(); code != ExitAborted {
		t.Errorf("Ctrl-C: exit %d, want %d", code, ExitAborted)
	}
	emptyDir(t, dir)
}

// chooseProduction answers the first question of the matrix: production / multi-tenant.
func chooseProduction(s *ptyScreen) {
	s.t.Helper()
	s.focus("What is this setup for?")
	s.press(strings.Repeat(keyDown, 4))
	s.waitFor("production selected", func(sc string) bool { return strings.Contains(sc, "> Production / multi-tenant") })
	s.press("\r")
}

// toPostgresFields answers the matrix for production without vector search and chooses host,
// port, user and database.
func toPostgresFields(s *ptyScreen) {
	s.t.Helper()
	chooseProduction(s)
	s.step("How many workflows run at once?", "\r")
	s.step("Do you need knowledge bases", "n")
	s.step("Can you run or reach a PostgreSQL server?", "y")
	s.step("Use postgres with vector DB none?", "y")
}

// TestInitAnswersCheckedWhereTyped: a wrong answer is refused at its question, the cursor stays
// there with the reason, and the corrected answer goes on: a port out of range, an empty host,
// a SQLite path whose folder cannot be created, a dimension of 0. A host on another machine
// preselects ssl_mode require and says what verify-full adds.
func TestInitAnswersCheckedWhereTyped(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init")
	toPostgresFields(s)
	s.step("How do you connect to PostgreSQL?", "\r")
	s.step("Host", keyCtrlU+"\r")
	s.waitFor("the empty host refused", func(sc string) bool {
		return strings.Contains(sc, "┃ Host") && strings.Contains(sc, "enter the host name or IP address")
	})
	s.press("db.example.invalid\r")
	s.step("Port", keyCtrlU+"99999\r")
	sc := s.waitFor("the port refused", func(sc string) bool {
		return strings.Contains(sc, "┃ Port") && strings.Contains(sc, "enter a port between 1 and 65535")
	})
	if strings.Contains(sc, "✓ Port") {
		t.Errorf("port 99999 was taken:\n%s", sc)
	}
	s.press(keyCtrlU + "6543\r")
	s.step("User", "\r")
	s.step("Database", "\r")
	sc = s.focus("SSL mode")
	if !strings.Contains(sc, "> require") || !strings.Contains(sc, "verify-full also checks the server's certificate") {
		t.Errorf("a remote host does not preselect require, or verify-full is not explained:\n%s", sc)
	}
	if !strings.Contains(sc, "✓ Port: 6543") {
		t.Errorf("the corrected port is not in the transcript:\n%s", sc)
	}
	s.press(keyCtrlC)
	s.wait()
	emptyDir(t, dir)

	dir = t.TempDir()
	s = startPTY(t, dir, bin, ptyOpts{}, "init")
	s.step("What is this setup for?", "\r")
	s.step("How many workflows run at once?", "\r")
	s.step("Do you need knowledge bases", "y")
	s.step("Can you run or reach a PostgreSQL server?", "n")
	s.step("For vector search, what do you already have?", "\r")
	s.step("Use sqlite with vector DB filesystem?", "y")
	s.step("SQLite database file", keyCtrlU+"/proc/x/compozy.db\r")
	s.waitFor("the path refused", func(sc string) bool {
		return strings.Contains(sc, "┃ SQLite database file") && strings.Contains(sc, "cannot create the folder /proc/x")
	})
	s.press(keyCtrlU + "./db/app.db\r")
	s.step("Vector store folder", "\r")
	s.step("Embedding dimension", keyCtrlU+"0\r")
	s.waitFor("dimension 0 refused", func(sc string) bool {
		return strings.Contains(sc, "┃ Embedding dimension") && strings.Contains(sc, "enter a whole number above 0")
	})
	s.press(keyCtrlU + "384\r")
	s.step("Write compozy.yaml?", "y")
	s.step("Run compozy migrate up and compozy doctor now?", "n")
	if code, sc := s.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, sc)
	}
	cfg := loads(t, dir, readFile(t, filepath.Join(dir, "compozy.yaml")))
	if cfg.Database.Path != filepath.Join(dir, "db/app.db") || cfg.Knowledge.VectorDBs[0].Dimension != 384 {
		t.Errorf("written: %+v %+v", cfg.Database, cfg.Knowledge)
	}
	// The folder was only probed: the path question created nothing.
	if _, err := os.Stat(filepath.Join(dir, "db")); err == nil {
		t.Errorf("the path check left ./db behind")
	}
}

// TestInitConnectionStringSecret: a connection string with a password, pasted across two lines,
// is taken whole; the password never shows (not while typed, not in the transcript), is not
// written, and the last screen names the variable to set, also after "Write anyway". "Change
// the answers" returns to the recommendation with every answer kept.
func TestInitConnectionStringSecret(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3tPw9"
	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init")
	toPostgresFields(s)
	s.step("How do you connect to PostgreSQL?", keyDown)
	s.waitFor("the connection string chosen", func(sc string) bool { return strings.Contains(sc, "> A connection string") })
	s.press("\r")
	s.focus("Connection string")
	s.press("postgres://compozy:" + secret[:5])
	s.waitFor("the password typed", func(sc string) bool { return strings.Contains(sc, "postgres://compozy:•••••") })
	s.press(keyCtrlU)
	s.waitFor("the field cleared", func(sc string) bool { return !strings.Contains(sc, "postgres://compozy:") })
	s.paste("postgres://compozy:" + secret + "@127.0.0.1:1/\ncompozy?sslmode=disable")
	s.waitFor("the pasted URL, masked", func(sc string) bool { return strings.Contains(sc, "compozy:•••••••••@127.0.0.1:1/") })
	s.press("\r")
	sc := s.focus("The connection test failed.")
	if !strings.Contains(sc, "✓ Connection string: postgres://compozy@127.0.0.1:1/compozy?sslmode=disable") {
		t.Errorf("the pasted URL was not taken whole:\n%s", sc)
	}

	// Change the answers: back at the recommendation, the connection string kept (without its
	// password, which is still used).
	s.press("\r")
	s.step("Use postgres with vector DB none?", "y")
	s.waitFor("the way to connect kept", func(sc string) bool {
		return strings.Contains(sc, "┃ How do you connect to PostgreSQL?") && strings.Contains(sc, "> A connection string")
	})
	s.press("\r")
	s.waitFor("the URL kept", func(sc string) bool {
		return strings.Contains(sc, "┃ Connection string") && strings.Contains(sc, "postgres://compozy@127.0.0.1:1/compozy?sslmode=disable")
	})
	s.press("\r")
	s.focus("The connection test failed.")
	s.press(keyDown)
	s.waitFor("write anyway", func(sc string) bool { return strings.Contains(sc, "> Write anyway") })
	s.press("\r")
	s.step("Write compozy.yaml?", "y")
	s.step("Run compozy migrate up and compozy doctor now?", "n")
	code, sc := s.wait()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, sc)
	}
	if !strings.Contains(sc, "(with COMPOZY_DB_PASSWORD set in the environment)") {
		t.Errorf("the last screen does not name the variable:\n%s", sc)
	}
	if strings.Contains(s.written(), secret) {
		t.Errorf("the password reached the terminal")
	}
	written := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if strings.Contains(written, secret) || !strings.Contains(written, `conn_string: "postgres://compozy@127.0.0.1:1/compozy?sslmode=disable"`) ||
		!strings.Contains(written, `password: "${COMPOZY_DB_PASSWORD}"`) {
		t.Errorf("compozy.yaml:\n%s", written)
	}
}

// TestInitScreenSizes: the form stays usable from 20x4 to 200x50 and across a live resize;
// without colour the chosen Yes/No is marked ([No]); at 60x15 the recommendation scrolls and
// shows key names as written (runtime.max_concurrent_workflows, not markdown).
func TestInitScreenSizes(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	for _, size := range [][2]int{{20, 4}, {60, 15}, {200, 50}} {
		s := startPTY(t, t.TempDir(), bin, ptyOpts{cols: size[0], rows: size[1]}, "init")
		s.focus("What is this")
		s.press(keyDown)
		s.waitFor(fmt.Sprintf("CI selected at %dx%d", size[0], size[1]), func(sc string) bool { return strings.Contains(sc, "> CI / testing") })
		s.press("\r")
		s.focus("How many")
		s.press(keyCtrlC)
		s.wait()
	}

	s := startPTY(t, t.TempDir(), bin, ptyOpts{cols: 20, rows: 4}, "init")
	s.step("What is this", "\r")
	s.focus("How many")
	s.resize(60, 15)
	s.waitFor("every band after the resize", func(sc string) bool {
		return strings.Contains(sc, "┃ How many workflows run at once?") && strings.Contains(sc, "100+")
	})
	s.press(strings.Repeat(keyDown, 3))
	s.waitFor("100+ selected", func(sc string) bool { return strings.Contains(sc, "> 100+") })
	s.press("\r")
	sc := s.focus("Do you need knowledge bases")
	if !strings.Contains(sc, "[No]") {
		t.Errorf("the chosen answer is not marked without colour:\n%s", sc)
	}
	s.press("n")
	s.step("Can you run or reach", "n")
	sc = s.focus("Use sqlite with vector DB none?")
	for _, want := range []string{"Recommendation", "Why:", "more lines (↑/↓ scroll)"} {
		if !strings.Contains(sc, want) {
			t.Errorf("60x15: the recommendation lacks %q:\n%s", want, sc)
		}
	}
	s.press(strings.Repeat(keyDown, 20))
	sc = s.waitFor("the end of the recommendation", func(sc string) bool {
		return strings.Contains(sc, "runtime.max_concurrent_workflows") && strings.Contains(sc, "knowledge bases will not work")
	})
	if strings.Contains(sc, "maxconcurrentworkflows") {
		t.Errorf("underscores read as markdown:\n%s", sc)
	}
	s.press(strings.Repeat(keyUp, 20))
	s.waitFor("the top again", func(sc string) bool { return strings.Contains(sc, "Matrix row:") })
	s.press(keyCtrlC)
	s.wait()
}

// TestInitAccessibleCtrlC: in accessible mode on a terminal, Ctrl-C at a prompt ends init at
// once with 130 (it used to be ignored, and the next Enter taken as an answer).
func TestInitAccessibleCtrlC(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init", "--accessible")
	s.waitFor("the first prompt", func(sc string) bool { return strings.Contains(sc, "Enter a number between 1 and 5") })
	s.press("\r")
	s.waitFor("the second prompt", func(sc string) bool { return strings.Contains(sc, "Enter a number between 1 and 4") })
	s.press(keyCtrlC)
	if code, sc := s.wait(); code != ExitAborted {
		t.Errorf("exit %d, want %d\n%s", code, ExitAborted, sc)
	}
	emptyDir(t, dir)
}

// TestInitFlagsChecked: flags are checked as the form checks answers, before anything else, and
// the error names the flag; a password in --db-conn-string is warned about once and not written;
// a host that is not local gets ssl_mode require with --yes.
func TestInitFlagsChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db-port", "99999"}, "--db-port: enter a port between 1 and 65535"},
		{[]string{"--db-path", "/proc/x/compozy.db"}, "--db-path: cannot create the folder /proc/x"},
		{[]string{"--dimension", "0"}, "--dimension: enter a whole number above 0"},
		{[]string{"--db-conn-string", "mysql://x@y/z"}, "--db-conn-string: enter a URL that starts with postgres://"},
		{[]string{"--vector-provider", "redis", "--vector-url", "http://x:6379"}, "--vector-url: enter a redis URL"},
		{[]string{"--db-ssl-mode", "required"}, "--db-ssl-mode: want one of disable, allow"},
		{[]string{"--db-user", ""}, "--db-user: enter the PostgreSQL user"},
	} {
		r := runCLI(t, dir, nil, append([]string{"init", "--use-case", "dev", "--yes"}, tc.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, r.code, tc.want, r.errOut)
		}
	}
	emptyDir(t, dir)

	for host, mode := range map[string]string{"db.example.invalid": "require", "localhost": "disable", "127.0.0.1": "disable"} {
		r := runCLI(t, dir, nil, "init", "--use-case", "production", "--vectors=false", "--db-host", host, "--yes", "--dry-run")
		if r.code != 0 || !strings.Contains(r.out, "ssl_mode: "+mode) {
			t.Errorf("--db-host %s: exit %d, want ssl_mode %s:\n%s%s", host, r.code, mode, r.out, r.errOut)
		}
	}

	dsn := testenv.PostgresDB(t)
	host, port, user, name := pgParts(t, dsn)
	const secret = "Fl4gSecret"
	url := fmt.Sprintf("postgres://%s:%s@%s:%s/%s?sslmode=disable", user, secret, host, port, name)
	r := runCLI(t, dir, nil, "init", "--use-case", "production", "--vectors=false", "--db-conn-string", url, "--yes")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	const warning = "warning: flag --db-conn-string: a password on the command line is visible to other users (ps) and kept in shell history"
	if n := strings.Count(r.errOut, warning); n != 1 {
		t.Errorf("the warning appears %d times:\n%s", n, r.errOut)
	}
	written := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if strings.Contains(written+r.out+r.errOut, secret) || !strings.Contains(written, `password: "${COMPOZY_DB_PASSWORD}"`) ||
		!strings.Contains(r.out, "(with COMPOZY_DB_PASSWORD set in the environment)") {
		t.Errorf("the password was written or shown, or the variable not named:\n%s\n%s%s", written, r.out, r.errOut)
	}
}

// TestInitExistingFileThatDoesNotLoad: a compozy.yaml that does not load is reported before
// the first question. When the fault is in what init replaces, init says so and goes on; when
// it is in what init keeps, it stops there (exit 2), before any answer could be lost.
func TestInitExistingFileThatDoesNotLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "compozy.yaml")
	writeFile(t, path, "database:\n  driver: sqlite\n  pth: ./x.db\n")
	// update yes, dev, 1-10, no vectors, no server, accept, path; write; do not run.
	r := runCLIWith(t, dir, cliIn{stdin: "y\n1\n1\nn\nn\ny\n\ny\nn\n"}, "init", "--accessible")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	note, first := strings.Index(r.out, "compozy.yaml does not load as it is"), strings.Index(r.out, "What is this setup for?")
	if note < 0 || note > first {
		t.Errorf("the broken file is not reported before the first question:\n%s", r.out)
	}
	loads(t, dir, readFile(t, path))

	writeFile(t, path, "database:\n  driver: sqlite\n  path: ./x.db\nruntime:\n  max_concurrent_workflows: lots\n")
	r = runCLIWith(t, dir, cliIn{stdin: "y\n1\n1\nn\nn\ny\n\ny\nn\n"}, "init", "--accessible")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "compozy.yaml does not load") || strings.Contains(r.out, "What is this setup for?") {
		t.Errorf("exit %d, want 2 before any question:\n%s%s", r.code, r.out, r.errOut)
	}
}

// TestInitAccessibleSecret: in accessible mode a connection string's password is taken out of
// the file and never printed; the end names the variable.
func TestInitAccessibleSecret(t *testing.T) {
	t.Parallel()
	const secret = "Acc3ssPw"
	dir := t.TempDir()
	// production, 1-10, no vectors, server, accept, a connection string; write anyway; write; do not run.
	r := runCLIWith(t, dir, cliIn{stdin: "5\n1\nn\ny\ny\n2\npostgres://compozy:" + secret + "@127.0.0.1:1/compozy\n2\ny\nn\n"}, "init", "--accessible")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	written := readFile(t, filepath.Join(dir, "compozy.yaml"))
	if strings.Contains(written+r.out+r.errOut, secret) || !strings.Contains(r.out, "(with COMPOZY_DB_PASSWORD set in the environment)") {
		t.Errorf("the password was shown or written, or the variable not named:\n%s\n%s", written, r.out)
	}
}

// TestInitCtrlCDuringTest: Ctrl-C while the connection test waits for a server that does not
// answer ends init at once (130), and nothing is written.
func TestInitCtrlCDuringTest(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	// A server that accepts connections and never says a word.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dir := t.TempDir()
	s := startPTY(t, dir, bin, ptyOpts{}, "init", "--db-driver", "postgres", "--db-host", "127.0.0.1", "--db-port", port, "--vector-provider", "none")
	s.waitFor("the connection test", func(sc string) bool { return strings.Contains(sc, "Testing the connections…") })
	start := time.Now()
	s.press(keyCtrlC)
	code, sc := s.wait()
	t.Logf("ended %v after Ctrl-C", time.Since(start).Round(time.Millisecond))
	if code != ExitAborted {
		t.Errorf("exit %d, want %d\n%s", code, ExitAborted, sc)
	}
	emptyDir(t, dir)
}

// TestInitAccessiblePasswordStdin: with --db-password-stdin the password is the first line of
// standard input and the answers follow it: reading the password takes nothing more.
func TestInitAccessiblePasswordStdin(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	host, port, user, name := pgParts(t, dsn)
	dir := t.TempDir()
	// production, 1-10, no vectors, server, accept; host/port/user/database, SSL disable; write; do not run.
	answers := "S3cretLine\n5\n1\nn\ny\ny\n1\n" + host + "\n" + port + "\n" + user + "\n" + name + "\n1\ny\nn\n"
	r := runCLIWith(t, dir, cliIn{stdin: answers}, "init", "--accessible", "--db-password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if strings.Contains(r.out, "Password: not asked here") || strings.Contains(r.out+r.errOut, "S3cretLine") {
		t.Errorf("the password was asked for or shown:\n%s", r.out)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "compozy.yaml")), `password: "${COMPOZY_DB_PASSWORD}"`) {
		t.Errorf("no password reference written")
	}
}

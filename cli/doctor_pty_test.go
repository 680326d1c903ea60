package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
)

// TestDoctorPane drives the real binary on a terminal: the checks settle with the cursor on the
// warning, Enter expands its detail and fix, r re-runs, f offers the fix, q quits with the
// run's exit code and leaves the plain report in the terminal.
func TestDoctorPane(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o644) // sqlite.permissions warns, and --fix can repair it

	s := startPTY(t, dir, bin, ptyOpts{}, "doctor")
	settled := func(sc string) bool {
		return strings.Contains(sc, "passed") && strings.Contains(sc, "1 warning") && !strings.Contains(sc, "checking…")
	}
	sc := s.waitFor("the checks to settle", settled)
	for _, want := range []string{"compozy doctor  Target: sqlite " + db, "Configuration", "SQLite", "✓ config.file", "! sqlite.permissions",
		"↑/k up · ↓/j down · pgdn page down · g top · G end · enter details · r re-run · f fix · q quit"} {
		if !strings.Contains(sc, want) {
			t.Errorf("screen lacks %q:\n%s", want, sc)
		}
	}
	if !strings.Contains(sc, "> ! sqlite.permissions") {
		t.Errorf("the cursor does not start on the warning:\n%s", sc)
	}
	// Up to the top and back down with the arrow key.
	s.press("g")
	s.waitFor("the cursor on the first check", func(sc string) bool { return strings.Contains(sc, "> ✓ config.file") })
	rows := 0
	for _, l := range strings.Split(sc, "\n") {
		if strings.Contains(l, "sqlite.permissions") {
			break
		}
		if t := strings.TrimLeft(l, "> "); strings.HasPrefix(t, "✓") || strings.HasPrefix(t, "!") {
			rows++
		}
	}
	for range rows - 1 {
		s.press("j")
	}
	s.press("\x1b[B") // the last move with the arrow key
	s.waitFor("the cursor on sqlite.permissions", func(sc string) bool { return strings.Contains(sc, "> ! sqlite.permissions") })
	s.press("\r")
	s.waitFor("the expanded fix", func(sc string) bool {
		return strings.Contains(sc, "Fix: make the database private") && strings.Contains(sc, "$ chmod 600 "+db)
	})
	s.press("r")
	s.waitFor("the re-run to settle", func(sc string) bool {
		return strings.Contains(sc, " · run 2") && settled(sc) && strings.Contains(sc, "$ chmod 600")
	})
	s.press("f")
	s.waitFor("the fix prompt", func(sc string) bool { return strings.Contains(sc, "Apply fix for sqlite.permissions: chmod 600 "+db) })
	s.press("y")
	s.waitFor("the fix applied and checked again", func(sc string) bool {
		return strings.Contains(sc, " · run 3") && strings.Contains(sc, "fixed sqlite.permissions") &&
			strings.Contains(sc, "✓ sqlite.permissions") && strings.Contains(sc, "No problems found.")
	})
	s.press("q")
	if code := s.exit(); code != 0 {
		t.Errorf("exit %d", code)
	}
	sc = s.screen()
	if !strings.Contains(sc, "✓ PASS  sqlite.permissions") {
		t.Errorf("the plain report is not left on the terminal:\n%s", sc)
	}

	// Ctrl-C leaves at once with 130; q and Esc on a failing run exit 1, the cursor on the failure.
	writeFile(t, db, "garbage")
	for _, tc := range []struct {
		key  string
		code int
	}{{"\x03", 130}, {"q", 1}, {"\x1b", 1}} {
		s := startPTY(t, dir, bin, ptyOpts{}, "doctor")
		sc := s.waitFor("the checks to settle", func(sc string) bool { return strings.Contains(sc, "Problems found.") })
		if !strings.Contains(sc, "> ✗ sqlite.file") {
			t.Errorf("the cursor does not start on the failure:\n%s", sc)
		}
		s.press(tc.key)
		if got := s.exit(); got != tc.code {
			t.Errorf("key %q: exit %d, want %d", tc.key, got, tc.code)
		}
	}
}

// TestDoctorPaneSilentTerminal: on a terminal that never answers a query the pane asks it
// nothing, colour on or off (NO_COLOR, --no-color), so it draws at once; a key typed before the
// first screen reaches it.
func TestDoctorPaneSilentTerminal(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o600)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"colour", []string{"NO_COLOR=", "COLORTERM=truecolor"}, nil},
		{"NO_COLOR", nil, nil},
		{"--no-color", []string{"NO_COLOR="}, []string{"--no-color"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startPTY(t, dir, bin, ptyOpts{silent: true, env: tc.env}, append([]string{"doctor"}, tc.args...)...)
			s.waitFor("the settled pane", func(sc string) bool {
				return strings.Contains(sc, "No problems found.") && strings.Contains(sc, "q quit")
			})
			s.press("q")
			if code := s.exit(); code != 0 {
				t.Errorf("exit %d", code)
			}
			if q := s.queries(); len(q) > 0 {
				t.Errorf("the doctor asked a silent terminal %v", q)
			}

			// q typed at once, before the program is up, is not lost: the pane quits.
			s = startPTY(t, dir, bin, ptyOpts{silent: true, env: tc.env}, append([]string{"doctor"}, tc.args...)...)
			s.press("q")
			code := s.ended("the pane to quit on the q typed ahead")
			if w := s.written(); !strings.Contains(w, "\x1b[?1049h") || code != 0 && code != 1 {
				t.Errorf("exit %d; the pane did not start, or q did not end it:\n%s", code, s.screen())
			}
			if q := s.queries(); len(q) > 0 {
				t.Errorf("the doctor asked a silent terminal %v", q)
			}
		})
	}
}

// TestDoctorPlainWithoutCursorAddressing: TERM=dumb, and a terminal whose terminfo entry cannot
// move the cursor, get the plain report instead of the full-screen pane, and nothing is asked
// of the terminal.
func TestDoctorPlainWithoutCursorAddressing(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o600)
	tinfo := t.TempDir()
	src := filepath.Join(tinfo, "nocup.src")
	writeFile(t, src, "nocup|a terminal without cursor addressing,\n\tam,\n\tcols#80,\n\tbel=^G, cr=\\r, cud1=\\n, ind=\\n,\n")
	if out, err := exec.Command("tic", "-o", tinfo, src).CombinedOutput(); err != nil {
		t.Fatalf("tic (ncurses-bin): %v\n%s", err, out)
	}
	for _, env := range [][]string{{"TERM=dumb"}, {"TERM=dumb", "NO_COLOR="}, {"TERM=nocup", "TERMINFO=" + tinfo}} {
		s := startPTY(t, dir, bin, ptyOpts{silent: true, env: env}, "doctor")
		code := s.ended("the plain report")
		sc, w := s.screen(), s.written()
		if code != 0 || !strings.Contains(sc, "✓ PASS  config.file") || !strings.Contains(sc, "No problems found.") {
			t.Errorf("%v: exit %d, screen:\n%s", env, code, sc)
		}
		if strings.Contains(w, "\x1b[?1049h") || strings.Contains(w, "\x1b[") {
			t.Errorf("%v: escape sequences in the plain report: %q", env, w)
		}
		if q := s.queries(); len(q) > 0 {
			t.Errorf("%v: the doctor asked the terminal %v", env, q)
		}
	}
}

// TestDoctorPaneSizes: at 60x15, 20x4 and 200x50, and after a live resize, the pane fits the
// terminal: the title stays on the first line (nothing scrolled off), the keys line is whole on
// the last, and the check column shrinks at 60 columns.
func TestDoctorPaneSizes(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	chmod(t, db, 0o600)
	lines := func(sc string) []string { return strings.Split(sc, "\n") }
	settled := func(sc string) bool { return strings.Contains(sc, "No problems found") }
	for _, tc := range []struct {
		cols, rows int
		title      string // the start of the first line
		help       string // the last line
		also       []string
	}{
		{60, 15, "compozy doctor  Target: sqlite", "↑↓ move · enter details · r re-run · f fix · q quit", []string{"vector.filesystem.fo…", "> ✓ vector.metric [main]"}},
		{20, 4, "compozy doctor  Tar…", "enter · q quit", []string{"> ✓ vector.…"}},
		{200, 50, "compozy doctor  Target: sqlite " + db, "↑/k up · ↓/j down · pgdn page down · g top · G end · enter details · r re-run · f fix · q quit",
			[]string{"vector.filesystem.folder [main]", "> ✓ vector.metric [main]", "No problems found."}},
	} {
		s := startPTY(t, dir, bin, ptyOpts{cols: tc.cols, rows: tc.rows}, "doctor")
		sc := s.waitFor(fmt.Sprintf("the settled pane at %dx%d", tc.cols, tc.rows), func(sc string) bool {
			l := lines(sc)
			return settled(sc) && strings.HasPrefix(l[0], tc.title) && strings.TrimSpace(l[len(l)-1]) == tc.help
		})
		if !strings.Contains(sc, "> ✓ config.") {
			t.Errorf("%dx%d: the cursor is not on the first check:\n%s", tc.cols, tc.rows, sc)
		}
		// The details of the first check fit too; G goes to the last check.
		s.press("\r")
		s.press("G")
		sc = s.waitFor("the last check selected", func(sc string) bool {
			l := lines(sc)
			return strings.Contains(sc, "> ✓ vector.") && !strings.Contains(sc, "> ✓ config.") && strings.HasPrefix(l[0], tc.title) && strings.TrimSpace(l[len(l)-1]) == tc.help
		})
		for _, want := range tc.also {
			if !strings.Contains(sc, want) {
				t.Errorf("%dx%d: screen lacks %q:\n%s", tc.cols, tc.rows, want, sc)
			}
		}
		if tc.cols == 200 {
			// Shrink the window while the pane runs.
			s.resize(60, 15)
			s.waitFor("the pane laid out again at 60x15", func(sc string) bool {
				l := lines(sc)
				return len(l) <= 15 && strings.HasPrefix(l[0], "compozy doctor  Target: sqlite") &&
					strings.TrimSpace(l[len(l)-1]) == "↑↓ move · enter details · r re-run · f fix · q quit" &&
					strings.Contains(sc, "vector.filesystem.fo…")
			})
		}
		s.press("q")
		if code := s.exit(); code != 0 {
			t.Errorf("%dx%d: exit %d", tc.cols, tc.rows, code)
		}
	}
}

// TestDoctorNothingConfigured: with no compozy.yaml and no database setting from the
// environment or a flag, the doctor probes nothing (not postgres://postgres@localhost): it says
// nothing is configured and how to start, and exits 2. One setting is enough to check it.
func TestDoctorNothingConfigured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{{"doctor"}, {"doctor", "--json"}} {
		r := runCLI(t, dir, nil, args...)
		if r.code != ExitUsage || r.out != "" || !strings.Contains(r.errOut, "Nothing is configured: there is no compozy.yaml in "+dir) ||
			!strings.Contains(r.errOut, "compozy quickstart") || !strings.Contains(r.errOut, "compozy init") || strings.Contains(r.errOut, "localhost") {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.errOut)
		}
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{[]string{"COMPOZY_DB_DRIVER=sqlite", "COMPOZY_DB_PATH=" + filepath.Join(dir, "x.db")}, nil},
		{[]string{"DB_HOST=127.0.0.1"}, nil},
		{nil, []string{"--db-driver", "sqlite", "--db-path", filepath.Join(dir, "x.db")}},
	} {
		r := runCLI(t, dir, tc.env, append([]string{"doctor", "--json", "--only", "config"}, tc.args...)...)
		if strings.Contains(r.errOut, "Nothing is configured") || !strings.Contains(r.out, `"schema_version"`) {
			t.Errorf("%v %v: exit %d\nstdout:\n%s\nstderr:\n%s", tc.env, tc.args, r.code, r.out, r.errOut)
		}
	}
}

// TestDoctorAfterInit: right after compozy init --yes for SQLite, nothing was migrated: the
// missing folder and file are what compozy migrate up creates (a warning and the next step), not
// failures. A missing file whose folder holds its -wal, or another SQLite database, fails.
func TestDoctorAfterInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := runCLI(t, dir, nil, "init", "--use-case", "dev", "--db-driver", "sqlite", "--vector-provider", "filesystem", "--yes"); r.code != 0 {
		t.Fatalf("init: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	db := filepath.Join(dir, "data", "compozy.db")
	r := runCLI(t, dir, nil, "doctor", "--json")
	d := parseDoctor(t, r)
	expectCheck(t, d, doctor.IDSQLiteFolder, doctor.StatusWarn, "does not exist yet: compozy migrate up creates it")
	file := expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusSkip, "does not exist yet: compozy migrate up creates it")
	if strings.Join(file.Fix.Commands, " ") != "compozy migrate up" {
		t.Errorf("sqlite.file names no next step: %+v", file.Fix)
	}
	for _, c := range d.Checks {
		if c.Status == doctor.StatusFail || c.Status == doctor.StatusError {
			t.Errorf("%s: %s: %s", c.ID, c.Status, c.Summary)
		}
	}
	if r.code != 0 {
		t.Errorf("exit %d", r.code)
	}
	r = runCLI(t, dir, nil, "doctor")
	if !strings.Contains(r.out, "- SKIP  sqlite.file") || !strings.Contains(r.out, "$ compozy migrate up") {
		t.Errorf("the plain report does not show the next step:\n%s", r.out)
	}

	// The folder exists and is empty: the same next step, and the verdict says so.
	if err := os.MkdirAll(filepath.Dir(db), 0o750); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, dir, nil, "doctor", "--only", "sqlite")
	if r.code != 0 || !strings.Contains(r.out, "not set up yet: see the next step") {
		t.Errorf("exit %d:\n%s", r.code, r.out)
	}
	// Its -wal, or another database, says a database was there.
	writeFile(t, db+"-wal", "x")
	expectCheck(t, parseDoctor(t, runCLI(t, dir, nil, "doctor", "--json")), doctor.IDSQLiteFile, doctor.StatusFail, "does not exist, but its folder holds compozy.db-wal")
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	newSQLiteDB(t, filepath.Join(dir, "data", "old.db"), "WAL", 0)
	expectCheck(t, parseDoctor(t, runCLI(t, dir, nil, "doctor", "--json")), doctor.IDSQLiteFile, doctor.StatusFail, `another SQLite database \(old.db\)`)

	// migrate up creates them, and the doctor passes.
	if err := os.Remove(filepath.Join(dir, "data", "old.db")); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dir, nil, "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	d = parseDoctor(t, runCLI(t, dir, nil, "doctor", "--json", "--only", "sqlite,migrations"))
	expectCheck(t, d, doctor.IDSQLiteFolder, doctor.StatusPass, "")
	expectCheck(t, d, doctor.IDSQLiteFile, doctor.StatusPass, "")
}

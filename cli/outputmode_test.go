package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// outputMode is one row of the output-mode table: a command line, what a terminal gets from it,
// and what a pipe gets.
type outputMode struct {
	name string
	args []string
	// env is added to both runs (PAGER=cat, so that docs does not wait in less).
	env []string
	// before runs before each of the two runs (a fresh target for db copy).
	before func(t *testing.T)
	// fresh runs each run in a new empty folder instead of the configured one (quickstart).
	fresh bool
	// ready and keys: on the terminal, once the screen shows ready, keys are pressed (the
	// doctor pane waits for q).
	ready, keys string
	// terminal is what the terminal must get; none (nil) means exactly what the pipe gets:
	// the same text, and no escape code and no carriage return.
	terminal []ttyWant
	// absent is what the terminal must not get (colour under NO_COLOR).
	absent []ttyWant
	// plain is text the pipe's standard output holds.
	plain string
	// pipedCode and pipedErr: the pipe's exit code, and text its standard error holds (a
	// command that asks on a terminal refuses without one).
	pipedCode int
	pipedErr  string
	// json: the command prints a JSON document, which must be the same on a terminal and in
	// a pipe (measured figures aside). The terminal run is in-process (every stream a
	// terminal, term.Test with SetTTY), so that standard output is read apart from standard
	// error, where a terminal may get progress.
	json bool
}

// ttyWant is one thing a terminal gets: a pattern the bytes written to it match.
type ttyWant struct {
	what string
	re   *regexp.Regexp
}

var (
	// Terminal output: the doctor's pane takes the alternate screen and shows each check's
	// spinner; colour is SGR with a foreground colour; progress redraws one line with \r and
	// erase-line.
	wantPane     = ttyWant{"the live pane (alternate screen, a check in progress)", regexp.MustCompile(`(?s)\x1b\[\?1049h.*checking…`)}
	wantColour   = ttyWant{"colour (SGR foreground)", regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|38;[25];[0-9;]+)m`)}
	wantProgress = ttyWant{"a progress line redrawn in place", regexp.MustCompile(`\r\x1b\[K[^\r\n]*\d`)}
	// anyEscape is any escape sequence; a pipe gets none.
	anyEscape = regexp.MustCompile(`\x1b`)
)

func wantText(s string) ttyWant {
	return ttyWant{"the text " + strings.TrimSpace(s), regexp.MustCompile(regexp.QuoteMeta(s))}
}

// TestOutputModes is gh's tty table for every command's output: each command runs twice
// through the real binary, once on a pseudo-terminal (TERM=xterm-256color, NO_COLOR=1 unless
// the row turns colour on) and once with standard output and error piped and standard input
// /dev/null. A terminal gets the pane, colour and progress where the command has them, and
// otherwise exactly what a pipe gets; a pipe never gets an escape code, a carriage return or a
// progress line; --json prints the same document either way.
func TestOutputModes(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	copyTo := filepath.Join(t.TempDir(), "copy.db")
	backupTo := filepath.Join(t.TempDir(), "backup.db")
	freshCopy := func(t *testing.T) {
		for _, sfx := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(copyTo + sfx); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	freshBackup := func(t *testing.T) {
		if err := os.Remove(backupTo); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	bench := []string{"db", "bench", "--workflows", "1", "--duration", "300ms", "--warmup", "0s", "--variants", "configured"}
	rows := []outputMode{
		{name: "doctor", args: []string{"doctor"}, ready: "No problems found", keys: "q",
			terminal: []ttyWant{wantPane, wantText("No problems found.")}, absent: []ttyWant{wantColour}, plain: "✓ PASS  sqlite.journal_mode"},
		{name: "doctor, colour on", args: []string{"doctor"}, env: []string{"NO_COLOR="}, ready: "No problems found", keys: "q",
			terminal: []ttyWant{wantPane, wantColour}, plain: "No problems found."},
		{name: "doctor --json", args: []string{"doctor", "--json"}, json: true},
		{name: "doctor list", args: []string{"doctor", "list"}, plain: "sqlite.busy_timeout"},
		{name: "doctor list --json", args: []string{"doctor", "list", "--json"}, json: true},
		{name: "doctor explain", args: []string{"doctor", "explain", "sqlite.lock"}, plain: "compozy docs"},
		{name: "docs, colour on", args: []string{"docs", "database/sqlite"}, env: []string{"PAGER=cat", "NO_COLOR="},
			terminal: []ttyWant{wantColour}, plain: "# SQLite"},
		{name: "docs, NO_COLOR", args: []string{"docs", "database/sqlite"}, env: []string{"PAGER=cat"},
			terminal: []ttyWant{{"the page rendered (indented)", regexp.MustCompile(`(?m)^  # SQLite +\r$`)}},
			absent:   []ttyWant{{"an escape code", anyEscape}}, plain: "# SQLite"},
		{name: "docs list", args: []string{"docs"}, plain: "database/sqlite"},
		{name: "quickstart", args: []string{"quickstart"}, fresh: true, plain: "compozy doctor"},
		{name: "migrate up", args: []string{"migrate", "up"}},
		{name: "migrate status", args: []string{"migrate", "status"}, plain: "up to date"},
		{name: "migrate status --json", args: []string{"migrate", "status", "--json"}, json: true},
		{name: "migrate version", args: []string{"migrate", "version"}},
		{name: "migrate diff", args: []string{"migrate", "diff"}, plain: "No drift"},
		{name: "migrate diff --json", args: []string{"migrate", "diff", "--json"}, json: true},
		{name: "config show", args: []string{"config", "show"}, plain: "database.busy_timeout"},
		{name: "config show --json", args: []string{"config", "show", "--json"}, json: true},
		{name: "config validate", args: []string{"config", "validate"}},
		{name: "config validate --json", args: []string{"config", "validate", "--json"}, json: true},
		{name: "config schema", args: []string{"config", "schema"}, json: true},
		{name: "init --yes --dry-run", args: []string{"init", "--use-case", "dev", "--yes", "--dry-run"}, plain: "driver: sqlite"},
		{name: "db bench", args: bench, terminal: []ttyWant{wantProgress, wantText("Verdict:")}, plain: "Verdict:"},
		{name: "db bench --json", args: append(bench[:len(bench):len(bench)], "--json"), json: true},
		{name: "db copy --yes", args: []string{"db", "copy", "--to", copyTo, "--yes"}, before: freshCopy,
			terminal: []ttyWant{wantProgress}, plain: "verified"},
		{name: "db copy asks", args: []string{"db", "copy", "--to", copyTo}, before: freshCopy, ready: "Copy every Compozy table", keys: "y\r",
			terminal:  []ttyWant{wantText("Copy every Compozy table from the source into the target?"), wantProgress},
			pipedCode: ExitUsage, pipedErr: "pass --yes to confirm (there is no terminal to ask on)"},
		{name: "db copy --yes --json", args: []string{"db", "copy", "--to", copyTo, "--yes", "--json"}, before: freshCopy, json: true},
		{name: "db backup --json", args: []string{"db", "backup", "--to", backupTo, "--json"}, before: freshBackup, json: true},
		{name: "--version", args: []string{"--version"}, plain: "compozy"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.before != nil {
				row.before(t)
			}
			runDir := func() string {
				if row.fresh {
					return t.TempDir()
				}
				return dir
			}
			piped := binRun(t, bin, runDir(), row.env, row.args...)
			if piped.code != row.pipedCode || !strings.Contains(piped.errOut, row.pipedErr) {
				t.Fatalf("piped: exit %d, want %d with %q\n%s%s", piped.code, row.pipedCode, row.pipedErr, piped.out, piped.errOut)
			}
			both := piped.out + piped.errOut
			if anyEscape.MatchString(both) || strings.Contains(both, "\r") {
				t.Errorf("a pipe got an escape code or a carriage return:\n%q", both)
			}
			if row.plain != "" && !strings.Contains(piped.out, row.plain) {
				t.Errorf("piped standard output has no %q:\n%s", row.plain, piped.out)
			}

			if row.before != nil {
				row.before(t)
			}
			if row.json {
				tty := runCLIWith(t, runDir(), cliIn{env: row.env, stdinTTY: true, stdoutTTY: true, stderrTTY: true}, row.args...)
				if tty.code != 0 {
					t.Fatalf("terminal: exit %d\n%s%s", tty.code, tty.out, tty.errOut)
				}
				if got, want := jsonShape(t, "terminal", tty.out), jsonShape(t, "pipe", piped.out); got != want {
					t.Errorf("--json differs on a terminal:\n%s\npiped:\n%s", got, want)
				}
				return
			}
			s := startPTY(t, runDir(), bin, ptyOpts{env: row.env}, row.args...)
			if row.ready != "" {
				s.waitFor(row.ready, func(sc string) bool { return strings.Contains(sc, row.ready) })
				s.press(row.keys)
			}
			if code := s.ended(row.name); code != 0 {
				t.Fatalf("terminal: exit %d\n%s", code, s.screen())
			}
			raw := s.written()
			if row.terminal == nil {
				text := strings.ReplaceAll(raw, "\r\n", "\n") // the terminal's line discipline adds the \r
				if anyEscape.MatchString(text) || strings.Contains(text, "\r") {
					t.Errorf("a terminal got an escape code or a carriage return from a plain command:\n%q", text)
				}
				// The same lines (standard error and output interleave on a terminal).
				if got, want := lines(text), lines(both); got != want {
					t.Errorf("a terminal got other text than a pipe:\n%s\npiped:\n%s", got, want)
				}
				return
			}
			for _, w := range row.terminal {
				if !w.re.MatchString(raw) {
					t.Errorf("the terminal did not get %s:\n%q", w.what, raw)
				}
			}
			for _, w := range row.absent {
				if w.re.MatchString(raw) {
					t.Errorf("the terminal got %s:\n%q", w.what, raw)
				}
			}
		})
	}
}

// lines is s's lines, sorted, with every figure replaced by N.
func lines(s string) string {
	l := strings.Split(strings.TrimRight(figures(s), "\n"), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}

// digits are the measured figures of an output: sizes, durations, rates, times.
var digits = regexp.MustCompile(`\d+(\.\d+)?`)

// figures is s with every number replaced by N: two runs of a command differ in what they
// measure, not in what they say.
func figures(s string) string { return digits.ReplaceAllString(s, "N") }

// jsonShape is the JSON document in s, indented, every number and figure replaced by N.
func jsonShape(t *testing.T, where, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: not one JSON document: %v\n%q", where, err, s)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return figures(string(b))
}

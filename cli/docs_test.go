package cli

import (
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/docs"
	"compozy.dev/setup/doctor"
)

func TestDocsListsPagesInSidebarOrder(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "docs")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	last := -1
	for _, p := range docs.Pages() {
		i := strings.Index(r.out, "  "+p.Name+" ")
		if i < 0 || i < last {
			t.Fatalf("%s missing or out of sidebar order:\n%s", p.Name, r.out)
		}
		last = i
	}
}

func TestDocsPagePipedIsMarkdown(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "docs", "sqlite")
	if r.code != 0 || !strings.HasPrefix(r.out, "# SQLite\n") {
		t.Fatalf("exit %d, out starts %.40q", r.code, r.out)
	}
	if strings.Contains(r.out, "<!--") || strings.Contains(r.out, "\x1b") {
		t.Error("piped page holds markers or escape codes")
	}
	r = runCLI(t, t.TempDir(), nil, "docs", "troubleshooting/database#sqlitelock")
	if r.code != 0 || !strings.HasPrefix(r.out, "#### `sqlite.lock`") || strings.Contains(r.out, "sqlite.integrity") {
		t.Errorf("section: exit %d:\n%s", r.code, r.out)
	}
}

// TestDocsRendersOnTerminalWithoutColour: without colour no escape code and no ** or *
// marker; links name the command that shows their target; a Mermaid diagram is a short note.
func TestDocsRendersOnTerminalWithoutColour(t *testing.T) {
	t.Parallel()
	r := runCLIWith(t, t.TempDir(), cliIn{env: []string{"PAGER=cat", "NO_COLOR=1", "TERM=xterm-256color"}, stdoutTTY: true}, "docs", "database/overview")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	if strings.Contains(r.out, "\x1b[") || strings.Contains(r.out, "<!--") || !strings.Contains(r.out, "Decision matrix") {
		t.Errorf("rendered page:\n%.600s", r.out)
	}
	for _, bad := range []string{"**", "*misconfigured*", "```mermaid", "flowchart TD", "](sqlite.md", "docs/database/sqlite.md#"} {
		if strings.Contains(r.out, bad) {
			t.Errorf("the page shows %q:\n%s", bad, r.out)
		}
	}
	for _, want := range []string{"SQLite (`compozy docs database/sqlite#concurrency`)", "[A Mermaid flowchart is not drawn in a terminal",
		"PostgreSQL (`driver: postgres`, the default)"} {
		if !strings.Contains(strings.Join(strings.Fields(r.out), " "), want) {
			t.Errorf("the page lacks %q:\n%s", want, r.out)
		}
	}
}

// TestDocsUnknownPageSuggests: a page name with a typo suggests the nearest page.
func TestDocsUnknownPageSuggests(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{"sqllite": "did you mean database/sqlite? Run: compozy docs database/sqlite",
		"postgress#backup": "did you mean database/postgresql? Run: compozy docs database/postgresql#backup",
		"xyzzy":            "run 'compozy docs' for the list, or 'compozy docs search xyzzy'"} {
		r := runCLI(t, t.TempDir(), nil, "docs", q)
		if r.code != ExitUsage || !strings.Contains(r.errOut, want) {
			t.Errorf("%s: exit %d: %s", q, r.code, r.errOut)
		}
	}
}

// TestDocsSilentTerminal runs compozy docs through less on a terminal that never answers a
// query: the first screen of the page shows and q leaves, with colour or without; without colour
// (NO_COLOR, --no-color, TERM=dumb) nothing is asked of the terminal at all. Under TERM=dumb
// there is no pager (less would warn and wait for Enter): the page is printed.
func TestDocsSilentTerminal(t *testing.T) {
	t.Parallel()
	bin := buildCompozy(t)
	dir := t.TempDir()
	pager := []string{"PAGER=", "LESS=", "LESSOPEN=", "LESSCLOSE="}
	for _, tc := range []struct {
		name  string
		env   []string
		args  []string
		quiet bool // must ask the terminal nothing
	}{
		{"NO_COLOR", nil, nil, true},
		{"--no-color", []string{"NO_COLOR="}, []string{"--no-color"}, true},
		{"colour", []string{"NO_COLOR=", "COLORTERM=truecolor"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startPTY(t, dir, bin, ptyOpts{cols: 60, rows: 15, silent: true, env: append(append([]string(nil), pager...), tc.env...)}, append([]string{"docs", "database/sqlite"}, tc.args...)...)
			s.waitFor("the first screen of the page in less", func(sc string) bool {
				l := strings.Split(sc, "\n")
				return strings.Contains(sc, "SQLite") && strings.HasPrefix(strings.TrimSpace(l[len(l)-1]), ":")
			})
			s.press("q")
			if code := s.ended("less to quit"); code != 0 {
				t.Errorf("exit %d", code)
			}
			if q := s.queries(); tc.quiet && len(q) > 0 {
				t.Errorf("compozy docs asked the terminal %v", q)
			}
		})
	}
	t.Run("TERM=dumb", func(t *testing.T) {
		s := startPTY(t, dir, bin, ptyOpts{cols: 60, rows: 15, silent: true, env: append(pager, "TERM=dumb", "NO_COLOR=")}, "docs", "database/sqlite")
		if code := s.ended("the page printed without a pager"); code != 0 {
			t.Errorf("exit %d", code)
		}
		w := s.written()
		if strings.Contains(w, "WARNING") || strings.Contains(w, "not fully functional") || !strings.Contains(w, "SQLite") {
			t.Errorf("output:\n%s", w)
		}
		if q := s.queries(); len(q) > 0 || strings.Contains(w, "\x1b[") {
			t.Errorf("compozy docs under TERM=dumb wrote escape codes or asked %v", q)
		}
	})
}

func TestDocStyle(t *testing.T) {
	t.Parallel()
	if docStyle(false, true) != "notty" || docStyle(true, true) != "dark" || docStyle(true, false) != "light" {
		t.Error("docStyle picks the wrong style")
	}
}

func TestDocsUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"docs", "no-such-page"}, {"docs", "a", "b"}, {"docs", "search"}, {"docs", "sqlite#no-such-section"}} {
		if r := runCLI(t, t.TempDir(), nil, args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, r.code, ExitUsage)
		}
	}
}

func TestDocsSearchRanksSQLitePageFirst(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "docs", "search", "sqlite")
	if r.code != 0 || !strings.HasPrefix(r.out, "database/sqlite ") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	if r := runCLI(t, t.TempDir(), nil, "docs", "search", "nosuchwordanywhere"); r.code != 0 || !strings.Contains(r.out, "No page mentions") {
		t.Errorf("no match: exit %d: %s", r.code, r.out)
	}
}

// TestDoctorExplainEndsWithDocsSection: every check's explanation ends with the page and
// section that covers it, and that section exists.
func TestDoctorExplainEndsWithDocsSection(t *testing.T) {
	t.Parallel()
	for _, in := range doctor.Registry() {
		r := runCLI(t, t.TempDir(), nil, "doctor", "explain", in.ID)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		last := strings.TrimSpace(lines[len(lines)-1])
		target, ok := strings.CutPrefix(last, "compozy docs ")
		if r.code != 0 || !ok || !strings.Contains(r.out, "Docs: docs/troubleshooting/database.md, section "+in.ID) {
			t.Errorf("%s: exit %d, output ends %q", in.ID, r.code, last)
			continue
		}
		if s := runCLI(t, t.TempDir(), nil, "docs", target); s.code != 0 || !strings.Contains(s.out, in.Title) {
			t.Errorf("%s: compozy docs %s: exit %d", in.ID, target, s.code)
		}
	}
}

// TestBenchVerdictFollowsTheMatrix: db bench's verdict names the band the decision matrix
// gives each driver, from the matrix itself (the docs' matrix table is generated from it too),
// not the "5-10" the docs call a misconfigured SQLite.
func TestBenchVerdictFollowsTheMatrix(t *testing.T) {
	t.Parallel()
	overview, err := docs.Read("database/overview")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		driver, band, row string
	}{
		{config.DriverSQLite, "1-100", "| Single-tenant server | yes | 1-100 | sqlite + none |"},
		{config.DriverPostgres, "100+", "| Single-tenant server | yes | 100+ | postgres + none |"},
	} {
		if got := matrixBand(tc.driver); got != tc.band {
			t.Errorf("matrixBand(%s) = %q, want %q", tc.driver, got, tc.band)
		}
		if !strings.Contains(overview, tc.row) {
			t.Errorf("the docs' matrix has no row %q", tc.row)
		}
		row := benchRow{Variant: tc.driver}
		row.Workers, row.WorkflowsPerSec = 10, 400
		v := benchVerdict(benchDoc{Driver: tc.driver, Results: []benchRow{row}})
		if !strings.Contains(v, "the decision matrix recommends") || !strings.Contains(v, " "+tc.band+" concurrent workflows") || strings.Contains(v, "5-10") {
			t.Errorf("%s verdict: %s", tc.driver, v)
		}
	}
}

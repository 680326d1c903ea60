package docs_test

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/docs"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/docgen"
)

// page is one Markdown file checked by the tests: the docs pages (read from disk, so a test run
// sees edits without a rebuild) and the README.
type page struct {
	file string // path from the repository root: docs/database/sqlite.md, README.md
	md   string
}

func pages(t *testing.T, withReadme bool) []page {
	t.Helper()
	var out []page
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, page{file: path.Join("docs", filepath.ToSlash(p)), md: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if withReadme {
		b, err := os.ReadFile("../README.md")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page{file: "README.md", md: string(b)})
	}
	return out
}

// TestGeneratedPartsUpToDate fails when a generated part of a page differs from what the code
// generates now: run `make docs`.
func TestGeneratedPartsUpToDate(t *testing.T) {
	stale, err := docgen.Stale(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Fatalf("generated parts are stale in %s: run 'make docs'", strings.Join(stale, ", "))
	}
}

// TestSidebarListsEveryPage: every page file is in the sidebar once, and every sidebar entry
// has its file (embedded and on disk).
func TestSidebarListsEveryPage(t *testing.T) {
	var names []string
	for _, p := range docs.Pages() {
		if slices.Contains(names, p.Name) {
			t.Errorf("%s is in the sidebar twice", p.Name)
		}
		names = append(names, p.Name)
		if p.Title == p.Name {
			t.Errorf("%s: no page or no # title", p.File())
		}
	}
	for _, pg := range pages(t, false) {
		name := strings.TrimSuffix(strings.TrimPrefix(pg.file, "docs/"), ".md")
		if !slices.Contains(names, name) {
			t.Errorf("%s is not in the sidebar (docs.go)", pg.file)
		}
	}
}

// testEnv is the environment a reader has set when they follow a page: every ${VAR} without a
// default that a block refers to is set to a placeholder (a valid URL for URL-ish names).
func testEnv(body string) func(string) string {
	set := map[string]string{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(body, -1) {
		set[m[1]] = "example-secret"
	}
	return func(k string) string { return set[k] }
}

// TestYAMLBlocksValidate: every YAML block of the docs loads and validates through core/config,
// as compozy.yaml. A block after a line <!-- invalid: TEXT --> must fail instead, with an error
// that holds TEXT, and the next code block must show that error exactly.
func TestYAMLBlocksValidate(t *testing.T) {
	n := 0
	for _, pg := range pages(t, true) {
		blocks := docs.CodeBlocks(pg.md)
		for i, b := range blocks {
			if b.Lang != "yaml" && b.Lang != "yml" {
				continue
			}
			n++
			where := pg.file + ":" + strconv.Itoa(b.Line)
			_, err := config.LoadBytes(t.Context(), "compozy.yaml", []byte(b.Body), config.LoadOptions{
				WorkDir: t.TempDir(), Getenv: testEnv(b.Body), Environ: func() []string { return nil },
			})
			want, invalid := strings.CutPrefix(b.Marker, "invalid:")
			if !invalid {
				if err != nil {
					t.Errorf("%s: the YAML block does not validate:\n%v", where, err)
				}
				continue
			}
			var cfgErr *config.Error
			if !errors.As(err, &cfgErr) {
				t.Errorf("%s: marked invalid (%s) but it loads: %v", where, want, err)
				continue
			}
			if !strings.Contains(err.Error(), strings.TrimSpace(want)) {
				t.Errorf("%s: error does not contain %q:\n%v", where, strings.TrimSpace(want), err)
			}
			if i+1 >= len(blocks) || strings.TrimSpace(blocks[i+1].Body) != err.Error() {
				t.Errorf("%s: the block after an invalid example must show the exact error:\n%s", where, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d YAML blocks found; the extraction is broken", n)
	}
}

// inlineCode matches a Markdown code span.
var inlineCode = regexp.MustCompile("`([^`\n]+)`")

// commandLines finds every compozy command line of md: in code blocks (not YAML, JSON or
// Mermaid), with backslash continuations joined, and in code spans of the prose.
func commandLines(md string) []string {
	var texts []string
	for _, b := range docs.CodeBlocks(md) {
		switch b.Lang {
		case "yaml", "yml", "json", "mermaid":
			continue
		}
		texts = append(texts, strings.Split(strings.ReplaceAll(b.Body, "\\\n", " "), "\n")...)
	}
	for _, line := range strings.Split(docs.Prose(md), "\n") {
		if strings.HasPrefix(line, "#") {
			continue // a heading names a command; it is not a command line
		}
		for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
			texts = append(texts, m[1])
		}
	}
	var out []string
	for _, text := range texts {
		for _, seg := range segments(text) {
			if args, ok := compozyArgs(seg); ok {
				for _, alt := range alternatives(synopsis(args)) {
					out = append(out, strings.Join(alt, " "))
				}
			}
		}
	}
	return out
}

// synopsis drops the optional parts of a usage line ("[flags]", "[--from SOURCE]"), which
// are placeholders, not arguments.
func synopsis(args []string) []string {
	var out []string
	depth := 0
	for _, a := range args {
		if strings.HasPrefix(a, "[") {
			depth++
		}
		if depth == 0 {
			out = append(out, a)
		}
		if strings.HasSuffix(a, "]") && depth > 0 {
			depth--
		}
	}
	return out
}

// alternatives expands the shorthand "migrate up / down / status" into one command line per
// alternative.
func alternatives(args []string) [][]string {
	i := slices.Index(args, "/")
	if i < 1 {
		return [][]string{args}
	}
	prefix := args[:i-1]
	alts := []string{args[i-1]}
	j := i
	for j+1 < len(args) && args[j] == "/" {
		alts = append(alts, args[j+1])
		j += 2
	}
	var out [][]string
	for _, a := range alts {
		line := append(append(slices.Clone(prefix), a), args[j:]...)
		out = append(out, alternatives(line)...)
	}
	return out
}

// segments splits a shell line into the words of each simple command: quotes are removed, and
// |, ||, &&, ;, redirections and comments end a command.
func segments(line string) [][]string {
	var out [][]string
	var cur []string
	var word strings.Builder
	inWord, quote := false, rune(0)
	flushWord := func() {
		if inWord {
			cur = append(cur, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flushWord()
		case r == '#' && !inWord:
			flushCmd()
			return out
		case r == '|' || r == ';' || r == '&':
			flushCmd()
		case r == '>' || r == '<':
			flushCmd()
			// The redirection target is not part of a command.
			for i+1 < len(rs) && (rs[i+1] == ' ' || rs[i+1] == '>' || rs[i+1] == '&') {
				i++
			}
			for i+1 < len(rs) && rs[i+1] != ' ' && rs[i+1] != '|' && rs[i+1] != ';' && rs[i+1] != '&' {
				i++
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	flushCmd()
	return out
}

// compozyArgs returns the arguments of a command that runs compozy (compozy, ./compozy,
// go run .), after any VAR=value prefixes.
func compozyArgs(words []string) ([]string, bool) {
	for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
		words = words[1:]
	}
	switch {
	case len(words) == 0:
		return nil, false
	case words[0] == "compozy" || words[0] == "./compozy":
		return words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == ".":
		return words[3:], true
	}
	return nil, false
}

// parseCommandLine checks args against the real command tree: the command exists, every flag
// exists and takes the value given, and the command accepts the positional arguments. Nothing
// runs.
func parseCommandLine(args []string) error {
	root := docgen.RootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if help, _ := cmd.Flags().GetBool("help"); help {
		return nil
	}
	return validateArgs(cmd, cmd.Flags().Args())
}

func validateArgs(cmd *cobra.Command, args []string) error {
	if cmd.Args == nil && cmd.HasSubCommands() && len(args) > 0 {
		return errors.New("unknown command " + args[0])
	}
	return cmd.ValidateArgs(args)
}

// TestCommandLinesParse: every compozy command line in docs/ and the README names a command
// that exists, with flags that exist. The lines are parsed with the cobra tree, not run.
func TestCommandLinesParse(t *testing.T) {
	n := 0
	for _, pg := range pages(t, true) {
		for _, line := range commandLines(pg.md) {
			n++
			if err := parseCommandLine(strings.Fields(line)); err != nil {
				t.Errorf("%s: compozy %s: %v", pg.file, line, err)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d command lines found; the extraction is broken", n)
	}
}

// TestCommandLineParserRejects keeps the check honest: a command or flag that does not exist
// fails.
func TestCommandLineParserRejects(t *testing.T) {
	for _, line := range []string{
		"compozy start",
		"compozy migrate statuss",
		"compozy doctor --no-such-flag",
		"compozy db bench --workflows",
		"compozy doctor explain",
		"compozy doctor --timeout soon",
	} {
		var args []string
		for _, seg := range segments(line) {
			args, _ = compozyArgs(seg)
		}
		if err := parseCommandLine(args); err == nil {
			t.Errorf("%q parses; want an error", line)
		}
	}
	if got := commandLines("```sh\nCOMPOZY_DB_PATH=x.db compozy config show | jq . # c\nprintf 'y\\n' | compozy init --accessible \\\n  --yes\n```\nRun `go run . quickstart`, `compozy db copy --to T [--from S] [flags]` or `compozy migrate up / down`.\n"); strings.Join(got, ";") != "config show;init --accessible --yes;quickstart;db copy --to T;migrate up;migrate down" {
		t.Errorf("commandLines = %q", got)
	}
}

// link matches a Markdown link or image: [text](target).
var link = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)

// TestLinksResolve: every relative link of the docs and the README points at a file that
// exists, and every anchor at a heading of that page; and every page is reachable from the
// index by links.
func TestLinksResolve(t *testing.T) {
	all := pages(t, true)
	byFile := map[string]string{}
	for _, pg := range all {
		byFile[pg.file] = pg.md
	}
	graph := map[string][]string{}
	for _, pg := range all {
		for _, m := range link.FindAllStringSubmatch(docs.Prose(pg.md), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := pg.file
			if file != "" {
				dest = path.Clean(path.Join(path.Dir(pg.file), file))
			}
			if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(dest))); err != nil {
				t.Errorf("%s: link %s: %s does not exist", pg.file, target, dest)
				continue
			}
			graph[pg.file] = append(graph[pg.file], dest)
			if anchor == "" {
				continue
			}
			md, ok := byFile[dest]
			if !ok {
				t.Errorf("%s: link %s: anchors are checked in Markdown pages only", pg.file, target)
				continue
			}
			found := false
			for _, h := range docs.Headings(md) {
				found = found || h.Anchor == anchor
			}
			if !found {
				t.Errorf("%s: link %s: %s has no heading #%s", pg.file, target, dest, anchor)
			}
		}
	}
	seen := map[string]bool{"docs/index.md": true}
	queue := []string{"docs/index.md"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, d := range graph[p] {
			if !seen[d] {
				seen[d] = true
				queue = append(queue, d)
			}
		}
	}
	for _, pg := range all {
		if strings.HasPrefix(pg.file, "docs/") && !seen[pg.file] {
			t.Errorf("%s cannot be reached from docs/index.md by links", pg.file)
		}
	}
}

// TestReadmeLinksDocs: the README links the docs index and the quickstart page.
func TestReadmeLinksDocs(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range link.FindAllStringSubmatch(docs.Prose(string(b)), -1) {
		file, _, _ := strings.Cut(m[1], "#")
		targets = append(targets, path.Clean(file))
	}
	want := []string{"docs/index.md", "docs/getting-started/quickstart.md"}
	for _, w := range want {
		if !slices.Contains(targets, w) {
			t.Errorf("README.md does not link %s", w)
		}
	}
}

// TestSearchRanksDatabasePages is the plan's manual check, automated: searching "database" or
// "sqlite" shows the database pages first.
func TestSearchRanksDatabasePages(t *testing.T) {
	r := docs.Search("sqlite")
	if len(r) == 0 || r[0].Page.Name != "database/sqlite" {
		t.Fatalf("search sqlite: first result %v, want database/sqlite", r)
	}
	r = docs.Search("database")
	if len(r) < 3 {
		t.Fatalf("search database: %d results", len(r))
	}
	for _, res := range r[:3] {
		if !strings.HasPrefix(res.Page.Name, "database/") {
			t.Errorf("search database: top 3 hold %s, want the database pages", res.Page.Name)
		}
	}
	if r := docs.Search("busy_timeout"); len(r) == 0 || len(r[0].Headings) == 0 {
		t.Errorf("search busy_timeout: no section found")
	}
	if r := docs.Search("nosuchwordanywhere"); len(r) != 0 {
		t.Errorf("search for a missing word found %d pages", len(r))
	}
}

// TestEveryCheckHasASection: compozy doctor explain can point at a section for every check.
func TestEveryCheckHasASection(t *testing.T) {
	for _, in := range doctor.Registry() {
		p, h, ok := docs.CheckSection(in.ID)
		if !ok {
			t.Errorf("%s: no section in %s", in.ID, docs.CheckPage)
			continue
		}
		md, _ := docs.Read(p.Name)
		sec, ok := docs.Section(md, h.Anchor)
		if !ok || !strings.Contains(sec, in.Title) {
			t.Errorf("%s: section #%s does not hold the check's title", in.ID, h.Anchor)
		}
	}
}

// TestFind resolves what users type.
func TestFind(t *testing.T) {
	for q, want := range map[string]string{
		"database/sqlite":                     "database/sqlite",
		"docs/database/sqlite.md":             "database/sqlite",
		"sqlite":                              "database/sqlite",
		"quickstart":                          "getting-started/quickstart",
		"cli/quickstart":                      "cli/quickstart",
		"troubleshooting/database#sqlitelock": "troubleshooting/database",
	} {
		p, _, ok := docs.Find(q)
		if !ok || p.Name != want {
			t.Errorf("Find(%q) = %q, %v; want %q", q, p.Name, ok, want)
		}
	}
	if _, _, ok := docs.Find("nope"); ok {
		t.Error("Find(nope) found a page")
	}
}

func TestPlainLinks(t *testing.T) {
	md := "See [SQLite](sqlite.md#concurrency), [up](../index.md), [here](#x), [readme](../../README.md) and [web](https://compozy.com).\n```sh\n[not](a.md)\n```\n"
	want := "See SQLite (`compozy docs database/sqlite#concurrency`), up (`compozy docs index`), here (`compozy docs database/overview#x`), " +
		"readme (README.md) and [web](https://compozy.com).\n```sh\n[not](a.md)\n```\n"
	if got := docs.PlainLinks(md, "database/overview"); got != want {
		t.Errorf("PlainLinks:\n%s\nwant\n%s", got, want)
	}
}

// TestForTerminal: comments go, a Mermaid diagram becomes a note, the lines of a list item are
// joined (not those of a code block or a table).
func TestForTerminal(t *testing.T) {
	md := "<!-- BEGIN GENERATED: x -->\n# T\n\n- one\n  two\n  three\n- four\n\n  more\n  text\n\nplain\nlines\n\n" +
		"```mermaid\nflowchart TD\n  a --> b\n```\n\n```sh\nkeep\nthis\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	want := "# T\n\n- one two three\n- four\n\n  more text\n\nplain\nlines\n\n" +
		"[A Mermaid flowchart is not drawn in a terminal: see docs/database/overview.md on GitHub, or in an editor that renders Mermaid.]\n\n" +
		"```sh\nkeep\nthis\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	if got := docs.ForTerminal(md, "database/overview"); got != want {
		t.Errorf("ForTerminal:\n%s\nwant\n%s", got, want)
	}
	for _, p := range docs.Pages() {
		md, _ := docs.Read(p.Name)
		if out := docs.ForTerminal(md, p.Name); strings.Contains(out, "```mermaid") || strings.Contains(out, "](") && strings.Contains(out, ".md)") {
			t.Errorf("%s: a Mermaid block or a relative link is left", p.Name)
		}
	}
}

// codeSpan matches inline code.
var codeSpan = regexp.MustCompile("`([^`]+)`")

// TestTablesNeverSplitCode lays out every table of every page at several widths: no inline code
// span (a command, a key, a link's compozy docs command) is ever split across lines, and no
// line is wider than asked unless one unbreakable word is.
func TestTablesNeverSplitCode(t *testing.T) {
	tables := 0
	for _, p := range docs.Pages() {
		md, _ := docs.Read(p.Name)
		for _, part := range docs.SplitTables(docs.ForTerminal(md, p.Name)) {
			if part.Table == nil {
				continue
			}
			tables++
			var spans []string
			for _, row := range append([][]string{part.Table.Header}, part.Table.Rows...) {
				for _, c := range row {
					for _, m := range codeSpan.FindAllStringSubmatch(c, -1) {
						spans = append(spans, strings.TrimSpace(m[1]))
					}
				}
			}
			for _, w := range []int{36, 56, 76, 96} {
				for _, ascii := range []bool{true, false} {
					lines := part.Table.Lines(w, docs.TableStyle{ASCII: ascii})
					all := strings.Join(lines, "\n")
					for _, sp := range spans {
						if !strings.Contains(all, sp) {
							t.Errorf("%s, width %d: %q is split:\n%s", p.Name, w, sp, all)
						}
					}
					for _, l := range lines {
						if ansi.StringWidth(l) > w && !unbreakable(l, spans) {
							t.Errorf("%s, width %d: line %q is wider", p.Name, w, l)
						}
					}
				}
			}
		}
	}
	if tables < 10 {
		t.Fatalf("found only %d tables", tables)
	}
}

// unbreakable reports whether line is wide because of one code span that could not be broken.
func unbreakable(line string, spans []string) bool {
	for _, sp := range spans {
		if strings.Contains(line, sp) {
			return true
		}
	}
	return false
}

func TestTableLayouts(t *testing.T) {
	md := "| Flag | What |\n|---|---|\n| `--db-path` | the **SQLite** file, see [SQLite](https://x.y/z) and `compozy db bench` |\n"
	parts := docs.SplitTables(md)
	if len(parts) != 1 || parts[0].Table == nil {
		t.Fatalf("parts: %+v", parts)
	}
	tb := parts[0].Table
	for _, tc := range []struct {
		width int
		want  string
	}{
		{100, "Flag      | What\n----------|-----------------------------------------------------------------\n--db-path | the SQLite file, see SQLite (https://x.y/z) and compozy db bench"},
		{40, "Flag      | What\n----------|-----------------------------\n--db-path | the SQLite file, see SQLite\n          | (https://x.y/z) and\n          | compozy db bench"},
		{24, "Flag: --db-path\nWhat:\n  the SQLite file, see\n  SQLite (https://x.y/z)\n  and compozy db bench"},
	} {
		if got := strings.Join(tb.Lines(tc.width, docs.TableStyle{ASCII: true}), "\n"); got != tc.want {
			t.Errorf("width %d:\n%s\nwant\n%s", tc.width, got, tc.want)
		}
	}
	if got := docs.SplitTables("a | b\n\n```\n| x | y |\n|---|---|\n```\n"); len(got) != 1 || got[0].Table != nil {
		t.Errorf("a table in a code block or a line with a pipe was taken for a table: %+v", got)
	}
	if got := docs.SplitTables("| a \\| b | c |\n|---|---|\n| `x` | y |"); len(got) != 1 || got[0].Table == nil ||
		strings.Join(got[0].Table.Header, ",") != "a | b,c" {
		t.Errorf("escaped pipe: %+v", got)
	}
}

func TestSuggest(t *testing.T) {
	for q, want := range map[string]string{"sqllite": "database/sqlite", "sqlit": "database/sqlite", "database/sqllite": "database/sqlite",
		"postgress": "database/postgresql", "qickstart": "getting-started/quickstart", "troubleshoting#sqlitelock": "troubleshooting/database",
		"benchmark": "benchmarks", "xyzzy": "", "": ""} {
		p, ok := docs.Suggest(q)
		if got := p.Name; !ok && got != "" || got != want {
			t.Errorf("Suggest(%q) = %q, %v; want %q", q, got, ok, want)
		}
	}
}

package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/charmbracelet/glamour"
	gansi "github.com/charmbracelet/glamour/ansi"
	"github.com/charmbracelet/glamour/styles"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	xterm "github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"compozy.dev/setup/docs"
	"compozy.dev/setup/tui/termbg"
)

func newDocsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docs [PAGE[#SECTION]]",
		Short: "Read the documentation in the terminal",
		Long: `Show a page of the documentation, embedded in this binary so that it matches its version
and works offline. Without a page, list the pages in sidebar order.

PAGE is a name from the list (database/sqlite), a path (docs/database/sqlite.md), or its last
part (sqlite; when pages share it, the first in the list); #SECTION shows one section only
(troubleshooting/database#sqlitelock).

On a terminal the page is rendered with colour for a light or dark background and shown in
$PAGER (or less -R); NO_COLOR or --no-color renders it without colour. Piped, the Markdown
is printed as it is.`,
		Example: `  compozy docs
  compozy docs database/sqlite
  compozy docs quickstart
  compozy docs troubleshooting/database#sqlitelock
  compozy docs search sqlite`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("compozy docs takes one page; run 'compozy docs' for the list, or 'compozy docs search %s'", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return listDocs(f.IO.Out)
			}
			return showDoc(cmd.Context(), f, args[0])
		},
	}
	cmd.AddCommand(newDocsSearchCmd(f))
	return cmd
}

func newDocsSearchCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "search TERM...",
		Short: "Search the pages and their sections",
		Long: `Rank the pages and their sections for TERM: a word in a page's name or title counts most, then
in a heading, then in the text. Every word must occur in a page for it to be listed.`,
		Example: `  compozy docs search sqlite
  compozy docs search database is locked`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("compozy docs search needs a term, for example: compozy docs search sqlite")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			return searchDocs(f.IO.Out, strings.Join(args, " "))
		},
	}
}

// listDocs prints every page in sidebar order, grouped by section.
func listDocs(w io.Writer) error {
	var b strings.Builder
	section := ""
	for _, p := range docs.Pages() {
		if p.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = p.Section
			b.WriteString(section + "\n")
		}
		fmt.Fprintf(&b, "  %-34s %s\n", p.Name, p.Title)
	}
	b.WriteString("\nRead one with: compozy docs PAGE   Search with: compozy docs search TERM\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// maxSearchResults is how many pages a search lists.
const maxSearchResults = 10

// searchDocs prints the ranked pages and, under each, its matching sections.
func searchDocs(w io.Writer, term string) error {
	results := docs.Search(term)
	var b strings.Builder
	if len(results) == 0 {
		fmt.Fprintf(&b, "No page mentions %q. Run 'compozy docs' for the list of pages.\n", term)
	}
	for i, r := range results {
		if i == maxSearchResults {
			fmt.Fprintf(&b, "... and %d more pages.\n", len(results)-i)
			break
		}
		fmt.Fprintf(&b, "%-34s %s\n", r.Page.Name, r.Page.Title)
		for _, h := range r.Headings {
			fmt.Fprintf(&b, "    %s  (%s#%s)\n", strings.ReplaceAll(h.Text, "`", ""), r.Page.Name, h.Anchor)
		}
	}
	if len(results) > 0 {
		b.WriteString("\nRead one with: compozy docs PAGE or compozy docs PAGE#SECTION\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// showDoc renders one page (or one section of it).
func showDoc(ctx context.Context, f *Factory, query string) error {
	p, anchor, ok := docs.Find(query)
	if !ok {
		if near, ok := docs.Suggest(query); ok {
			target := near.Name
			if _, a, found := strings.Cut(query, "#"); found {
				target += "#" + a
			}
			return usageErrorf("no page %q; did you mean %s? Run: compozy docs %s", query, near.Name, target)
		}
		return usageErrorf("no page %q; run 'compozy docs' for the list, or 'compozy docs search %s'", query, query)
	}
	md, err := docs.Read(p.Name)
	if err != nil {
		return err
	}
	if anchor != "" {
		sec, found := docs.Section(md, anchor)
		if !found {
			return usageErrorf("page %s has no section #%s; 'compozy docs search' lists sections", p.Name, anchor)
		}
		md = sec + "\n"
	}
	if !f.IO.IsStdoutTTY() {
		_, err := io.WriteString(f.IO.Out, htmlComment.ReplaceAllString(md, ""))
		return err
	}
	out, err := renderPage(f, md, p.Name)
	if err != nil {
		return err
	}
	return page(ctx, f, out)
}

// htmlComment matches the generated-part markers and other comments, which a reader never needs.
var htmlComment = regexp.MustCompile(`(?m)^<!--.*-->\n`)

// renderPage renders page name's Markdown md for the terminal behind stdout: coloured for a
// light or dark background, or without colour (NO_COLOR, --no-color, TERM=dumb) and without
// any ** or * marker. The tables are laid out apart (docs.Table.Lines), so that a command or
// an inline code span in a cell is never split across lines.
func renderPage(f *Factory, md, name string) (string, error) {
	colour := f.IO.ColorEnabled()
	dark := true
	if colour {
		// Start-up skipped the background question; ask it now (never without colour, so
		// NO_COLOR, --no-color and TERM=dumb send the terminal nothing).
		termbg.Detect(f.IO.Out)
		dark = lipgloss.HasDarkBackground()
	}
	width := 80
	if o, ok := f.IO.Out.(*os.File); ok {
		if w, _, err := xterm.GetSize(o.Fd()); err == nil && w > 20 {
			width = min(w-2, 100)
		}
	}
	opts := []glamour.TermRendererOption{glamour.WithWordWrap(width)}
	tst := docs.TableStyle{ASCII: !colour}
	if colour {
		opts = append(opts, glamour.WithStandardStyle(docStyle(true, dark)))
		lr := lipgloss.NewRenderer(f.IO.Out)
		lr.SetHasDarkBackground(dark)
		bold, code := lr.NewStyle().Bold(true), lr.NewStyle().Foreground(lipgloss.Color("203"))
		tst.Header = func(s string) string { return bold.Render(s) }
		tst.Code = func(s string) string { return code.Render(s) }
	} else {
		opts = append(opts, glamour.WithStyles(plainStyle()))
	}
	r, err := glamour.NewTermRenderer(opts...)
	if err != nil {
		return "", fmt.Errorf("render the page: %w", err)
	}
	var parts []string
	for _, part := range docs.SplitTables(docs.ForTerminal(md, name)) {
		if part.Table != nil {
			lines := part.Table.Lines(width-4, tst)
			for i, l := range lines {
				lines[i] = "  " + l
			}
			parts = append(parts, strings.Join(lines, "\n"))
			continue
		}
		out, err := r.Render(part.Markdown)
		if err != nil {
			return "", fmt.Errorf("render the page: %w", err)
		}
		if out = trimBlankLines(out); out != "" {
			parts = append(parts, out)
		}
	}
	return "\n" + strings.Join(parts, "\n\n") + "\n\n", nil
}

// trimBlankLines drops the blank lines (spaces and escape codes only) at both ends of s.
func trimBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	blank := func(l string) bool { return strings.TrimSpace(ansi.Strip(l)) == "" }
	for len(lines) > 0 && blank(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && blank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// plainStyle is glamour's style for a terminal without colour: its ASCII style without the
// ** and * it puts around strong and emphasised text (they read as noise, not emphasis), and
// with inline code in backticks as a prefix and suffix (the ASCII style's block prefix breaks
// the line after a code span that the wrap puts at the start of a line).
func plainStyle() gansi.StyleConfig {
	st := styles.ASCIIStyleConfig
	st.Strong = gansi.StylePrimitive{}
	st.Emph = gansi.StylePrimitive{}
	st.Code = gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Prefix: "`", Suffix: "`"}}
	return st
}

// docStyle is glamour's style: without colour (NO_COLOR, --no-color, TERM=dumb) the plain
// one, else the one for the terminal's background.
func docStyle(colour, dark bool) string {
	switch {
	case !colour:
		return "notty"
	case dark:
		return "dark"
	}
	return "light"
}

// page shows text in $PAGER (or less -R); when no pager runs, it prints text. A dumb terminal
// (TERM=dumb, or no TERM) gets the text without a pager: less would warn that the terminal is
// not fully functional and wait for Enter. less gets LESS=FRX unless LESS is set: it quits at
// once when the page fits the screen, keeps colours, and sends no terminal set-up strings.
func page(ctx context.Context, f *Factory, text string) error {
	if t := f.IO.Getenv("TERM"); t == "" || t == "dumb" {
		_, err := io.WriteString(f.IO.Out, text)
		return err
	}
	pager := strings.TrimSpace(f.IO.Getenv("PAGER"))
	if pager == "" {
		pager = "less -R"
	}
	args := strings.Fields(pager)
	if args[0] == "cat" {
		_, err := io.WriteString(f.IO.Out, text)
		return err
	}
	bin, err := exec.LookPath(args[0])
	if err != nil {
		_, err := io.WriteString(f.IO.Out, text)
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args[1:]...)
	cmd.Stdin = strings.NewReader(text)
	cmd.Stdout, cmd.Stderr = f.IO.Out, f.IO.ErrOut
	cmd.Env = f.IO.Environ()
	if f.IO.Getenv("LESS") == "" {
		cmd.Env = append(cmd.Env, "LESS=FRX")
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ErrAborted
		}
		return fmt.Errorf("pager %s: %w", pager, err)
	}
	return nil
}
